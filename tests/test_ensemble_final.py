"""A blend in the final selection and the final run: its members run (sandboxed) on each selection split
and on the real public data, and the blend's submission is the weighted blend of theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome.config import RunConfig
from gome.coordinator import Candidate
from gome.final import grade_final
from gome.runner import limits_of
from gome.selection import select_final
from gome.tasks import grade_submission, load_task, make_dev_split, new_task, score_dev
from gome.tasks._io import read_table
from gome.tools.rundir import RunDir

SCRIPT = '''import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
train, test = pd.read_csv("input/train.csv"), pd.read_csv("input/test.csv")
features = [c for c in train.columns if c not in ("id", "target")]
model = {model}
model.fit(train[features], train["target"])
pd.DataFrame({{"id": test["id"], "target": model.predict(test[features])}}).to_csv("submission.csv", index=False)
'''


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory):
    from sklearn.datasets import load_diabetes

    root = tmp_path_factory.mktemp("final")
    load_diabetes(as_frame=True).frame.to_csv(root / "diabetes.csv", index=False)
    return load_task(new_task(root / "diabetes.csv", "target", "rmse", root / "diabetes", ladder=False))


def _members() -> tuple[Candidate, Candidate, Candidate]:
    ridge = Candidate(attempt="0-001", trace=0, score=55.0, code=SCRIPT.format(model="Ridge(alpha=0.1)"), step=1)
    knn = Candidate(attempt="1-002", trace=1, score=60.0, code=SCRIPT.format(model="KNeighborsRegressor(15)"), step=2)
    blend = Candidate(attempt="blend", trace=-1, score=54.0, code="", members=(ridge, knn), weights=(0.75, 0.25))
    return ridge, knn, blend


def _blended(task, paths: list[Path], weights: list[float], ids: pd.DataFrame) -> pd.DataFrame:
    frames = [read_table(p, task.id_column).set_index(task.id_column).loc[ids[task.id_column]] for p in paths]
    values = sum(w * f["target"].to_numpy(dtype=float) for f, w in zip(frames, weights))
    return pd.DataFrame({task.id_column: ids[task.id_column].to_numpy(), "target": values})


def test_the_blend_competes_in_selection_with_its_members_runs(task, tmp_path: Path) -> None:
    ridge, knn, blend = _members()
    config = RunConfig(task_dir=task.root, exec_timeout_s=120)
    splits = {"seed7": make_dev_split(task, tmp_path / "dev-seed7", seed=7)}
    chosen, selection = asyncio.run(select_final(task, [ridge, blend], splits, tmp_path, limits_of(config),
                                                 asyncio.Semaphore(2)))
    assert set(selection.candidates) == {"0-001", "blend"} and all(len(v) == 2 for v in selection.candidates.values())
    assert (tmp_path / "1-002" / "seed7" / "submission.csv").is_file()  # the member that is no candidate ran too
    split = make_dev_split(task, tmp_path / "check", seed=7)
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    expected = _blended(task, [tmp_path / m / "seed7" / "submission.csv" for m in ("0-001", "1-002")], [0.75, 0.25], answers)
    expected.to_csv(tmp_path / "expected.csv", index=False)
    assert selection.candidates["blend"][1] == pytest.approx(score_dev(task, split, tmp_path / "expected.csv"))
    assert selection.means == pytest.approx({"0-001": np.mean(selection.candidates["0-001"]),
                                             "blend": selection.candidates["blend"][1]})  # its own dev score is out of fold
    assert chosen.attempt == min(selection.means, key=lambda k: selection.means[k] or np.inf)


def test_a_blend_is_ranked_by_the_extra_splits_not_by_its_out_of_fold_dev_score(task, tmp_path: Path) -> None:
    """The blend's out-of-fold dev score (weights searched on half the rows) is shown, not counted: a blend whose
    out-of-fold score is far worse still wins where its members' runs on the extra split beat the script's mean."""
    ridge, knn, blend = _members()
    ridge = ridge.model_copy(update={"score": 75.0})  # the script's own dev score, worse than the blend's runs below
    blend = blend.model_copy(update={"score": 1e4, "members": (ridge, knn)})
    splits = {"seed7": make_dev_split(task, tmp_path / "dev-seed7", seed=7)}
    chosen, selection = asyncio.run(select_final(task, [ridge, blend], splits, tmp_path, limits_of(RunConfig(
        task_dir=task.root, exec_timeout_s=120)), asyncio.Semaphore(2)))
    script, mix = selection.candidates["0-001"], selection.candidates["blend"]
    assert mix[0] == 1e4 and mix[1] < np.mean(script), (script, mix)  # the premise: its run there beats the mean
    assert chosen.attempt == "blend" and selection.means["blend"] == mix[1]


def test_the_final_run_of_a_blend_reruns_its_members_and_blends_their_submissions(task, tmp_path: Path) -> None:
    ridge, knn, blend = _members()
    rundir = RunDir(tmp_path / "run")
    grade, ensemble = grade_final(task, blend, rundir, limits_of(RunConfig(task_dir=task.root, exec_timeout_s=120)))
    members = [rundir.best / "members" / m / "submission.csv" for m in ("0-001", "1-002")]
    assert all(p.is_file() for p in members) and grade.valid_submission
    ids = read_table(task.public_dir / "sample_submission.csv", task.id_column).reset_index(drop=True)
    submitted = read_table(rundir.best / "submission.csv", task.id_column)
    assert np.allclose(submitted["target"].astype(float), _blended(task, members, [0.75, 0.25], ids)["target"])
    scores = {m: grade_submission(task, p).score for m, p in zip(("0-001", "1-002"), members)}
    assert ensemble is not None and ensemble["best_member"] == "0-001"
    assert {k: v["test_score"] for k, v in ensemble["members"].items()} == pytest.approx(scores)
    assert ensemble["gain"] == pytest.approx(scores["0-001"] - grade.score)  # rmse: lower is better
    assert (rundir.best / "final_run.json").is_file() and not (rundir.root / "best.partial").exists()


def test_a_run_kept_from_the_search_is_reused_not_made_again(task, tmp_path: Path) -> None:
    """A close call ran the candidate on the fold already (gome.tools.folds keeps its score.txt): the selection
    takes that run's score and submission (here a blend member's) instead of running the script again."""
    ridge, knn, blend = _members()
    split = make_dev_split(task, tmp_path / "dev-fold1", fold=1)
    limits = limits_of(RunConfig(task_dir=task.root, exec_timeout_s=120))
    _, first = asyncio.run(select_final(task, [ridge, blend], {"fold1": split}, tmp_path / "a", limits, asyncio.Semaphore(2)))
    (tmp_path / "a" / "0-001" / "fold1" / "score.txt").write_text("12.5")  # marks the run kept, with a score of its own
    kept = {"0-001": tmp_path / "a" / "0-001" / "fold1"}
    _, again = asyncio.run(select_final(task, [ridge, blend], {"fold1": split}, tmp_path / "b", limits, asyncio.Semaphore(2),
                                        lambda attempt, label: kept.get(attempt) if label == "fold1" else None))
    assert again.candidates["0-001"] == [55.0, 12.5] and not (tmp_path / "b" / "0-001").exists()
    assert again.candidates["blend"] == first.candidates["blend"]  # blended from the kept member's submission

