"""MLE-bench interop on competitions built in mlebench's exact layout: `DATA/<id>/prepared/{public,private}`
as `mlebench prepare` writes it, and the registry folder `mlebench/competitions/<id>/` (config.yaml,
description.md, Kaggle's leaderboard.csv, grade.py) — an importable `mlebench` package when put on the path."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome.cli import main
from gome.tasks import grade_submission, load_task, verify_task
from gome.tasks.leaderboard import read_leaderboard

KAGGLE_COLUMNS = ["scoreNullable", "teamId", "hasTeamName", "submissionDate", "score", "hasScore"]

GRADE_PY = '''
import pandas as pd


def grade(submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    """The competition's own accuracy, as mlebench's competitions compute it."""
    if len(submission) != len(answers) or "Transported" not in submission.columns:
        raise ValueError("submission and answers must have the same rows and a Transported column")
    merged = answers.merge(submission, on="PassengerId", suffixes=("", "_pred"))
    return float((merged["Transported"].astype(str) == merged["Transported_pred"].astype(str)).mean())
'''


def _kaggle_board(path: Path, scores: np.ndarray) -> None:
    """Kaggle's export as mlebench ships it: best first, one unscored team at the end."""
    rows = [{"scoreNullable": s, "teamId": 1000 + k, "hasTeamName": True, "submissionDate": "2022-02-28 23:53:53",
             "score": s, "hasScore": True} for k, s in enumerate(scores)]
    rows.append({"scoreNullable": None, "teamId": 9999, "hasTeamName": False, "submissionDate": "2022-03-01 00:00:00",
                 "score": None, "hasScore": False})
    pd.DataFrame(rows, columns=KAGGLE_COLUMNS).to_csv(path, index=False)


def make_competition(root: Path, cid: str, grader: str = "accuracy", public_description: bool = True) -> Path:
    """`root/data/<cid>` prepared like spaceship-titanic, and `root/mlebench/competitions/<cid>`."""
    rng = np.random.default_rng(len(cid))
    frame = pd.DataFrame({"PassengerId": [f"{k:04d}_01" for k in range(80)], "Age": rng.integers(1, 80, 80),
                          "HomePlanet": rng.choice(["Earth", "Mars", "Europa"], 80)})
    frame["Transported"] = frame["Age"] > 40
    train, test = frame.iloc[:60], frame.iloc[60:]
    public, private = root / "data" / cid / "prepared" / "public", root / "data" / cid / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns="Transported").to_csv(public / "test.csv", index=False)
    test[["PassengerId"]].assign(Transported=False).to_csv(public / "sample_submission.csv", index=False)
    test.to_csv(private / "test.csv", index=False)  # mlebench's answers: the whole test rows
    registry = root / "mlebench" / "competitions" / cid
    registry.mkdir(parents=True)
    (root / "mlebench" / "__init__.py").write_text("")
    (root / "mlebench" / "competitions" / "__init__.py").write_text("")
    description = f"# {cid}\n\nPredict whether a passenger was transported.\n"
    (registry / "description.md").write_text(description)
    if public_description:
        (public / "description.md").write_text(description)
    (registry / "config.yaml").write_text(textwrap.dedent(f"""\
        id: {cid}
        name: {cid}
        competition_type: simple
        awards_medals: false
        prizes: null
        description: mlebench/competitions/{cid}/description.md

        dataset:
          answers: {cid}/prepared/private/test.csv
          sample_submission: {cid}/prepared/public/sample_submission.csv

        grader:
          name: {grader}
          grade_fn: mlebench.competitions.{cid}.grade:grade

        preparer: mlebench.competitions.{cid}.prepare:prepare
    """))
    (registry / "grade.py").write_text(GRADE_PY)
    _kaggle_board(registry / "leaderboard.csv", np.linspace(0.95, 0.40, 50))
    return root / "data" / cid


@pytest.fixture
def no_mlebench_modules():
    """Forget any `mlebench` a test imported from its temporary folder."""
    yield
    for name in [m for m in sys.modules if m == "mlebench" or m.startswith("mlebench.")]:
        del sys.modules[name]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_adopt_reads_the_competition_as_mlebench_lays_it_out(tmp_path: Path, capsys) -> None:
    comp = make_competition(tmp_path, "space-toy", public_description=False)
    out = tmp_path / "tasks" / "space-toy"
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "mlebench" / "competitions"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "metric accuracy, id PassengerId, target Transported" in printed and "dev split:" in printed
    task = load_task(out)
    assert (task.metric, task.id_column, task.target_columns) == ("accuracy", "PassengerId", ("Transported",))
    assert task.grade_fn == "mlebench.competitions.space-toy.grade:grade" and task.mlebench_id == "space-toy"
    assert task.description.startswith("# space-toy")  # from the registry folder: public/ had none
    assert verify_task(out) >= 7 and len(read_leaderboard(task.leaderboard_path)) == 50
    report = grade_submission(task, task.public_dir / "sample_submission.csv")
    assert report.grader == "gome" and report.valid_submission  # mlebench is not importable here
    answers = pd.read_csv(comp / "prepared" / "private" / "test.csv")
    assert report.score == round(float((~answers["Transported"]).mean()), 5)
    assert report.gold_threshold == pytest.approx(np.linspace(0.95, 0.40, 50)[4])  # 50 teams: gold at rank 5


def test_grade_uses_the_competitions_own_function_when_mlebench_imports(tmp_path: Path, monkeypatch, capsys,
                                                                         no_mlebench_modules) -> None:
    comp = make_competition(tmp_path, "space-toy")
    out = tmp_path / "task"
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "mlebench" / "competitions"),
                 "--out", str(out)]) == 0
    monkeypatch.syspath_prepend(str(tmp_path))  # now `import mlebench` finds the registry's package
    perfect = tmp_path / "perfect.csv"
    pd.read_csv(comp / "prepared" / "private" / "test.csv")[["PassengerId", "Transported"]].to_csv(perfect, index=False)
    capsys.readouterr()
    assert main(["grade", str(out), str(perfect)]) == 0
    captured = capsys.readouterr()
    assert "the competition's own grade function (mlebench.competitions.space-toy.grade:grade" in captured.err
    report = grade_submission(load_task(out), perfect)
    assert report.grader == "mlebench:mlebench.competitions.space-toy.grade:grade" and report.score == 1.0
    assert report.gold_medal
    bad = tmp_path / "bad.csv"
    pd.read_csv(perfect).head(3).to_csv(bad, index=False)
    rejected = grade_submission(load_task(out), bad)
    assert rejected.score is None and not rejected.valid_submission and "same rows" in rejected.error


def test_unknown_grader_needs_metric_and_leaves_nothing(tmp_path: Path, capsys) -> None:
    comp = make_competition(tmp_path, "lev-toy", grader="levenshtein-distance")
    registry = str(tmp_path / "mlebench" / "competitions")
    out = tmp_path / "tasks" / "lev-toy"
    assert main(["tasks", "adopt", str(comp), "--registry", registry, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'levenshtein-distance' is not one gome knows" in err and "--metric" in err
    assert _leftovers(tmp_path / "tasks") == []
    assert main(["tasks", "adopt", str(comp), "--registry", registry, "--out", str(out), "--metric", "accuracy"]) == 0


def test_registry_beside_the_leaderboard_and_no_folder_left_on_failure(tmp_path: Path, capsys) -> None:
    comp = make_competition(tmp_path, "side-toy")
    board = tmp_path / "mlebench" / "competitions" / "side-toy" / "leaderboard.csv"
    out = tmp_path / "new" / "deep" / "side-toy"
    answers = comp / "prepared" / "private" / "test.csv"
    good = answers.read_text()
    pd.read_csv(answers).iloc[:-1].to_csv(answers, index=False)
    assert main(["tasks", "adopt", str(comp), "--leaderboard", str(board), "--out", str(out)]) == 2
    capsys.readouterr()
    assert not (tmp_path / "new").exists()  # nor the folders made for it
    answers.write_text(good)
    assert main(["tasks", "adopt", str(comp), "--leaderboard", str(board), "--out", str(out)]) == 0
    task = load_task(out)  # config.yaml beside the leaderboard named the grader, answers and sample
    assert (task.metric, task.id_column, task.grade_fn) == ("accuracy", "PassengerId",
                                                             "mlebench.competitions.side-toy.grade:grade")


def test_a_failed_adopt_leaves_nothing_behind(tmp_path: Path, capsys) -> None:
    """A problem found only when the assembled folder is loaded (the answers' ids differ from test's)."""
    comp = make_competition(tmp_path, "broken-toy")
    answers = comp / "prepared" / "private" / "test.csv"
    pd.read_csv(answers).iloc[:-1].to_csv(answers, index=False)
    (tmp_path / "tasks").mkdir()
    out = tmp_path / "tasks" / "broken-toy"
    out.mkdir()  # an empty target folder is allowed, and stays as it was
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "mlebench" / "competitions"),
                 "--out", str(out)]) == 2
    assert "ids differ" in capsys.readouterr().err
    assert _leftovers(tmp_path / "tasks") == ["broken-toy"] and _leftovers(out) == []


def test_adopt_all_with_an_id_list_reports_what_it_could_not_adopt(tmp_path: Path, capsys) -> None:
    for cid, grader in (("good-toy", "accuracy"), ("odd-toy", "levenshtein-distance")):
        make_competition(tmp_path, cid, grader=grader)
    ids = tmp_path / "low.txt"
    ids.write_text("good-toy\nodd-toy\n# a comment\nmissing-toy\n")
    code = main(["tasks", "adopt", "--all", str(tmp_path / "data"), "--registry", str(tmp_path / "mlebench" / "competitions"),
                 "--ids", str(ids), "--out", str(tmp_path / "tasks")])
    out = capsys.readouterr().out
    assert code == 1 and "adopted 1 of 3 competitions" in out
    assert "not adopted odd-toy: grader 'levenshtein-distance' is not one gome knows" in out
    assert "not adopted missing-toy: not prepared under" in out
    assert _leftovers(tmp_path / "tasks") == ["good-toy"] and load_task(tmp_path / "tasks" / "good-toy").name == "good-toy"


def test_kaggle_leaderboard_export_is_read(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.csv"
    _kaggle_board(path, np.array([0.9, 0.8, 0.7]))
    board = read_leaderboard(path)
    assert board["score"].tolist() == [0.9, 0.8, 0.7] and board["teamName"].tolist() == ["team-1000", "team-1001",
                                                                                          "team-1002"]
    pd.DataFrame({"teamName": ["a", "b"], "score": [1.0, 2.0]}).to_csv(path, index=False)
    assert read_leaderboard(path)["score"].tolist() == [1.0, 2.0]
