"""Metric registry: each metric scores answers against a submission aligned on the id column."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score

from gome.tasks.errors import SubmissionError, TaskError

if TYPE_CHECKING:
    from gome.tasks.task import Task

__all__ = ["Metric", "METRICS", "get_metric", "as_labels", "positive_label", "prediction_columns"]

_EPS = 1e-15
ScoreFn = Callable[[pd.DataFrame, pd.DataFrame, "Task"], float]
MetricKind = Literal["label", "regression", "probability"]


class Metric(BaseModel):
    """A named metric with its direction and the kind of predictions it reads."""

    model_config = ConfigDict(frozen=True)

    name: str
    lower_is_better: bool
    kind: MetricKind
    numeric: bool
    fn: Callable[..., float] = Field(exclude=True, repr=False)

    def score(self, answers: pd.DataFrame, submission: pd.DataFrame, task: "Task") -> float:
        """Score aligned frames (same row order of ids); returns a plain float."""
        return float(self.fn(answers, submission, task))


def prediction_columns(task: "Task") -> list[str]:
    """The submission columns that hold predictions (all but the id column)."""
    return [c for c in task.submission_columns if c != task.id_column]


def as_labels(series: pd.Series) -> np.ndarray:
    """Labels as strings, with integral numbers written without a decimal point."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float)
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return np.array([str(int(v)) for v in values], dtype=object)
        return np.array([str(float(v)) for v in values], dtype=object)
    return series.astype(str).to_numpy(dtype=object)


def _per_target(fn: Callable[[pd.Series, pd.Series], float]) -> ScoreFn:
    """Apply a column metric to every target column and average."""

    def score(answers: pd.DataFrame, submission: pd.DataFrame, task: "Task") -> float:
        return float(np.mean([fn(answers[c], submission[c]) for c in task.target_columns]))

    return score


def _numbers(series: pd.Series, column: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise SubmissionError(f"column {column!r}: every value must be a number")
    return values


def _accuracy(y: pd.Series, p: pd.Series) -> float:
    return float(np.mean(as_labels(y) == as_labels(p)))


def _macro_f1(y: pd.Series, p: pd.Series) -> float:
    return float(f1_score(as_labels(y), as_labels(p), average="macro"))


def _qwk(y: pd.Series, p: pd.Series) -> float:
    pred = _numbers(p, str(p.name))
    if not np.all(pred == np.round(pred)):
        raise SubmissionError(f"column {p.name!r}: qwk needs integer class labels")
    true = _numbers(y, str(y.name)).astype(np.int64)
    return float(cohen_kappa_score(true, pred.astype(np.int64), weights="quadratic"))


def _rmse(y: pd.Series, p: pd.Series) -> float:
    diff = _numbers(y, str(y.name)) - _numbers(p, str(p.name))
    return float(np.sqrt(np.mean(diff**2)))


def _mae(y: pd.Series, p: pd.Series) -> float:
    return float(np.mean(np.abs(_numbers(y, str(y.name)) - _numbers(p, str(p.name)))))


def _rmsle(y: pd.Series, p: pd.Series) -> float:
    pred = _numbers(p, str(p.name))
    negatives = int((pred < 0).sum())
    if negatives:
        raise SubmissionError(f"column {p.name!r}: rmsle needs predictions >= 0, {negatives} are negative")
    diff = np.log1p(pred) - np.log1p(_numbers(y, str(y.name)))
    return float(np.sqrt(np.mean(diff**2)))


def positive_label(task: "Task", column: str, classes: list[str]) -> str:
    """The class a single probability column stands for: its name, else `positive_class`, else '1' of 0/1."""
    if column in classes:
        return column
    if task.positive_class:
        return task.positive_class
    if set(classes) <= {"0", "1"}:
        return "1"
    raise TaskError(
        f"probability column {column!r} names no class of {classes}; set positive_class in config.yaml"
    )


def _truth_labels(answers: pd.DataFrame, task: "Task", columns: list[str]) -> np.ndarray:
    """Answer labels: the target column, or (MLE-bench style one-hot answers) the column of the largest value."""
    target = task.target_columns[0]
    if target in answers.columns:
        return as_labels(answers[target])
    values = answers[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.asarray(columns, dtype=object)[np.nanargmax(values, axis=1)]


def _binary_truth(answers: pd.DataFrame, task: "Task", column: str) -> np.ndarray:
    """0/1 truth for a single probability column (see `positive_label`)."""
    labels = _truth_labels(answers, task, [column])
    positive = positive_label(task, column, sorted(set(labels)))
    return (labels == positive).astype(np.int64)


def _class_truth(answers: pd.DataFrame, task: "Task", columns: list[str]) -> np.ndarray:
    """Index of each row's true class among the probability columns."""
    labels = _truth_labels(answers, task, columns)
    unknown = sorted(set(labels) - set(columns))
    if unknown:
        raise TaskError(f"answers hold class {unknown[0]!r} which has no column in the submission format")
    position = {c: i for i, c in enumerate(columns)}
    return np.array([position[v] for v in labels], dtype=np.int64)


def _roc_auc(answers: pd.DataFrame, submission: pd.DataFrame, task: "Task") -> float:
    columns = prediction_columns(task)
    probs = submission[columns].to_numpy(dtype=float)
    if len(columns) == 1:
        return float(roc_auc_score(_binary_truth(answers, task, columns[0]), probs[:, 0]))
    truth = _class_truth(answers, task, columns)
    present = [k for k in range(len(columns)) if 0 < (truth == k).sum() < len(truth)]
    return float(np.mean([roc_auc_score(truth == k, probs[:, k]) for k in present]))


def _log_loss(answers: pd.DataFrame, submission: pd.DataFrame, task: "Task") -> float:
    columns = prediction_columns(task)
    probs = np.clip(submission[columns].to_numpy(dtype=float), _EPS, 1 - _EPS)
    if len(columns) == 1:
        truth = _binary_truth(answers, task, columns[0])
        p = probs[:, 0]
        return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))
    probs = probs / probs.sum(axis=1, keepdims=True)
    truth = _class_truth(answers, task, columns)
    return float(-np.mean(np.log(probs[np.arange(len(truth)), truth])))


def _metric(name: str, lower: bool, kind: MetricKind, numeric: bool, fn: ScoreFn) -> Metric:
    return Metric(name=name, lower_is_better=lower, kind=kind, numeric=numeric, fn=fn)


METRICS: dict[str, Metric] = {
    "accuracy": _metric("accuracy", False, "label", False, _per_target(_accuracy)),
    "macro_f1": _metric("macro_f1", False, "label", False, _per_target(_macro_f1)),
    "qwk": _metric("qwk", False, "label", True, _per_target(_qwk)),
    "roc_auc": _metric("roc_auc", False, "probability", True, _roc_auc),
    "log_loss": _metric("log_loss", True, "probability", True, _log_loss),
    "rmse": _metric("rmse", True, "regression", True, _per_target(_rmse)),
    "rmsle": _metric("rmsle", True, "regression", True, _per_target(_rmsle)),
    "mae": _metric("mae", True, "regression", True, _per_target(_mae)),
}


def get_metric(name: str) -> Metric:
    """The registered metric called `name`; TaskError listing the known ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise TaskError(f"unknown metric {name!r}; known metrics: {', '.join(sorted(METRICS))}") from None
