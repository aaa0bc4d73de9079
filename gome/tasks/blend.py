"""Blending submissions: a weighted combination of several scripts' predictions, by the metric's kind.

Probabilities and regression targets are averaged; ordinal labels (qwk) are averaged, then rounded;
other labels are voted on. Weights come from greedy forward selection with replacement (Caruana et al.,
2004) on the dev split, and the blend's dev score is measured out of fold: the weights fitted on one half
of the dev rows predict the other half, so a blend that only fits the dev split's noise scores no better
than its best member."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gome.tasks.metrics import prediction_columns
from gome.tasks.task import Task

__all__ = ["combine", "search_weights", "cross_fitted"]

ROUNDS = 12  # members added by the greedy search (with replacement): weights are multiples of 1/ROUNDS or coarser
START = 3  # the best member's count before the first addition: a newcomer first joins at weight 1/(START+1)


def _average(frames: Sequence[pd.DataFrame], column: str, weights: np.ndarray) -> np.ndarray:
    values = np.column_stack([pd.to_numeric(f[column]).to_numpy(dtype=float) for f in frames])
    return values @ weights


def _vote(frames: Sequence[pd.DataFrame], column: str, weights: np.ndarray) -> np.ndarray:
    """The label with the most weight in each row; a tie goes to the earlier member (frames come best first)."""
    labels = np.column_stack([f[column].astype(str).to_numpy(dtype=object) for f in frames])
    codes, uniques = pd.factorize(labels.ravel())
    codes = codes.reshape(labels.shape)
    votes = np.zeros((len(labels), len(uniques)))
    tiebreak = weights + 1e-9 * np.arange(len(weights), 0, -1)
    for j in range(labels.shape[1]):
        np.add.at(votes, (np.arange(len(labels)), codes[:, j]), tiebreak[j] if weights[j] > 0 else 0.0)
    return np.asarray(uniques, dtype=object)[votes.argmax(axis=1)]


def combine(task: Task, frames: Sequence[pd.DataFrame], weights: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """The blend of aligned submissions (same ids in the same order) with `weights` (normalised here)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    metric = task.metric_spec
    out = frames[0][[task.id_column]].copy()
    columns = prediction_columns(task)
    for column in columns:
        if metric.kind == "label" and not metric.numeric:
            out[column] = _vote(frames, column, w)
        elif metric.kind == "label":  # ordinal: averaged before rounding
            out[column] = np.floor(_average(frames, column, w) + 0.5).astype(np.int64)  # halves round up
        else:
            out[column] = _average(frames, column, w)
    if metric.kind == "probability" and len(columns) > 1:  # class probabilities still sum to one
        out[columns] = out[columns].div(out[columns].sum(axis=1).replace(0, 1), axis=0)
    return out


def _score(task: Task, answers: pd.DataFrame, frame: pd.DataFrame) -> float:
    """The metric in its own direction, NaN when it cannot be computed on these rows."""
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = task.metric_spec.score(answers.reset_index(drop=True), frame.reset_index(drop=True), task)
        return value if math.isfinite(value) else math.nan
    return math.nan


def search_weights(task: Task, answers: pd.DataFrame, frames: Sequence[pd.DataFrame], rounds: int = ROUNDS) -> np.ndarray:
    """Greedy forward selection with replacement: start from the best member, add whichever member (again)
    improves the blend most, stop when none does. Returns weights that sum to one."""
    sign = -1.0 if task.lower_is_better else 1.0

    def value(counts: np.ndarray) -> float:
        score = _score(task, answers, combine(task, frames, counts))
        return sign * score if math.isfinite(score) else -math.inf

    singles = [value(np.eye(len(frames))[j]) for j in range(len(frames))]
    counts = START * np.eye(len(frames))[int(np.argmax(singles))]
    current = max(singles)
    for _ in range(rounds - 1):
        trials = [value(counts + np.eye(len(frames))[j]) for j in range(len(frames))]
        best = int(np.argmax(trials))
        if not trials[best] > current + 1e-12:
            break
        counts, current = counts + np.eye(len(frames))[best], trials[best]
    return counts / counts.sum()


def cross_fitted(task: Task, answers: pd.DataFrame, frames: Sequence[pd.DataFrame], seed: int = 0,
                 rounds: int = ROUNDS) -> pd.DataFrame:
    """The blend's out-of-fold predictions: the dev rows are halved at random; each half is predicted with
    the weights searched on the other half. Aligned like `frames`."""
    n = len(answers)
    rows = np.random.default_rng(seed).permutation(n)
    halves = (np.sort(rows[: n // 2]), np.sort(rows[n // 2:]))
    parts = []
    for fit, predict in (halves, halves[::-1]):
        weights = search_weights(task, answers.iloc[fit], [f.iloc[fit] for f in frames], rounds)
        parts.append(combine(task, [f.iloc[predict] for f in frames], weights).set_index(pd.Index(predict)))
    return pd.concat(parts).sort_index().reset_index(drop=True)
