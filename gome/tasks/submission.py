"""Submission checks: columns, ids, missing values, numbers and probability ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gome.tasks._io import read_table
from gome.tasks.errors import SubmissionError
from gome.tasks.metrics import prediction_columns
from gome.tasks.task import Task

__all__ = ["read_submission", "validate_submission"]


def read_submission(task: Task, path: Path | str) -> pd.DataFrame:
    """Read a submission CSV (ids as strings); SubmissionError if missing or unreadable."""
    return read_table(Path(path), task.id_column, submission=True)


def _check_columns(task: Task, submission: pd.DataFrame) -> None:
    got = [str(c) for c in submission.columns]
    want = list(task.submission_columns)
    missing = [c for c in want if c not in got]
    if missing:
        raise SubmissionError(f"submission lacks column {missing[0]!r}; expected columns {want}")
    extra = [c for c in got if c not in want]
    if extra or len(got) != len(want):
        name = extra[0] if extra else "a repeated column"
        raise SubmissionError(f"submission has unexpected column {name!r}; expected columns {want}")


def _check_ids(task: Task, ids: pd.Series, expected: pd.Series) -> None:
    col = task.id_column
    if ids.isna().any():
        raise SubmissionError(f"submission column {col!r} has empty ids")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise SubmissionError(f"submission column {col!r} repeats id {dup.iloc[0]!r}")
    missing = expected[~expected.isin(ids)]
    if len(missing):
        raise SubmissionError(f"submission lacks {len(missing)} ids, e.g. {missing.iloc[0]!r} in column {col!r}")
    extra = ids[~ids.isin(expected)]
    if len(extra):
        raise SubmissionError(f"submission has {len(extra)} unknown ids, e.g. {extra.iloc[0]!r} in column {col!r}")


def _check_values(task: Task, frame: pd.DataFrame) -> pd.DataFrame:
    metric = task.metric_spec
    for col in prediction_columns(task):
        if frame[col].isna().any():
            raise SubmissionError(f"submission column {col!r} has {int(frame[col].isna().sum())} missing values")
        if not metric.numeric:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any() or not np.isfinite(values.to_numpy(dtype=float)).all():
            raise SubmissionError(f"submission column {col!r} must hold finite numbers for {metric.name}")
        if metric.kind == "probability" and ((values < 0) | (values > 1)).any():
            raise SubmissionError(f"submission column {col!r} must hold probabilities in [0, 1]")
        frame[col] = values
    return frame


def validate_submission(task: Task, submission: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Check a submission against the task and answers; return it in the answers' id order."""
    _check_columns(task, submission)
    col = task.id_column
    expected = answers[col].astype(str).reset_index(drop=True)
    frame = submission[list(task.submission_columns)].copy()
    frame[col] = frame[col].where(frame[col].isna(), frame[col].astype(str))
    _check_ids(task, frame[col], expected)
    frame = frame.set_index(col).loc[expected].reset_index()
    return _check_values(task, frame)
