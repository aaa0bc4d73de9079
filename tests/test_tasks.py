"""Tests of gome.tasks: metrics, submission checks, grading, dev splits and the bundled penguins task."""

from __future__ import annotations

import json
import math
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import cohen_kappa_score, f1_score, log_loss, roc_auc_score

from gome.tasks import (
    METRICS,
    SubmissionError,
    Task,
    TaskConfig,
    TaskError,
    TaskFiles,
    get_metric,
    grade_submission,
    load_task,
    make_dev_split,
    medal_thresholds,
    prepare_task,
    score_dev,
    task_summary,
    validate_submission,
    write_task,
)

# ---------------------------------------------------------------- helpers


def _task(metric: str, submission_columns: tuple[str, ...], targets: tuple[str, ...] = ("y",)) -> Task:
    """An in-memory Task for metric tests (paths are never touched)."""
    spec = get_metric(metric)
    return Task(
        name="t", root=Path("/nonexistent"), public_dir=Path("/nonexistent/p"),
        private_dir=Path("/nonexistent/q"), metric=metric, lower_is_better=spec.lower_is_better,
        id_column="id", target_columns=targets, submission_columns=submission_columns, description="",
    )


def _score(metric: str, truth: list, preds: dict[str, list]) -> float:
    """Score `preds` (column -> values) against labels `truth` in column y."""
    n = len(truth)
    ids = [f"r{i}" for i in range(n)]
    answers = pd.DataFrame({"id": ids, "y": truth})
    submission = pd.DataFrame({"id": ids, **preds})
    task = _task(metric, ("id", *preds))
    return get_metric(metric).score(answers, submission, task)


def _regression_task(root: Path, metric: str = "rmse", board: list[float] | None = None) -> Path:
    """A tiny regression task folder written with write_task."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    frame = pd.DataFrame({"id": [f"i{k:03d}" for k in range(40)], "x": x, "y": 2 * x + 1})
    train, test = frame.iloc[:30], frame.iloc[30:]
    files = TaskFiles(
        config=TaskConfig(name="reg", metric=metric, id_column="id", target_columns=("y",)),
        description="# reg\nPredict y.\n",
        train=train,
        test=test.drop(columns=["y"]),
        sample_submission=test[["id"]].assign(y=0.0),
        answers=test[["id", "y"]],
        leaderboard=pd.DataFrame({"teamName": ["a", "b", "c", "d"], "score": board or [0.1, 0.5, 1.0, 2.0]}),
    )
    return write_task(files, root)


@pytest.fixture(scope="module")
def penguins_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


@pytest.fixture(scope="module")
def penguins(penguins_root: Path) -> Task:
    return load_task(penguins_root)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


# ---------------------------------------------------------------- metrics


def test_directions() -> None:
    lower = {name for name, m in METRICS.items() if m.lower_is_better}
    assert lower == {"log_loss", "rmse", "rmsle", "mae"}
    assert set(METRICS) == {"accuracy", "roc_auc", "log_loss", "rmse", "rmsle", "mae", "macro_f1", "qwk"}


def test_unknown_metric() -> None:
    with pytest.raises(TaskError) as exc:
        get_metric("f2")
    assert "f2" in _one_line(exc) and "accuracy" in str(exc.value)


def test_accuracy_and_macro_f1() -> None:
    truth, pred = ["a", "b", "c", "a"], ["a", "b", "a", "a"]
    assert _score("accuracy", truth, {"y": pred}) == pytest.approx(0.75)
    assert _score("macro_f1", truth, {"y": pred}) == pytest.approx(f1_score(truth, pred, average="macro"))
    # per class F1: a = 0.8, b = 1, c = 0 -> 0.6
    assert _score("macro_f1", truth, {"y": pred}) == pytest.approx(0.6)
    # integral floats in the submission still match integer labels
    assert _score("accuracy", [1, 2, 3], {"y": [1.0, 2.0, 0.0]}) == pytest.approx(2 / 3)


def test_qwk() -> None:
    truth, pred = [0, 1, 2, 3, 2, 1], [0, 2, 2, 3, 1, 1]
    expected = cohen_kappa_score(truth, pred, weights="quadratic")
    assert _score("qwk", truth, {"y": pred}) == pytest.approx(expected)
    assert _score("qwk", truth, {"y": truth}) == pytest.approx(1.0)
    with pytest.raises(SubmissionError):
        _score("qwk", truth, {"y": [0.5, 1, 2, 3, 2, 1]})


def test_roc_auc_binary_and_multiclass() -> None:
    assert _score("roc_auc", [0, 0, 1, 1], {"y": [0.1, 0.4, 0.35, 0.8]}) == pytest.approx(0.75)
    truth = ["a", "b", "c", "a", "b", "c"]
    probs = np.array([[.7, .2, .1], [.2, .5, .3], [.1, .3, .6], [.3, .4, .3], [.5, .3, .2], [.2, .2, .6]])
    got = _score("roc_auc", truth, {"a": probs[:, 0], "b": probs[:, 1], "c": probs[:, 2]})
    expected = roc_auc_score(truth, probs, multi_class="ovr", average="macro", labels=["a", "b", "c"])
    assert got == pytest.approx(expected)


def test_log_loss_binary_multiclass_clip_and_renormalise() -> None:
    assert _score("log_loss", [0, 1, 1], {"y": [0.2, 0.7, 0.9]}) == pytest.approx(log_loss([0, 1, 1], [0.2, 0.7, 0.9]))
    truth = ["a", "b", "c"]
    raw = np.array([[2.0, 1.0, 1.0], [0.2, 0.6, 0.2], [0.0, 0.0, 1.0]]) / 2  # row 0 sums to 2, row 2 has zeros
    got = _score("log_loss", truth, {"a": raw[:, 0], "b": raw[:, 1], "c": raw[:, 2]})
    norm = np.clip(raw, 1e-15, 1 - 1e-15)
    norm = norm / norm.sum(axis=1, keepdims=True)
    assert got == pytest.approx(log_loss(truth, norm, labels=["a", "b", "c"]))
    # hand value: -(log .5 + log .6 + log ~1) / 3
    assert got == pytest.approx(-(math.log(0.5) + math.log(0.6)) / 3, rel=1e-9)


def test_regression_metrics() -> None:
    assert _score("rmse", [1, 2, 3], {"y": [1, 2, 5]}) == pytest.approx(math.sqrt(4 / 3))
    assert _score("mae", [1, 2, 3], {"y": [1, 2, 5]}) == pytest.approx(2 / 3)
    assert _score("rmsle", [0, math.e - 1], {"y": [0, 0]}) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(SubmissionError) as exc:
        _score("rmsle", [1, 2], {"y": [1, -0.5]})
    assert "negative" in _one_line(exc)


# ---------------------------------------------------------------- medal thresholds

# n: (gold, silver, bronze positions) per kaggle.com/progression as mlebench's Grader.rank_score takes them,
# worked out by hand at both ends of each band, 1-99, 100-249, 250-999 and 1000+ teams, and a little inside
# the next band (110, 255, 1010), where the two bands' formulas differ: a band edge moved either way shows
# (at the edges themselves, 100, 250 and 1000, both formulas give the same positions)
POSITIONS = {1: (1, 1, 1), 5: (1, 1, 2), 10: (1, 2, 4), 50: (5, 10, 20), 99: (9, 19, 39), 100: (10, 20, 40),
             110: (10, 22, 44), 150: (10, 30, 60), 249: (10, 49, 99), 250: (10, 50, 100), 255: (10, 50, 100),
             500: (11, 50, 100), 999: (11, 50, 100), 1000: (12, 50, 100), 1010: (12, 50, 101),
             2000: (14, 100, 200)}


@pytest.mark.parametrize("n", sorted(POSITIONS))
def test_medal_thresholds_higher_is_better(n: int) -> None:
    scores = np.random.default_rng(n).permutation(np.arange(1, n + 1, dtype=float))
    t = medal_thresholds(scores.tolist(), lower_is_better=False)
    gold, silver, bronze = POSITIONS[n]
    assert (t.gold, t.silver, t.bronze) == (n + 1 - gold, n + 1 - silver, n + 1 - bronze)
    assert t.median == pytest.approx((n + 1) / 2)


@pytest.mark.parametrize("n", sorted(POSITIONS))
def test_medal_thresholds_lower_is_better(n: int) -> None:
    scores = np.random.default_rng(n).permutation(np.arange(1, n + 1, dtype=float))
    t = medal_thresholds(scores.tolist(), lower_is_better=True)
    assert (t.gold, t.silver, t.bronze) == tuple(float(p) for p in POSITIONS[n])
    assert t.median == pytest.approx((n + 1) / 2)


# ---------------------------------------------------------------- load_task errors


def test_load_task_missing_train(tmp_path: Path) -> None:
    root = _regression_task(tmp_path / "reg")
    (root / "prepared/public/train.csv").unlink()
    with pytest.raises(TaskError) as exc:
        load_task(root)
    assert "train.csv" in _one_line(exc)


def test_a_missing_folder_named_like_a_bundled_task_says_how_to_prepare_it(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as exc:
        load_task(tmp_path / "penguins")
    assert "gome tasks prepare penguins" in _one_line(exc)
    with pytest.raises(TaskError) as exc:  # a suite task too; any other name gets no hint
        load_task(tmp_path / "hpc-jobs")
    assert "gome tasks prepare hpc-jobs" in str(exc.value)
    with pytest.raises(TaskError) as exc:
        load_task(tmp_path / "mine")
    assert str(exc.value) == f"{tmp_path / 'mine'}: task folder not found"


def test_load_task_unknown_metric(tmp_path: Path) -> None:
    root = _regression_task(tmp_path / "reg")
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    (root / "config.yaml").write_text(yaml.safe_dump({**cfg, "metric": "nope"}))
    with pytest.raises(TaskError) as exc:
        load_task(root)
    assert "config.yaml" in _one_line(exc) and "'nope'" in str(exc.value)


def test_load_task_missing_target_column(tmp_path: Path) -> None:
    root = _regression_task(tmp_path / "reg")
    train = pd.read_csv(root / "prepared/public/train.csv").drop(columns=["y"])
    train.to_csv(root / "prepared/public/train.csv", index=False)
    with pytest.raises(TaskError) as exc:
        load_task(root)
    assert "train.csv" in _one_line(exc) and "'y'" in str(exc.value)


def test_load_task_target_in_test_and_bad_sample(tmp_path: Path) -> None:
    root = _regression_task(tmp_path / "reg")
    test_path = root / "prepared/public/test.csv"
    original = test_path.read_text()
    pd.read_csv(test_path).assign(y=1.0).to_csv(test_path, index=False)
    with pytest.raises(TaskError) as exc:
        load_task(root)
    assert "test.csv" in _one_line(exc) and "'y'" in str(exc.value)
    test_path.write_text(original)
    sample = root / "prepared/public/sample_submission.csv"
    pd.read_csv(sample).rename(columns={"y": "pred"}).to_csv(sample, index=False)
    with pytest.raises(TaskError) as exc:
        load_task(root)
    assert "sample_submission.csv" in _one_line(exc)


# ---------------------------------------------------------------- submissions and grading


def test_validate_submission_errors(penguins: Task) -> None:
    answers = pd.read_csv(penguins.answers_path, dtype={"id": str})
    good = answers.sample(frac=1.0, random_state=0)
    aligned = validate_submission(penguins, good, answers)
    assert aligned["id"].tolist() == answers["id"].tolist()
    cases = {
        "lacks 1 ids": good.iloc[1:],
        "repeats id": pd.concat([good, good.iloc[:1]]),
        "1 unknown ids": pd.concat([good, good.iloc[:1].assign(id="zzzzzzzz")]),
        "missing values": good.assign(species=[None] + good["species"].tolist()[1:]),
        "unexpected column 'extra'": good.assign(extra=1),
    }
    for needle, frame in cases.items():
        with pytest.raises(SubmissionError) as exc:
            validate_submission(penguins, frame, answers)
        assert needle in _one_line(exc), (needle, str(exc.value))


def test_validate_numbers_and_probabilities() -> None:
    task = _task("log_loss", ("id", "a", "b"))
    answers = pd.DataFrame({"id": ["1", "2"], "y": ["a", "b"]})
    ok = validate_submission(task, pd.DataFrame({"id": [2, 1], "a": ["0.3", "0.9"], "b": [0.7, 0.1]}), answers)
    assert ok["id"].tolist() == ["1", "2"] and ok["a"].tolist() == [0.9, 0.3]
    for frame, needle in [
        (pd.DataFrame({"id": ["1", "2"], "a": [0.5, "x"], "b": [0.5, 0.5]}), "finite numbers"),
        (pd.DataFrame({"id": ["1", "2"], "a": [0.5, 1.5], "b": [0.5, 0.5]}), "probabilities in [0, 1]"),
        (pd.DataFrame({"id": ["1", "2"], "b": [0.5, 0.5]}), "lacks column 'a'"),
    ]:
        with pytest.raises(SubmissionError) as exc:
            validate_submission(task, frame, answers)
        assert needle in _one_line(exc)


def test_grade_perfect_penguins(penguins: Task, tmp_path: Path) -> None:
    path = tmp_path / "submission.csv"
    shutil.copy(penguins.answers_path, path)
    report = grade_submission(penguins, path)
    board = pd.read_csv(penguins.leaderboard_path)
    t = medal_thresholds(board["score"].tolist(), lower_is_better=False)
    assert report.score == 1.0 and report.valid_submission and report.submission_exists
    assert report.gold_threshold == t.gold and report.median_threshold == t.median
    assert report.gold_medal == (1.0 >= t.gold) and report.gold_medal
    assert report.any_medal and report.above_median and not report.is_lower_better
    assert report.error == "" and report.competition_id == "penguins"
    data = json.loads(report.model_dump_json())
    assert data["score"] == 1.0 and "created_at" in data and data["submission_path"] == str(path)


def test_grade_constant_submission_gets_no_medal(penguins: Task) -> None:
    report = grade_submission(penguins, penguins.public_dir / "sample_submission.csv")
    assert report.valid_submission and report.score is not None and report.score < 0.6
    assert not report.any_medal and not report.above_median


def test_grade_wrong_columns_and_missing_file(penguins: Task, tmp_path: Path) -> None:
    path = tmp_path / "submission.csv"
    pd.read_csv(penguins.answers_path).rename(columns={"species": "label"}).to_csv(path, index=False)
    report = grade_submission(penguins, path)
    assert not report.valid_submission and report.score is None and report.submission_exists
    assert "species" in report.error and "\n" not in report.error and not report.any_medal
    missing = grade_submission(penguins, tmp_path / "absent.csv")
    assert not missing.submission_exists and not missing.valid_submission and missing.score is None
    assert "not found" in missing.error


def test_grade_lower_is_better(tmp_path: Path) -> None:
    task = load_task(_regression_task(tmp_path / "reg", board=[0.1, 0.5, 1.0, 2.0]))
    answers = pd.read_csv(task.answers_path)
    perfect, off = tmp_path / "perfect.csv", tmp_path / "off.csv"
    answers.to_csv(perfect, index=False)
    answers.assign(y=answers["y"] + 0.3).to_csv(off, index=False)
    best = grade_submission(task, perfect)
    assert best.is_lower_better and best.score == 0.0 and best.gold_medal and best.above_median
    worse = grade_submission(task, off)
    # 4 teams: gold/silver/bronze at position 1 (0.1); median 0.75
    assert worse.score == pytest.approx(0.3) and not worse.any_medal and worse.above_median
    assert worse.gold_threshold == 0.1 and worse.median_threshold == pytest.approx(0.75)


# ---------------------------------------------------------------- dev split


def test_dev_split_layout_and_scoring(penguins: Task, tmp_path: Path) -> None:
    (penguins.public_dir.parent / "extra_probe").mkdir(exist_ok=True)  # not in public: must not be copied
    split = make_dev_split(penguins, tmp_path / "dev", seed=3)
    names = sorted(p.name for p in split.input_dir.iterdir())
    assert names == sorted(p.name for p in penguins.public_dir.iterdir())
    assert split.answers_path.parent == tmp_path / "dev" and not split.answers_path.is_relative_to(split.input_dir)
    train = pd.read_csv(split.input_dir / "train.csv", dtype={"id": str})
    test = pd.read_csv(split.input_dir / "test.csv", dtype={"id": str})
    sample = pd.read_csv(split.input_dir / "sample_submission.csv", dtype={"id": str})
    real_test = pd.read_csv(penguins.public_dir / "test.csv", nrows=0)
    assert "species" not in test.columns and list(test.columns) == list(real_test.columns)
    assert set(train["id"]).isdisjoint(test["id"]) and len(train) + len(test) == 240
    assert list(sample.columns) == ["id", "species"] and sample["id"].tolist() == test["id"].tolist()
    assert split.stratified and split.n_test == len(test) == 48
    answers = pd.read_csv(split.answers_path, dtype={"id": str})
    assert answers["id"].tolist() == test["id"].tolist()
    perfect = tmp_path / "perfect.csv"
    answers.to_csv(perfect, index=False)
    assert score_dev(penguins, split, perfect) == 1.0
    assert score_dev(penguins, split, split.input_dir / "sample_submission.csv") < 0.6
    with pytest.raises(SubmissionError):
        score_dev(penguins, split, penguins.answers_path)  # final-test ids are not dev ids


def test_dev_split_deterministic(penguins: Task, tmp_path: Path) -> None:
    def files(seed: int, name: str) -> dict[str, bytes]:
        split = make_dev_split(penguins, tmp_path / name, seed=seed)
        out = {p.name: p.read_bytes() for p in split.input_dir.iterdir() if p.is_file()}
        return {**out, "answers.csv": split.answers_path.read_bytes()}

    assert files(1, "a") == files(1, "b")
    assert files(1, "a")["test.csv"] != files(2, "c")["test.csv"]


def test_dev_split_preserves_cell_text(penguins: Task, tmp_path: Path) -> None:
    split = make_dev_split(penguins, tmp_path / "dev")
    real_rows = set((penguins.public_dir / "train.csv").read_text().splitlines())
    dev_rows = (split.input_dir / "train.csv").read_text().splitlines()
    assert set(dev_rows) <= real_rows


# ---------------------------------------------------------------- bundled penguins


def test_penguins_deterministic_and_valid(penguins_root: Path, penguins: Task, tmp_path: Path) -> None:
    again = prepare_task("penguins", tmp_path / "again")
    first = {p.relative_to(penguins_root): p.read_bytes() for p in penguins_root.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first == second and len(first) == 8
    assert stat.S_IMODE(penguins.private_dir.stat().st_mode) == 0o700
    assert penguins.metric == "accuracy" and penguins.target_columns == ("species",)
    assert penguins.submission_columns == ("id", "species")
    train = pd.read_csv(penguins.public_dir / "train.csv")
    assert len(train) == 240 and train["id"].str.fullmatch(r"[0-9a-f]{8}").all()
    assert train["bill_length_mm"].isna().any()  # NaNs stay
    board = pd.read_csv(penguins.leaderboard_path)
    assert len(board) >= 4 and board["score"].between(0, 1).all()
    assert board["score"].is_monotonic_decreasing


def test_penguins_summary(penguins: Task) -> None:
    text = task_summary(penguins)
    assert len(text) < 1500
    for needle in ("240 rows", "species", "island", "categorical", "missing", "accuracy", "higher is better"):
        assert needle in text


def test_prepare_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as exc:
        prepare_task("titanic", tmp_path)
    assert "penguins" in _one_line(exc)
