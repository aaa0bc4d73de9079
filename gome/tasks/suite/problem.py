"""What reference solutions share: the problem's shape, holdout splits, scoring and submission writing."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import train_test_split

from gome.tasks._io import read_table
from gome.tasks.metrics import as_labels, positive_label, prediction_columns
from gome.tasks.suite.spec import TaskSpec
from gome.tasks.task import Task

__all__ = ["Problem", "blend_weight", "holdout", "load_problem"]


class Problem(BaseModel):
    """A loaded task for reference solutions: train/test frames, target, classes and how predictions are read."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    task: Task
    spec: TaskSpec
    train: pd.DataFrame
    test: pd.DataFrame
    y: np.ndarray
    classes: tuple[str, ...]

    @property
    def classify(self) -> bool:
        return bool(self.classes)

    @property
    def log_target(self) -> bool:
        return self.task.metric == "rmsle"

    def score(self, y_true: np.ndarray, pred: np.ndarray) -> float:
        """The task metric of predictions (class probabilities or values) against true targets."""
        ids = pd.Series([f"r{k}" for k in range(len(y_true))])
        answers = pd.DataFrame({self.task.id_column: ids, self.task.target_columns[0]: y_true})
        return self.task.metric_spec.score(answers, self.submission(ids, pred), self.task)

    def submission(self, ids: pd.Series, pred: np.ndarray) -> pd.DataFrame:
        """A submission frame in the task's format from class probabilities (n x classes) or values."""
        frame = pd.DataFrame({self.task.id_column: ids.to_numpy()})
        columns = prediction_columns(self.task)
        if not self.classify:
            values = np.clip(pred, 0, None) if self.log_target else pred
            frame[columns[0]] = np.round(values, 6)
        elif self.task.metric_spec.kind == "probability" and len(columns) == 1:
            positive = positive_label(self.task, columns[0], list(self.classes))
            frame[columns[0]] = np.round(pred[:, self.classes.index(positive)], 6)
        elif self.task.metric_spec.kind == "probability":
            for col in columns:
                frame[col] = np.round(pred[:, self.classes.index(col)], 6)
        elif self.task.metric == "qwk":
            grades = np.array([float(c) for c in self.classes])
            expected = pred @ grades
            frame[columns[0]] = np.clip(np.rint(expected), grades.min(), grades.max()).astype(int)
        else:
            frame[columns[0]] = np.asarray(self.classes, dtype=object)[pred.argmax(axis=1)]
        return frame


def load_problem(task: Task, spec: TaskSpec) -> Problem:
    """Read the task's public train and test files (never private/) into a Problem."""
    train = read_table(task.public_dir / "train.csv", task.id_column)
    test = read_table(task.public_dir / "test.csv", task.id_column)
    target = task.target_columns[0]
    if task.metric_spec.kind == "regression":
        y, classes = train[target].to_numpy(dtype=float), ()
    else:
        y = as_labels(train[target])
        classes = tuple(sorted(set(y), key=lambda c: (float(c), c) if _is_number(c) else (np.inf, c)))
    return Problem(task=task, spec=spec, train=train, test=test, y=y, classes=classes)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def holdout(problem: Problem, share: float = 0.2, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fit and validation row positions: the latest rows when split by time, else a seeded stratified draw.

    `limit` > 0 caps the number of rows used (the latest ones, or a seeded sample)."""
    n = len(problem.train)
    rows = np.arange(n)
    if problem.spec.split == "time":
        rows = rows[-limit:] if limit and n > limit else rows
        cut = int(len(rows) * (1 - share))
        return rows[:cut], rows[cut:]
    if limit and n > limit:
        rows = np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))
    strata = problem.y[rows] if problem.classify else None
    fit, val = train_test_split(rows, test_size=share, random_state=0, stratify=strata)
    return np.sort(fit), np.sort(val)


def blend_weight(problem: Problem, y_val: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """The weight w in {0, 0.1, ..., 1} of `first` in w*first + (1-w)*second that scores best on validation."""
    best_w, best = 1.0, None
    for w in np.linspace(0, 1, 11):
        score = problem.score(y_val, w * first + (1 - w) * second)
        better = best is None or (score < best if problem.task.lower_is_better else score > best)
        if better:
            best_w, best = float(w), score
    return best_w
