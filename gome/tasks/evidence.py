"""Evidence about a submission on the dev split: bootstrap noise, change against earlier attempts, errors."""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from gome.schema import Evidence
from gome.tasks._io import read_table
from gome.tasks.devsplit import DevSplit
from gome.tasks.errors import SubmissionError
from gome.tasks.metrics import _binary_truth, _class_truth, as_labels, positive_label, prediction_columns
from gome.tasks.submission import read_submission, validate_submission
from gome.tasks.task import Task

__all__ = ["aligned_predictions", "bootstrap_noise", "error_breakdown", "fold_gain", "paired_gain", "pooled_gain",
           "prediction_change", "self_reported_score", "fit_score", "submission_evidence"]

# the line a script prints with its own validation score (the harness reads it for self-reported tasks)
_SCORE_LINE = re.compile(r"^validation_score:\s*([-+0-9.eE]+|nan|inf)\s*$", re.MULTILINE | re.IGNORECASE)
# ... and the starter's line with its score on as many of the rows it was fit on (a gap to the first: overfitting)
_FIT_LINE = re.compile(r"^train_score:\s*([-+0-9.eE]+|nan|inf)\s*$", re.MULTILINE | re.IGNORECASE)
_MIN_VALID = 10  # scorable resamples needed for a standard error
_MAX_LINE = 160
RowScore = Callable[[np.ndarray], float]  # the score of the rows at the given positions


def aligned_predictions(task: Task, answers: pd.DataFrame, submission: Path) -> pd.DataFrame:
    """The submission file validated and in the answers' id order; raises SubmissionError."""
    return validate_submission(task, read_submission(task, submission), answers)


def _f1_rows(task: Task, answers: pd.DataFrame, frame: pd.DataFrame) -> RowScore:
    """macro_f1 without sklearn's per-call cost: 2 tp / (true + predicted) per class present, averaged."""
    (target,) = task.target_columns  # several targets: the task's own metric
    codes = pd.factorize(np.concatenate([as_labels(answers[target]), as_labels(frame[target])]))[0]
    y, p, k = codes[: len(answers)], codes[len(answers):], int(codes.max(initial=0)) + 1

    def score(rows: np.ndarray) -> float:
        yr, pr = y[rows], p[rows]
        total = np.bincount(yr, minlength=k) + np.bincount(pr, minlength=k)
        return float(np.mean(2 * np.bincount(yr[yr == pr], minlength=k)[total > 0] / total[total > 0]))
    return score


def _auc_rows(task: Task, answers: pd.DataFrame, frame: pd.DataFrame) -> RowScore:
    """roc_auc without sklearn's per-call cost: Mann-Whitney ranks, one-vs-rest over the classes present."""
    columns = prediction_columns(task)
    probs = frame[columns].to_numpy(dtype=float)
    truth = ((_binary_truth(answers, task, columns[0]) == 1)[:, None] if len(columns) == 1
             else _class_truth(answers, task, columns)[:, None] == np.arange(len(columns)))

    def score(rows: np.ndarray) -> float:
        t, s, aucs = truth[rows], probs[rows], []
        for k in range(t.shape[1]):
            pos = int(t[:, k].sum())
            if 0 < pos < len(rows):
                aucs.append((rankdata(s[:, k])[t[:, k]].sum() - pos * (pos + 1) / 2) / (pos * (len(rows) - pos)))
        return float(np.mean(aucs)) if aucs else math.nan
    return score


_FAST: dict[str, Callable[[Task, pd.DataFrame, pd.DataFrame], RowScore]] = {"macro_f1": _f1_rows, "roc_auc": _auc_rows}


def _scorer(task: Task, answers: pd.DataFrame, frame: pd.DataFrame) -> RowScore:
    """Scores `frame` on the rows at given positions: the metric (or its fast twin), NaN where it fails."""
    try:
        fn = _FAST[task.metric](task, answers, frame)
    except Exception:  # noqa: BLE001 - no fast twin: the task's own metric on each resample
        fn = lambda rows: task.metric_spec.score(answers.iloc[rows], frame.iloc[rows], task)  # noqa: E731

    def score(rows: np.ndarray) -> float:
        with contextlib.suppress(Exception), warnings.catch_warnings():  # a resample that fails is skipped
            warnings.simplefilter("ignore")
            return value if math.isfinite(value := float(fn(rows))) else math.nan
        return math.nan
    return score


def _resamples(n: int, n_boot: int, seed: int) -> list[np.ndarray]:
    """`n_boot` draws of n row positions with replacement, from numpy's Generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=n) for _ in range(n_boot)] if n else []


def bootstrap_noise(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame, n_boot: int = 200,
                    seed: int = 0) -> float | None:
    """Bootstrap standard error of the score; None when fewer than 10 resamples could be scored."""
    score = _scorer(task, answers, aligned)
    scores = np.array([score(rows) for rows in _resamples(len(answers), n_boot, seed)], dtype=float)
    scores = scores[np.isfinite(scores)]
    return float(np.std(scores, ddof=1)) if len(scores) >= _MIN_VALID else None


def paired_gain(task: Task, answers: pd.DataFrame, new: pd.DataFrame, best: pd.DataFrame, n_boot: int = 200,
                seed: int = 0) -> tuple[float, float]:
    """Paired bootstrap (the same rows score both) of the gain of `new` over `best` in the task's direction:
    (mean gain, its standard error); (0.0, inf), no evidence either way, when under 10 resamples scored."""
    sign = -1.0 if task.lower_is_better else 1.0
    score_new, score_best = _scorer(task, answers, new), _scorer(task, answers, best)
    gains = np.array([sign * (score_new(r) - score_best(r)) for r in _resamples(len(answers), n_boot, seed)])
    gains = gains[np.isfinite(gains)]
    return (float(np.mean(gains)), float(np.std(gains, ddof=1))) if len(gains) >= _MIN_VALID else (0.0, math.inf)


def fold_gain(task: Task, split: DevSplit, new: Path, best: Path, n_boot: int = 200,
              seed: int = 0) -> tuple[float, float] | None:
    """The gain of the submission `new` over `best` on a split's held-out rows (the difference of their
    scores) and its paired-bootstrap standard error; None when either is invalid or no error can be had."""
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    try:
        a, b = aligned_predictions(task, answers, new), aligned_predictions(task, answers, best)
    except SubmissionError:
        return None
    rows, sign = np.arange(len(answers)), -1.0 if task.lower_is_better else 1.0
    gain = sign * (_scorer(task, answers, a)(rows) - _scorer(task, answers, b)(rows))
    se = paired_gain(task, answers, a, b, n_boot, seed)[1]
    return (gain, se) if math.isfinite(gain) and math.isfinite(se) else None


def pooled_gain(gains: list[float], ses: list[float]) -> tuple[float, float]:
    """The mean gain over dev folds whose held-out rows are disjoint, and its standard error: the larger of
    the rows' noise (√Σse² / n, the folds' rows being independent) and the spread of the folds' gains
    (stdev / √n), which also holds the noise of the models themselves (their seeds, their training rows)
    that a bootstrap of one split's rows does not see."""
    n = len(gains)
    rows = math.sqrt(sum(se * se for se in ses)) / n
    spread = float(np.std(gains, ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return float(np.mean(gains)), max(rows, spread)


def prediction_change(task: Task, new: pd.DataFrame, old: pd.DataFrame) -> tuple[float, float | None]:
    """(share of rows whose prediction differs, mean |change| per column in old's std (new's where old is
    constant), averaged over columns; None for labels)."""
    columns = prediction_columns(task)
    if len(new) == 0:
        return 0.0, None
    if not task.metric_spec.numeric:
        differs = np.any([as_labels(new[c]) != as_labels(old[c]) for c in columns], axis=0)
        return float(differs.mean()), None
    a, b = new[columns].to_numpy(dtype=float), old[columns].to_numpy(dtype=float)
    differs = ~np.isclose(a, b, rtol=1e-9, atol=0.0).all(axis=1)
    diff = np.mean(np.abs(a - b), axis=0)
    scale = np.where(np.std(b, axis=0) > 0, np.std(b, axis=0), np.std(a, axis=0))
    keep = (scale > 0) | (diff == 0)  # a column constant in both frames that changed has no scale: left out
    sizes = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)[keep]
    return float(differs.mean()), (float(np.mean(sizes)) if keep.any() else None)


def _class_predictions(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted class names, both as strings: the labels, or the likeliest of several probability columns
    (one probability column has `_binary_lines`)."""
    columns = prediction_columns(task)
    if task.metric_spec.kind == "label":
        return as_labels(answers[task.target_columns[0]]), as_labels(aligned[task.target_columns[0]])
    names = np.asarray(columns, dtype=object)
    return names[_class_truth(answers, task, columns)], names[np.argmax(aligned[columns].to_numpy(dtype=float), axis=1)]


def _join(head: str, parts: list[str]) -> str:
    """`head` then as many comma-separated parts as fit in one line."""
    line = head + ", ".join(parts)
    cut = line.rfind(", ", 0, _MAX_LINE + 1)
    return line if len(line) <= _MAX_LINE or cut < 0 else line[:cut]


def _classification_lines(truth: np.ndarray, pred: np.ndarray) -> list[str]:
    """Recall per class (worst first) and the two largest confusions."""
    classes = sorted(set(truth))
    recall = {c: (float(np.mean(pred[truth == c] == c)), int((truth == c).sum())) for c in classes}
    worst = sorted(classes, key=lambda c: (recall[c][0], -recall[c][1], c))[:8]
    lines = [_join("recall per class: ", [f"{c[:24]} {recall[c][0]:.2f} ({recall[c][1]} rows)" for c in worst])]
    top = sorted(Counter((t, p) for t, p in zip(truth, pred) if t != p).items(), key=lambda i: (-i[1], i[0]))[:2]
    if top:
        lines.append(_join("most confused: ", [f"true {t[:24]} predicted {p[:24]} ({n} rows)" for (t, p), n in top]))
    return lines


def _group_lines(features: pd.DataFrame, error: np.ndarray, skip: set[str]) -> list[str]:
    """For up to 3 columns of 2..10 distinct values (most excess error first): the value of largest mean error."""
    overall = float(np.mean(error))
    found = []
    for col in features.columns:
        if col in skip or not 2 <= features[col].nunique(dropna=True) <= 10:
            continue
        groups = pd.Series(error).groupby(features[col].to_numpy(), dropna=True, sort=False).agg(["mean", "size"])
        groups = groups[groups["size"] >= 5].sort_values("mean", ascending=False, kind="stable")
        if groups.empty:  # a value seen on a handful of rows says little
            continue
        value, mean, size = groups.index[0], float(groups["mean"].iloc[0]), int(groups["size"].iloc[0])
        name, shown = str(col)[:30], str(int(value) if isinstance(value, float) and value.is_integer() else value)
        found.append(((mean - overall) * math.sqrt(size), f"by {name}: largest error at {name}={shown[:30]} "
                      f"(mean {mean:.3g} vs {overall:.3g} overall, {size} rows)"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])[:3]]


def _regression_lines(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame,
                      features: pd.DataFrame | None) -> list[str]:
    """Mean absolute error by decile of the true value, and the worst value of a few categorical columns."""
    target = task.target_columns[0]  # several targets: the first
    truth, pred = (pd.to_numeric(f[target], errors="coerce").to_numpy(dtype=float) for f in (answers, aligned))
    error = np.abs(truth - pred)
    if len(error) < 10 or not np.all(np.isfinite(error)):
        return []
    deciles = [float(np.mean(error[chunk])) for chunk in np.array_split(np.argsort(truth, kind="stable"), 10)]
    lines = ["abs error by true-value decile (low→high): " + " ".join(f"{v:.3g}" for v in deciles)]
    if features is not None and len(features) == len(error):
        lines += _group_lines(features.reset_index(drop=True), error, {task.id_column, *task.target_columns})
    return lines


def _binary_lines(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame, features: pd.DataFrame | None) -> list[str]:
    """One probability column (roc_auc, log_loss of two classes): how the predictions rank and fit the positive class,
    and the categories where the probability of the wrong class is largest. (Recall at a 0.5 threshold told a
    ranking metric nothing: in the stop-23 cells, lending-club's 72 "bad" dev rows of 1,380 had recall 0.00 at every
    attempt, whatever its AUC.)"""
    (column,) = prediction_columns(task)
    truth, probs = _binary_truth(answers, task, column), aligned[column].to_numpy(dtype=float)
    if len(truth) < 10 or not np.all(np.isfinite(probs)):
        return []
    positive = positive_label(task, column, sorted(set(as_labels(answers[task.target_columns[0]]))))[:24]
    rate, top = float(truth.mean()), np.argsort(-probs, kind="stable")[: max(1, len(truth) // 10)]
    lines = [f"mean predicted probability of {positive}: {probs.mean():.3g} against its rate {rate:.3g} "
             f"({int(truth.sum())} of {len(truth)} rows)",
             f"{positive} among the 10% highest predictions: {truth[top].mean():.2f} (rate {rate:.2f} overall)"]
    if features is not None and len(features) == len(truth):
        error = np.abs(truth - probs)  # the probability given to the wrong class
        lines += _group_lines(features.reset_index(drop=True), error, {task.id_column, *task.target_columns})
    return lines


def error_breakdown(task: Task, answers: pd.DataFrame, aligned: pd.DataFrame,
                    features: pd.DataFrame | None) -> list[str]:
    """A few lines (at most 6) on where the errors are; [] when the data does not allow it."""
    with contextlib.suppress(Exception):  # evidence is best effort: odd data gives no lines
        if task.metric_spec.kind == "regression":
            lines = _regression_lines(task, answers, aligned, features)
        elif task.metric_spec.kind == "probability" and len(prediction_columns(task)) == 1:
            lines = _binary_lines(task, answers, aligned, features)
        else:
            lines = _classification_lines(*_class_predictions(task, answers, aligned))
        return [line[:_MAX_LINE] for line in lines[:6]]
    return []


def self_reported_score(stdout: str) -> float | None:
    """The number on the last `validation_score: X` line, None when there is none or it is not finite."""
    return _last_number(_SCORE_LINE, stdout)


def fit_score(stdout: str) -> float | None:
    """The number on the last `train_score: X` line (the starter's score on rows the model was fit on)."""
    return _last_number(_FIT_LINE, stdout)


def _last_number(line: re.Pattern[str], stdout: str) -> float | None:
    found = line.findall(stdout or "")
    with contextlib.suppress(IndexError, ValueError):  # no line, or e.g. "1.2.3", which the pattern matches
        return value if math.isfinite(value := float(found[-1])) else None
    return None


def _dev_features(task: Task, split: DevSplit, answers: pd.DataFrame) -> pd.DataFrame | None:
    """The dev test.csv in the answers' id order, None when it cannot be aligned."""
    with contextlib.suppress(Exception):  # features only add lines to the breakdown
        test = read_table(split.input_dir / "test.csv", task.id_column)
        return test.set_index(task.id_column).reindex(answers[task.id_column].astype(str).to_numpy()).reset_index()
    return None


def _reference(task: Task, answers: pd.DataFrame, path: Path) -> pd.DataFrame | None:
    """An earlier attempt's predictions aligned to the answers; None when missing or invalid."""
    with contextlib.suppress(SubmissionError):
        return aligned_predictions(task, answers, path)
    return None


def submission_evidence(task: Task, split: DevSplit, submission: Path, references: dict[str, Path], stdout: str,
                        parent: str | None = None, best: str | None = None, n_boot: int = 200,
                        seed: int = 0) -> Evidence:
    """Evidence about a dev-run submission; an invalid submission gives only the self-reported score. With
    `best` (an id in `references`), the paired-bootstrap standard error of the gain over it, for acceptance."""
    self_score, fit = self_reported_score(stdout), fit_score(stdout)
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    try:
        aligned = aligned_predictions(task, answers, submission)
    except SubmissionError:
        return Evidence(self_score=self_score, fit_score=fit)
    loaded = {ref_id: _reference(task, answers, path) for ref_id, path in references.items()}
    old = loaded.get(parent) if parent is not None else None
    changed, size = prediction_change(task, aligned, old) if old is not None else (None, None)
    same = (r for r, o in loaded.items() if o is not None and prediction_change(task, aligned, o)[0] == 0.0)
    errors = error_breakdown(task, answers, aligned, _dev_features(task, split, answers))
    top = loaded.get(best) if best is not None else None
    gain_se = paired_gain(task, answers, aligned, top, n_boot, seed)[1] if top is not None else None
    return Evidence(noise=bootstrap_noise(task, answers, aligned, n_boot, seed), changed_share=changed,
                    change_size=size, identical_to=next(same, ""), errors=errors, self_score=self_score, fit_score=fit,
                    vs_best=best if best is not None and gain_se is not None and math.isfinite(gain_se) else "",
                    gain_se=gain_se if gain_se is not None and math.isfinite(gain_se) else None)
