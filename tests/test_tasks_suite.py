"""Tests of the task suite: preparation, checksums, probability formats, ladders, references and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from gome.cli import main
from gome.tasks import (
    SUITE,
    ChecksumError,
    TaskError,
    get_metric,
    grade_submission,
    load_task,
    medal_thresholds,
    prepare_task,
    reference_submission,
    verify_task,
)
from gome.tasks.suite import LevelResult, ladder_leaderboard, make_ladder, prepare_suite_task
from gome.tasks.task import Task


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("suite")
    for name in ("hpc-jobs", "lending-club", "vic-electricity", "food-delivery"):
        prepare_task(name, root / name)
    return root


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- preparation


def test_suite_covers_the_issue() -> None:
    metrics = {spec.metric for spec in SUITE.values()}
    assert len(SUITE) >= 12
    assert {"roc_auc", "log_loss", "macro_f1", "qwk", "rmse", "rmsle", "mae", "accuracy"} <= metrics
    assert {spec.kind for spec in SUITE.values()} == {"tabular", "text", "image"}
    assert sum(spec.split == "time" for spec in SUITE.values()) >= 3


def test_prepare_is_deterministic_and_verifies(tasks_dir: Path, tmp_path: Path) -> None:
    again = prepare_suite_task("hpc-jobs", tmp_path / "hpc-jobs")
    assert _files(again.path) == _files(tasks_dir / "hpc-jobs")
    assert verify_task(again.path) == 7
    task = load_task(again.path)
    assert task.submission_columns == ("id", "F", "L", "M", "VF")
    train = pd.read_csv(task.public_dir / "train.csv", dtype={"id": str})
    assert train["id"].str.fullmatch(r"[0-9a-f]{8}").all()
    assert "random identifier" in task.description and "log-loss" in task.description


def test_verify_reports_changes(tasks_dir: Path, tmp_path: Path) -> None:
    root = prepare_suite_task("food-delivery", tmp_path / "fd").path
    train = root / "prepared" / "public" / "train.csv"
    train.write_text(train.read_text() + "\n")
    with pytest.raises(ChecksumError) as exc:
        verify_task(root)
    assert "train.csv: checksum mismatch" in _one_line(exc)
    train.unlink()
    with pytest.raises(ChecksumError, match="is missing"):
        verify_task(root)
    prepare_suite_task("food-delivery", root)
    (root / "prepared" / "public" / "notes.txt").write_text("x")
    with pytest.raises(ChecksumError, match="not listed"):
        verify_task(root)


def test_time_split_holds_out_the_last_period(tasks_dir: Path) -> None:
    public = tasks_dir / "vic-electricity" / "prepared" / "public"
    train, test = pd.read_csv(public / "train.csv"), pd.read_csv(public / "test.csv")
    assert train["time"].max() < test["time"].min() == "2014-11-01 00:00"
    assert train["time"].is_monotonic_increasing


def test_leaky_columns_are_removed(tmp_path: Path) -> None:
    task = load_task(prepare_task("movie-ratings", tmp_path / "movies"))
    columns = pd.read_csv(task.public_dir / "train.csv", nrows=1).columns
    assert "r1" not in columns and "rating" in columns and "`r1` … `r10`" in task.description


def test_rare_positive_task(tasks_dir: Path) -> None:
    task = load_task(tasks_dir / "lending-club")
    answers = pd.read_csv(task.answers_path)
    assert task.positive_class == "bad" and (answers["Class"] == "bad").mean() < 0.1
    assert task.submission_columns == ("id", "Class")


def test_prepare_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    with pytest.raises(TaskError, match="not a task folder"):
        prepare_suite_task("hpc-jobs", tmp_path / "mine")


@pytest.mark.slow
def test_mnist_png_images(tmp_path: Path) -> None:
    from PIL import Image

    task = load_task(prepare_task("mnist-png", tmp_path / "mnist"))
    test = pd.read_csv(task.public_dir / "test.csv")
    assert len(list((task.public_dir / "images").glob("*.png"))) == 5000
    image = Image.open(task.public_dir / test["image"].iloc[0])
    assert image.size == (28, 28) and image.mode == "L"


# ---------------------------------------------------------------- probability formats


def _prob_task(tmp_path: Path, labels: list[str], columns: dict[str, list[float]], metric: str,
               positive: str = "") -> Task:
    from gome.tasks import TaskConfig, TaskFiles, write_task

    ids = [f"r{k}" for k in range(len(labels))]
    frame = pd.DataFrame({"id": ids, "y": labels})
    files = TaskFiles(
        config=TaskConfig(name="p", metric=metric, id_column="id", target_columns=("y",), positive_class=positive),
        description="# p\n", train=frame.assign(x=1.0), test=frame[["id"]].assign(x=1.0),
        sample_submission=pd.DataFrame({"id": ids, **columns}), answers=frame,
        leaderboard=pd.DataFrame({"teamName": ["a"], "score": [0.5]}),
    )
    return load_task(write_task(files, tmp_path / metric))


def test_binary_probability_with_named_positive_class(tmp_path: Path) -> None:
    labels = ["bad", "good", "good", "bad", "good"]
    probs = [0.9, 0.2, 0.4, 0.3, 0.1]
    task = _prob_task(tmp_path, labels, {"y": probs}, "roc_auc", positive="bad")
    truth = [1 if v == "bad" else 0 for v in labels]
    report = grade_submission(task, task.public_dir / "sample_submission.csv")
    assert report.score == pytest.approx(roc_auc_score(truth, probs), abs=1e-5)


def test_binary_probability_without_positive_class_is_a_task_error(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as exc:
        _prob_task(tmp_path, ["bad", "good"], {"y": [0.5, 0.5]}, "log_loss")
    assert "positive_class" in _one_line(exc)


def test_multiclass_log_loss_with_labels_or_one_hot_answers() -> None:
    labels = ["a", "c", "b", "a"]
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])
    ids = [f"r{k}" for k in range(4)]
    task = Task(name="t", root=Path("/x"), public_dir=Path("/x"), private_dir=Path("/x"), metric="log_loss",
                lower_is_better=True, id_column="id", target_columns=("y",), submission_columns=("id", "a", "b", "c"),
                description="")
    submission = pd.DataFrame({"id": ids, "a": probs[:, 0], "b": probs[:, 1], "c": probs[:, 2]})
    expected = log_loss(labels, probs, labels=["a", "b", "c"])
    as_labels = pd.DataFrame({"id": ids, "y": labels})
    one_hot = pd.DataFrame({"id": ids, **{c: [float(v == c) for v in labels] for c in "abc"}})
    metric = get_metric("log_loss")
    assert metric.score(as_labels, submission, task) == pytest.approx(expected)
    assert metric.score(one_hot, submission, task) == pytest.approx(expected)


# ---------------------------------------------------------------- ladders


PAIRS = ("dummy<default", "default<tuned", "tuned<expert")


def _levels(scores: list[float], se: float) -> dict[str, LevelResult]:
    return {k: LevelResult(score=s, se=se, seconds=0.0) for k, s in zip(("dummy", "default", "tuned", "expert"), scores)}


@pytest.mark.parametrize("lower", [False, True])
def test_ladder_leaderboard_gives_its_thresholds_under_kaggle_rules(lower: bool, tasks_dir: Path) -> None:
    task = load_task(tasks_dir / ("hpc-jobs" if lower else "lending-club"))
    scores = [1.1, 0.45, 0.42, 0.40] if lower else [0.5, 0.70, 0.73, 0.76]
    ladder = make_ladder(task, _levels(scores, 0.05), dict.fromkeys(PAIRS, 0.01), "0" * 64)
    t = ladder.thresholds
    assert (t.median, t.bronze, t.silver) == (scores[1], scores[2], scores[3])
    assert t.gold == pytest.approx(scores[3] - 0.05 if lower else scores[3] + 0.05)
    board = ladder_leaderboard(t, scores[0], lower)
    assert len(board) == 100 and medal_thresholds(board["score"].tolist(), lower) == t
    assert not ladder.crowded and all(ladder.gate.values())


def test_gate_flags_crowded_and_gold_is_capped(tasks_dir: Path) -> None:
    task = load_task(tasks_dir / "lending-club")
    pairs = {"dummy<default": 0.02, "default<tuned": 0.01, "tuned<expert": 0.02}
    ladder = make_ladder(task, _levels([0.5, 0.97, 0.975, 0.99], 0.02), pairs, "0" * 64)
    assert ladder.crowded and ladder.gate == {"dummy<default": True, "default<tuned": False, "tuned<expert": False}
    assert ladder.thresholds.gold == pytest.approx(0.995)  # half-way to 1.0, not 0.99 + 0.02
    worse = make_ladder(task, _levels([0.5, 0.97, 0.96, 0.99], 0.02), dict.fromkeys(PAIRS, 0.001), "0" * 64)
    assert not worse.gate["default<tuned"] and worse.thresholds.bronze == 0.97  # monotone thresholds


def test_grade_report_has_normalized_score(tasks_dir: Path) -> None:
    task = load_task(tasks_dir / "hpc-jobs").model_copy(update={"reference_scores": {"dummy": 1.2, "expert": 0.4}})
    report = grade_submission(task, task.public_dir / "sample_submission.csv")
    assert report.normalized_score == pytest.approx((report.score - 1.2) / (0.4 - 1.2), abs=1e-4)
    assert {"gold_threshold", "above_median", "valid_submission", "is_lower_better"} <= set(report.model_dump())


def test_shipped_ladders_match_the_prepared_data(tasks_dir: Path) -> None:
    from gome.tasks.suite import stored_ladder

    for name in ("hpc-jobs", "lending-club", "vic-electricity", "food-delivery"):
        ladder = stored_ladder(name)
        if ladder is None:
            pytest.skip("ladders not measured yet")
        task = load_task(tasks_dir / name)
        assert task.reference_scores == ladder.scores and task.crowded == ladder.crowded
        board = pd.read_csv(task.leaderboard_path)
        assert medal_thresholds(board["score"].tolist(), task.lower_is_better) == ladder.thresholds
        assert prepare_suite_task(name, tasks_dir / name).ladder == "ok"


# ---------------------------------------------------------------- references and CLI


@pytest.mark.parametrize(("name", "level"), [("vic-electricity", "dummy"), ("hpc-jobs", "default")])
def test_quick_reference_levels_score(tasks_dir: Path, name: str, level: str, tmp_path: Path) -> None:
    task = load_task(tasks_dir / name)
    path = tmp_path / "sub.csv"
    reference_submission(task, level).to_csv(path, index=False)
    report = grade_submission(task, path)
    assert report.valid_submission and report.score > 0 and report.normalized_score is not None
    if level == "default":
        assert report.score < 0.5 * grade_submission(task, task.public_dir / "sample_submission.csv").score


@pytest.mark.slow
def test_all_levels_on_a_small_task(tasks_dir: Path, tmp_path: Path) -> None:
    task = load_task(tasks_dir / "hpc-jobs")
    scores = {}
    for level in ("dummy", "default", "tuned", "expert"):
        path = tmp_path / f"{level}.csv"
        reference_submission(task, level).to_csv(path, index=False)
        scores[level] = grade_submission(task, path).score
    assert scores["expert"] < scores["default"] < scores["dummy"]


def test_cli_prepare_verify_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "prepare", "hpc-jobs", "--out", str(tmp_path)]) == 0
    assert main(["tasks", "verify", "--all", "--out", str(tmp_path)]) == 0
    sub = tmp_path / "dummy.csv"
    assert main(["tasks", "reference", "hpc-jobs", "--level", "dummy", "--out", str(tmp_path),
                 "--submission", str(sub)]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["valid_submission"] and "normalized_score" in report
    (tmp_path / "hpc-jobs" / "leaderboard.csv").write_text("teamName,score\nx,1\n")
    assert main(["tasks", "verify", "hpc-jobs", "--out", str(tmp_path)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert main(["tasks", "prepare", "--out", str(tmp_path)]) == 2


# ---------------------------------------------------------------- bring your own data


@pytest.fixture(scope="module")
def own_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from palmerpenguins import load_penguins

    from gome.tasks import new_task

    root = tmp_path_factory.mktemp("own")
    load_penguins().to_csv(root / "penguins.csv", index=False)
    return new_task(root / "penguins.csv", "species", "accuracy", root / "my-penguins")


def test_new_task_is_valid_with_a_ladder(own_task: Path) -> None:
    task = load_task(own_task)
    assert task.name == "my-penguins" and task.id_column == "id" and verify_task(own_task) == 7
    assert set(task.reference_scores) == {"dummy", "default", "tuned", "expert"}
    assert "edit this description" in task.description and "seeded random 20%" in task.description
    assert len(pd.read_csv(task.answers_path)) == 69


def test_new_task_errors(tmp_path: Path, own_task: Path) -> None:
    from gome.tasks import new_task

    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TaskError, match="target column 'y' not found"):
        new_task(tmp_path / "t.csv", "y", "rmse", tmp_path / "out")
    with pytest.raises(TaskError, match="unknown metric"):
        new_task(tmp_path / "t.csv", "b", "r2", tmp_path / "out")
    with pytest.raises(TaskError, match="not empty"):
        new_task(tmp_path / "t.csv", "b", "rmse", own_task)


def test_new_task_uses_a_labelled_test_file(tmp_path: Path) -> None:
    from gome.tasks import new_task

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"key": [f"k{i}" for i in range(60)], "x": rng.normal(size=60)})
    frame["y"] = 3 * frame["x"] + rng.normal(scale=0.1, size=60)
    frame.iloc[:45].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[45:].to_csv(tmp_path / "test.csv", index=False)
    root = new_task(tmp_path / "train.csv", "y", "mae", tmp_path / "reg", test_path=tmp_path / "test.csv",
                    id_column="key", ladder=False)
    task = load_task(root)
    assert task.id_column == "key" and len(pd.read_csv(task.answers_path)) == 15
    assert "you supplied" in task.description


def test_new_task_round_trip_with_the_scripted_model(own_task: Path, tmp_path: Path) -> None:
    import asyncio

    from gome.config import RunConfig
    from gome.llm import ScriptedChatCompletionClient
    from gome.runner import run
    from scripted_model import policy

    client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=own_task, runs_dir=tmp_path / "runs", steps=2, exec_timeout_s=120)
    result = asyncio.run(run(config, client=client, run_id="own"))
    grade = json.loads((result.run_dir / "best" / "grade.json").read_text())
    assert grade["valid_submission"] and grade["competition_id"] == "my-penguins"
    assert grade["normalized_score"] is not None and "gold_threshold" in grade


def test_dev_split_of_a_time_task_holds_out_the_latest_rows(tasks_dir: Path, tmp_path: Path) -> None:
    from gome.tasks import make_dev_split

    task = load_task(tasks_dir / "vic-electricity")
    assert task.time_column == "time"
    split = make_dev_split(task, tmp_path / "dev", seed=3, holdout=0.2)
    train, test = pd.read_csv(split.input_dir / "train.csv"), pd.read_csv(split.input_dir / "test.csv")
    assert train["time"].max() < test["time"].min() and not split.stratified


# ---------------------------------------------------------------- MLE-bench interop (more in test_mlebench.py)


def test_adopt_rejects_other_layouts(tmp_path: Path) -> None:
    from gome.tasks.mlebench import adopt_mlebench

    with pytest.raises(TaskError, match="MLE-bench layout"):
        adopt_mlebench(tmp_path, tmp_path / "out", "accuracy", "y", leaderboard=tmp_path / "lb.csv")
