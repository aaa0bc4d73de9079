"""Tests of gome.tasks.evidence: noise, paired gains, prediction change, error lines and the Evidence record."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from gome.schema import Evidence
from gome.tasks import DevSplit, SubmissionError, Task, load_task, make_dev_split, prepare_task
from gome.tasks._io import read_table
from gome.tasks.evidence import (
    aligned_predictions,
    bootstrap_noise,
    error_breakdown,
    paired_gain,
    pooled_gain,
    prediction_change,
    self_reported_score,
    submission_evidence,
)

# ---------------------------------------------------------------- fixtures and helpers


class Dev(NamedTuple):
    """A prepared task with its dev split, the dev answers and the dev test features in the answers' order."""

    task: Task
    split: DevSplit
    answers: pd.DataFrame
    features: pd.DataFrame
    root: Path


def _dev(name: str, root: Path) -> Dev:
    task = load_task(prepare_task(name, root / name))
    split = make_dev_split(task, root / f"{name}-dev")
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    test = read_table(split.input_dir / "test.csv", task.id_column).set_index(task.id_column)
    features = test.loc[answers[task.id_column]].reset_index()
    return Dev(task, split, answers, features, root)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Dev:
    return _dev("penguins", tmp_path_factory.mktemp("evidence"))


@pytest.fixture(scope="module")
def hpc(tmp_path_factory: pytest.TempPathFactory) -> Dev:
    return _dev("hpc-jobs", tmp_path_factory.mktemp("evidence"))


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Dev:
    return _dev("food-delivery", tmp_path_factory.mktemp("evidence"))


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _labels(dev: Dev) -> pd.DataFrame:
    """A perfect label submission: the dev answers themselves."""
    return dev.answers[list(dev.task.submission_columns)].copy()


def _flip(dev: Dev, rows: list[int]) -> pd.DataFrame:
    """The perfect penguins submission with `rows` given another species."""
    frame = _labels(dev)
    for i in rows:
        frame.loc[i, "species"] = "Adelie" if frame.loc[i, "species"] != "Adelie" else "Gentoo"
    return frame


def _probabilities(dev: Dev, wrong: dict[str, str] | None = None, sure: float = 0.7) -> pd.DataFrame:
    """hpc-jobs probabilities: `sure` on the true class (or on wrong[true class]), the rest spread evenly."""
    columns = [c for c in dev.task.submission_columns if c != dev.task.id_column]
    chosen = dev.answers["class"].map(lambda c: (wrong or {}).get(c, c))
    probs = np.full((len(chosen), len(columns)), (1 - sure) / (len(columns) - 1))
    probs[np.arange(len(chosen)), [columns.index(c) for c in chosen]] = sure
    frame = pd.DataFrame(probs, columns=columns)
    frame.insert(0, dev.task.id_column, dev.answers[dev.task.id_column])
    return frame


def _regression(dev: Dev, error: np.ndarray) -> pd.DataFrame:
    """A food-delivery submission: the true time plus `error`."""
    truth = dev.answers["time_to_delivery"].to_numpy(dtype=float)
    return pd.DataFrame({"id": dev.answers["id"], "time_to_delivery": truth + error})


def _manual_noise(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame, n_boot: int, seed: int) -> float | None:
    """The bootstrap standard error written out with the task's own metric, skipping what cannot be scored."""
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(answers), size=len(answers))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = task.metric_spec.score(answers.iloc[rows].reset_index(drop=True),
                                               aligned.iloc[rows].reset_index(drop=True), task)
        except Exception:  # noqa: BLE001 - the same rule as the module: a failing resample is skipped
            continue
        if math.isfinite(value):
            scores.append(value)
    return float(np.std(scores, ddof=1)) if len(scores) >= 10 else None


def _binary(n_l: int, rng: np.random.Generator) -> tuple[Task, pd.DataFrame]:
    """An in-memory roc_auc task (one probability column `L`) and answers with `n_l` rows of class L."""
    task = Task(name="binary", root=Path("."), public_dir=Path("."), private_dir=Path("."), metric="roc_auc",
                lower_is_better=False, id_column="id", target_columns=("class",), submission_columns=("id", "L"),
                description="", positive_class="L")
    n = 40
    labels = np.array(["L"] * n_l + ["M"] * (n - n_l), dtype=object)
    rng.shuffle(labels)
    return task, pd.DataFrame({"id": [f"r{i}" for i in range(n)], "class": labels})


# ---------------------------------------------------------------- aligned predictions


def test_aligned_predictions_follow_the_answers_order(penguins: Dev, tmp_path: Path) -> None:
    perfect = _labels(penguins)
    shuffled = _write(perfect.sample(frac=1.0, random_state=3), tmp_path / "shuffled.csv")
    aligned = aligned_predictions(penguins.task, penguins.answers, shuffled)
    assert aligned["id"].tolist() == penguins.answers["id"].tolist()
    assert aligned["species"].tolist() == penguins.answers["species"].tolist()
    with pytest.raises(SubmissionError, match="lacks 1 ids"):
        aligned_predictions(penguins.task, penguins.answers, _write(perfect.iloc[1:], tmp_path / "short.csv"))
    with pytest.raises(SubmissionError, match="not found"):
        aligned_predictions(penguins.task, penguins.answers, tmp_path / "missing.csv")


# ---------------------------------------------------------------- prediction change


def test_prediction_change_of_labels_counts_flipped_rows(penguins: Dev) -> None:
    task, n = penguins.task, len(penguins.answers)
    perfect = _labels(penguins)
    assert prediction_change(task, perfect, perfect.copy()) == (0.0, None)
    assert prediction_change(task, _flip(penguins, [0, 5, 7, 11, 20]), perfect) == (5 / n, None)
    assert prediction_change(task, perfect, _flip(penguins, list(range(n)))) == (1.0, None)


def test_prediction_change_of_numbers_measures_share_and_size(delivery: Dev) -> None:
    task, n = delivery.task, len(delivery.answers)
    old = _regression(delivery, np.zeros(n))
    scale = float(np.std(old["time_to_delivery"]))
    shift = np.zeros(n)
    shift[:30] = 2 * scale
    share, size = prediction_change(task, _regression(delivery, shift), old)
    assert share == 30 / n
    assert size == pytest.approx(2 * 30 / n, rel=1e-9)
    assert prediction_change(task, old.copy(), old) == (0.0, 0.0)
    tiny = old.copy()
    tiny["time_to_delivery"] *= 1 + 1e-12  # below the relative tolerance of 1e-9
    assert prediction_change(task, tiny, old)[0] == 0.0
    tiny.loc[3, "time_to_delivery"] *= 1 + 1e-6
    assert prediction_change(task, tiny, old)[0] == 1 / n


def test_prediction_change_of_probabilities(hpc: Dev) -> None:
    old = _probabilities(hpc)
    new = old.copy()
    new.loc[[2, 4, 8], ["F", "VF"]] = 0.25
    share, size = prediction_change(hpc.task, new, old)
    assert share == 3 / len(old)
    assert size is not None and 0 < size < 0.1
    assert prediction_change(hpc.task, old, old.copy()) == (0.0, 0.0)


# ---------------------------------------------------------------- bootstrap noise


def test_noise_is_the_bootstrap_standard_error(delivery: Dev, hpc: Dev) -> None:
    rng = np.random.default_rng(0)
    aligned = _regression(delivery, rng.normal(0, 5, len(delivery.answers)))
    noise = bootstrap_noise(delivery.task, delivery.answers, aligned, n_boot=60, seed=4)
    assert noise is not None and noise > 0
    assert noise == pytest.approx(_manual_noise(delivery.task, delivery.answers, aligned, 60, 4), rel=1e-9)
    assert bootstrap_noise(delivery.task, delivery.answers, aligned, n_boot=60, seed=4) == noise
    probs = _probabilities(hpc, {"M": "F"})
    assert bootstrap_noise(hpc.task, hpc.answers, probs, n_boot=60) == pytest.approx(
        _manual_noise(hpc.task, hpc.answers, probs, 60, 0), rel=1e-9)


def test_noise_shrinks_like_one_over_sqrt_rows(delivery: Dev) -> None:
    rng = np.random.default_rng(1)
    aligned = _regression(delivery, rng.normal(0, 5, len(delivery.answers)))
    half = len(aligned) // 2
    full = bootstrap_noise(delivery.task, delivery.answers, aligned)
    part = bootstrap_noise(delivery.task, delivery.answers.iloc[:half].reset_index(drop=True),
                           aligned.iloc[:half].reset_index(drop=True))
    assert full is not None and part is not None
    assert 1.15 < part / full < 1.75  # sqrt(2) = 1.41


@pytest.mark.parametrize("case", ["macro_f1", "roc_auc", "roc_auc_rare_class"])
def test_fast_metric_twins_give_the_metrics_numbers(case: str, penguins: Dev, hpc: Dev) -> None:
    if case == "macro_f1":  # with a class that only the predictions name
        task, answers = penguins.task.model_copy(update={"metric": "macro_f1"}), penguins.answers
        aligned = _flip(penguins, list(range(0, len(answers), 4)))
        aligned.loc[[1, 2, 3], "species"] = "Emperor"
    else:  # probabilities rounded to one decimal, so that many scores tie
        task, answers = hpc.task.model_copy(update={"metric": "roc_auc", "lower_is_better": False}), hpc.answers
        aligned = _probabilities(hpc, {"L": "M"})
        columns = ["F", "L", "M", "VF"]
        mixed = np.random.default_rng(2).dirichlet(np.ones(4), len(aligned)) + aligned[columns].to_numpy()
        aligned[columns] = np.round(mixed / 2, 1)
    if case == "roc_auc_rare_class":  # 40 rows, one of class L: many resamples lack it and average 3 classes
        keep = [*answers.index[answers["class"] != "L"][:39], answers.index[answers["class"] == "L"][0]]
        answers, aligned = answers.loc[keep].reset_index(drop=True), aligned.loc[keep].reset_index(drop=True)
    expected = _manual_noise(task, answers, aligned, 40, 7)
    assert expected is not None and expected > 0
    assert bootstrap_noise(task, answers, aligned, n_boot=40, seed=7) == pytest.approx(expected, rel=1e-9)


def test_noise_skips_resamples_the_metric_cannot_score() -> None:
    rng = np.random.default_rng(5)
    task, answers = _binary(1, rng)  # resamples that miss the one L row have no AUC
    aligned = pd.DataFrame({"id": answers["id"], "L": rng.random(len(answers))})
    noise = bootstrap_noise(task, answers, aligned, n_boot=100)
    assert noise is not None and noise > 0
    assert noise == pytest.approx(_manual_noise(task, answers, aligned, 100, 0), rel=1e-9)
    task, answers = _binary(0, rng)
    assert bootstrap_noise(task, answers, aligned, n_boot=100) is None


def test_noise_is_none_when_too_few_resamples_score(delivery: Dev) -> None:
    answers = delivery.answers.iloc[:20].reset_index(drop=True)
    aligned = _regression(delivery, np.ones(len(delivery.answers))).iloc[:20].reset_index(drop=True)
    broken = answers.copy()
    broken.loc[:9, "time_to_delivery"] = np.nan  # every resample with one of these rows fails
    assert bootstrap_noise(delivery.task, broken, aligned) is None
    assert bootstrap_noise(delivery.task, answers.iloc[:0], aligned.iloc[:0]) is None


# ---------------------------------------------------------------- paired gain


def test_paired_gain_of_a_submission_against_itself_is_zero(penguins: Dev, delivery: Dev) -> None:
    flipped = _flip(penguins, [1, 2, 3])
    assert paired_gain(penguins.task, penguins.answers, flipped, flipped.copy()) == (0.0, 0.0)
    aligned = _regression(delivery, np.random.default_rng(0).normal(0, 3, len(delivery.answers)))
    assert paired_gain(delivery.task, delivery.answers, aligned, aligned.copy()) == (0.0, 0.0)


def test_paired_gain_is_positive_when_new_is_better(penguins: Dev, delivery: Dev) -> None:
    perfect, worse = _labels(penguins), _flip(penguins, list(range(0, len(penguins.answers), 4)))
    gain, se = paired_gain(penguins.task, penguins.answers, perfect, worse)
    assert gain > 2 * se > 0
    assert gain == pytest.approx(0.25, abs=0.05)
    back, back_se = paired_gain(penguins.task, penguins.answers, worse, perfect)
    assert back == pytest.approx(-gain) and back_se == pytest.approx(se)
    rng = np.random.default_rng(3)  # mae: lower is better, so the smaller error must give a positive gain
    good = _regression(delivery, rng.normal(0, 2, len(delivery.answers)))
    bad = _regression(delivery, rng.normal(0, 4, len(delivery.answers)))
    gain, se = paired_gain(delivery.task, delivery.answers, good, bad)
    assert gain > 2 * se > 0
    assert paired_gain(delivery.task, delivery.answers, bad, good)[0] < 0


def test_pooled_gain_takes_the_larger_of_the_rows_noise_and_the_folds_spread() -> None:
    """Three folds that agree: the rows' noise, √(3 × 0.01²) / 3 = 0.0058, shrinks the dev split's 0.01 by √3. Folds
    that disagree (a seed's luck: +2, +0.6 and -3 SE on hpc-jobs) are as noisy as their spread says."""
    gain, se = pooled_gain([0.02, 0.021, 0.019], [0.01, 0.01, 0.01])
    assert gain == pytest.approx(0.02) and se == pytest.approx(0.01 / math.sqrt(3))
    gain, se = pooled_gain([0.0106, 0.0038, -0.0169], [0.0057, 0.0061, 0.0054])
    assert se == pytest.approx(np.std([0.0106, 0.0038, -0.0169], ddof=1) / math.sqrt(3)) and abs(gain) < 2 * se
    assert pooled_gain([0.03], [0.01]) == (0.03, 0.01)  # one split: its own figures


def test_paired_gain_scores_both_on_the_same_rows(delivery: Dev) -> None:
    rng = np.random.default_rng(4)
    best = _regression(delivery, rng.normal(0, 5, len(delivery.answers)))
    new = best.copy()
    new.loc[:4, "time_to_delivery"] = delivery.answers.loc[:4, "time_to_delivery"]  # five rows made exact
    gain, se = paired_gain(delivery.task, delivery.answers, new, best)
    noise = bootstrap_noise(delivery.task, delivery.answers, best)
    assert noise is not None and 0 < se < 0.2 * noise  # unpaired resamples would give about 1.4 * noise
    assert gain > 0


def test_paired_gain_without_scorable_resamples_claims_nothing() -> None:
    rng = np.random.default_rng(6)
    task, answers = _binary(0, rng)
    aligned = pd.DataFrame({"id": answers["id"], "L": rng.random(len(answers))})
    assert paired_gain(task, answers, aligned, aligned.assign(L=0.5)) == (0.0, math.inf)


# ---------------------------------------------------------------- error breakdown


def test_error_breakdown_names_the_damaged_class(penguins: Dev) -> None:
    answers = penguins.answers
    chinstrap = answers.index[answers["species"] == "Chinstrap"].tolist()
    gentoo = answers.index[answers["species"] == "Gentoo"].tolist()
    aligned = _labels(penguins)
    aligned.loc[chinstrap[:6], "species"] = "Adelie"
    aligned.loc[gentoo[:2], "species"] = "Chinstrap"
    n_c, n_g, n_a = len(chinstrap), len(gentoo), int((answers["species"] == "Adelie").sum())
    lines = error_breakdown(penguins.task, answers, aligned, penguins.features)
    assert lines == [
        f"recall per class: Chinstrap {(n_c - 6) / n_c:.2f} ({n_c} rows), Gentoo {(n_g - 2) / n_g:.2f} ({n_g} rows), "
        f"Adelie 1.00 ({n_a} rows)",
        "most confused: true Chinstrap predicted Adelie (6 rows), true Gentoo predicted Chinstrap (2 rows)",
    ]


def test_error_breakdown_of_probabilities_uses_the_likeliest_class(hpc: Dev) -> None:
    lines = error_breakdown(hpc.task, hpc.answers, _probabilities(hpc, {"L": "VF", "M": "F"}), None)
    n_l, n_m = (int((hpc.answers["class"] == c).sum()) for c in ("L", "M"))
    assert lines[0].startswith(f"recall per class: {'L' if n_l >= n_m else 'M'} 0.00")
    assert {"L 0.00", "M 0.00", "F 1.00", "VF 1.00"} <= {" ".join(p.split()[:2]) for p in lines[0][18:].split(", ")}
    first, second = sorted([("L", "VF", n_l), ("M", "F", n_m)], key=lambda x: -x[2])
    assert lines[1] == (f"most confused: true {first[0]} predicted {first[1]} ({first[2]} rows), "
                        f"true {second[0]} predicted {second[1]} ({second[2]} rows)")


def test_error_breakdown_of_one_probability_column_ranks_and_finds_the_worst_category() -> None:
    """A ranking metric is told how the predictions rank the positive class and where they are wrong, not recall at a
    0.5 threshold (every lending-club attempt of stop 23 had recall 0.00 of its 5 % positives, whatever its AUC)."""
    rng = np.random.default_rng(8)
    task, answers = _binary(10, rng)
    is_l = (answers["class"] == "L").to_numpy()
    probs = np.where(is_l, 0.4, 0.1)  # every L row under one half, yet ranked first: recall 0.00, AUC 1
    grade = np.where(np.arange(40) % 4 == 0, "E", "A")
    probs[(grade == "E") & is_l] = 0.05  # the L rows of grade E ranked last
    lines = error_breakdown(task, answers, pd.DataFrame({"id": answers["id"], "L": probs}),
                            pd.DataFrame({"id": answers["id"], "grade": grade, "class": answers["class"]}))
    n_e = int(((grade == "E") & is_l).sum())
    assert 0 < n_e < 10
    error = np.abs(is_l - probs)
    assert lines[0] == f"mean predicted probability of L: {probs.mean():.3g} against its rate 0.25 (10 of 40 rows)"
    top = np.argsort(-probs, kind="stable")[:4]
    assert lines[1] == f"L among the 10% highest predictions: {is_l[top].mean():.2f} (rate 0.25 overall)"
    assert is_l[top].all()  # four of the L rows outside grade E
    assert lines[2] == (f"by grade: largest error at grade=E (mean {error[grade == 'E'].mean():.3g} vs {error.mean():.3g} "
                        f"overall, 10 rows)")
    assert len(lines) == 3  # neither the id nor the target column counts as a category


def test_error_breakdown_of_regression_by_decile_and_category(delivery: Dev) -> None:
    answers, features = delivery.answers, delivery.features
    order = np.argsort(answers["time_to_delivery"].to_numpy(dtype=float), kind="stable")
    error = np.ones(len(answers))
    error[np.array_split(order, 10)[-1]] = 10.0
    lines = error_breakdown(delivery.task, answers, _regression(delivery, error), None)
    assert lines == ["abs error by true-value decile (low→high): 1 1 1 1 1 1 1 1 1 10"]
    saturday = (features["day"] == "Sat").to_numpy()
    error = np.where(saturday, -9.0, 1.0)  # predictions no longer in the order of the true values
    # the id and target columns never count as categories, even when they have few values
    features = features.assign(id=saturday.astype(int), time_to_delivery=saturday.astype(int))
    lines = error_breakdown(delivery.task, answers, _regression(delivery, error), features)
    deciles = [np.mean(np.abs(error)[rows]) for rows in np.array_split(order, 10)]
    assert lines[0] == "abs error by true-value decile (low→high): " + " ".join(f"{v:.3g}" for v in deciles)
    overall = float(np.mean(np.abs(error)))
    assert lines[1] == f"by day: largest error at day=Sat (mean 9 vs {overall:.3g} overall, {int(saturday.sum())} rows)"
    assert 2 <= len(lines) <= 6 and all(len(line) <= 160 for line in lines)
    assert not any(line.startswith(("by id:", "by time_to_delivery:", "by distance:", "by hour:")) for line in lines)


def test_error_breakdown_never_raises(penguins: Dev, delivery: Dev, hpc: Dev) -> None:
    garbage = pd.DataFrame({"x": [1, 2]})
    assert error_breakdown(penguins.task, penguins.answers, garbage, None) == []
    assert error_breakdown(hpc.task, hpc.answers, garbage, None) == []
    assert error_breakdown(delivery.task, delivery.answers, garbage, garbage) == []
    nan = _regression(delivery, np.full(len(delivery.answers), np.nan))
    assert error_breakdown(delivery.task, delivery.answers, nan, delivery.features) == []
    assert error_breakdown(delivery.task, delivery.answers.iloc[:0], nan.iloc[:0], None) == []


# ---------------------------------------------------------------- self-reported score


def test_self_reported_score_reads_the_last_line() -> None:
    out = "epoch 1\nvalidation_score: 0.5\nnoise validation_score: 9\nVALIDATION_SCORE:  0.75 \ndone\n"
    assert self_reported_score(out) == 0.75
    assert self_reported_score("validation_score: 1e-3") == 0.001
    assert self_reported_score("validation_score: 0.5\nvalidation_score: nan\n") is None
    assert self_reported_score("validation_score: inf") is None
    assert self_reported_score("validation_score: 1.2.3") is None
    assert self_reported_score("score: 0.5\n") is None
    assert self_reported_score("") is None


# ---------------------------------------------------------------- the Evidence record


def test_submission_evidence_fills_every_field(delivery: Dev, tmp_path: Path) -> None:
    task, answers, n = delivery.task, delivery.answers, len(delivery.answers)
    saturday = (delivery.features["day"] == "Sat").to_numpy()
    submission = _regression(delivery, np.where(saturday, 8.0, 1.0))
    shifted = submission.copy()
    shifted.loc[:39, "time_to_delivery"] += 3.0
    refs = {
        "gone": tmp_path / "gone.csv",
        "short": _write(submission.iloc[5:], tmp_path / "short.csv"),
        "parent": _write(shifted, tmp_path / "parent.csv"),
        "twin": _write(submission.sample(frac=1.0, random_state=1), tmp_path / "twin.csv"),
        "twin2": _write(submission, tmp_path / "twin2.csv"),
    }
    path = _write(submission, tmp_path / "submission.csv")
    # the dev test.csv in another row order: the features must still be matched to the answers by id
    test = pd.read_csv(delivery.split.input_dir / "test.csv", dtype={"id": str}).sample(frac=1.0, random_state=2)
    split = delivery.split.model_copy(update={"input_dir": _write(test, tmp_path / "input" / "test.csv").parent})
    evidence = submission_evidence(task, split, path, refs, "validation_score: 0.1\nvalidation_score: 3.5\n",
                                   parent="parent", n_boot=50, seed=2)
    assert isinstance(evidence, Evidence)
    assert evidence.changed_share == 40 / n
    assert evidence.change_size == pytest.approx(40 / n * 3.0 / float(np.std(shifted["time_to_delivery"])))
    assert evidence.identical_to == "twin"
    assert evidence.self_score == 3.5
    assert evidence.noise == bootstrap_noise(task, answers, submission, n_boot=50, seed=2)
    assert evidence.errors == error_breakdown(task, answers, submission, delivery.features)
    assert evidence.errors[1].startswith("by day: largest error at day=Sat (mean 8 ")


def test_submission_evidence_without_parent_or_valid_submission(penguins: Dev, tmp_path: Path) -> None:
    task = penguins.task
    perfect = _write(_labels(penguins), tmp_path / "perfect.csv")
    sample = penguins.split.input_dir / "sample_submission.csv"
    evidence = submission_evidence(task, penguins.split, sample, {"first": sample, "best": perfect}, "",
                                   parent="absent")
    assert evidence.changed_share is None and evidence.change_size is None
    assert evidence.identical_to == "first" and evidence.self_score is None
    assert evidence.noise is not None and evidence.noise > 0
    constant = pd.read_csv(sample)["species"].iloc[0]  # the sample predicts one species for every row
    rows = int((penguins.answers["species"] == constant).sum())
    assert evidence.errors[0].startswith("recall per class: ")
    assert evidence.errors[0].endswith(f"{constant} 1.00 ({rows} rows)")  # worst first: the zeros come before
    assert evidence.errors[1].startswith("most confused: ") and f"predicted {constant} " in evidence.errors[1]
    against = submission_evidence(task, penguins.split, perfect, {"sample": sample}, "", parent="sample")
    assert against.changed_share == float((penguins.answers["species"] != constant).mean())
    assert against.identical_to == ""
    broken = _write(_labels(penguins).iloc[3:], tmp_path / "broken.csv")
    assert submission_evidence(task, penguins.split, broken, {"best": perfect}, "validation_score: 0.9") == \
        Evidence(self_score=0.9)
