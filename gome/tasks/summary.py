"""A short, LLM-facing text summary of a task's data."""

from __future__ import annotations

import re

import pandas as pd

from gome.tasks._io import read_header, read_table
from gome.tasks.metrics import prediction_columns
from gome.tasks.task import Task

__all__ = ["task_summary", "task_description"]

_MAX_COLUMNS = 40
_FEW_VALUES = 10
_SHOW_VALUES = 5


def _is_categorical(series: pd.Series) -> bool:
    """Text, category or bool dtype, or a number with few distinct values."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    return series.nunique(dropna=True) <= _FEW_VALUES


def _column_line(name: str, series: pd.Series, task: Task) -> str:
    parts = [str(series.dtype)]
    if name == task.id_column:
        parts.append("id")
    elif name in task.target_columns:
        parts.append("TARGET")
    if name != task.id_column and _is_categorical(series):
        values = sorted(series.dropna().astype(str).unique())
        shown = "|".join(values[:_SHOW_VALUES]) + ("|..." if len(values) > _SHOW_VALUES else "")
        parts.append(f"categorical, {len(values)} values: {shown}")
    missing = int(series.isna().sum())
    if missing:
        parts.append(f"{missing} missing")
    return f"- {name} ({'; '.join(parts)})"


def _target_line(name: str, series: pd.Series, task: Task) -> str:
    if task.metric_spec.kind == "regression" and pd.api.types.is_numeric_dtype(series):
        return (
            f"Target {name}: mean {series.mean():.4g}, std {series.std():.4g}, "
            f"min {series.min():.4g}, max {series.max():.4g}"
        )
    counts = series.value_counts(dropna=False).head(_FEW_VALUES)
    shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
    more = " ..." if series.nunique(dropna=False) > _FEW_VALUES else ""
    return f"Target {name} class counts: {shown}{more}"


def task_summary(task: Task) -> str:
    """Shapes, columns with dtypes and roles, missing values, target distribution, submission and metric."""
    train = read_table(task.public_dir / "train.csv", task.id_column)
    test_columns = read_header(task.public_dir / "test.csv")
    n_test = len(pd.read_csv(task.public_dir / "test.csv", usecols=[task.id_column], dtype=str))
    direction = "lower is better" if task.lower_is_better else "higher is better"
    lines = [
        f"Task {task.name}: metric {task.metric} ({direction}).",
        f"train.csv: {train.shape[0]} rows x {train.shape[1]} columns; "
        f"test.csv: {n_test} rows x {len(test_columns)} columns (no target).",
        f"Id column: {task.id_column}. Target column(s): {', '.join(task.target_columns)}.",
        "Columns of train.csv:",
    ]
    for name in list(train.columns)[:_MAX_COLUMNS]:
        lines.append(_column_line(str(name), train[name], task))
    if train.shape[1] > _MAX_COLUMNS:
        lines.append(f"- ... and {train.shape[1] - _MAX_COLUMNS} more columns")
    lines += [_target_line(t, train[t], task) for t in task.target_columns if t in train.columns]
    preds = ", ".join(prediction_columns(task))
    lines.append(f"Submission: submission.csv with columns {', '.join(task.submission_columns)} "
                 f"(one row per test id; predictions in {preds}).")
    if task.submission_note:
        lines.append(f"Submission note: {task.submission_note}")
    return "\n".join(lines)


_KEY_PARAGRAPH = re.compile(r"metric|evaluat|score|submi|data|column|file|target|predict", re.IGNORECASE)


def task_description(task: Task, budget_tokens: int) -> str:
    """The task's description.md for the agents: all of it when it fits `budget_tokens` (about four
    characters a token), else its first paragraph and then the paragraphs about the metric, the data and
    the submission, in their order, as far as the budget goes."""
    text = task.description.strip()
    budget = budget_tokens * 4
    if len(text) <= budget:
        return text
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    chosen, used = [0], len(paragraphs[0]) if paragraphs else 0
    for index, paragraph in enumerate(paragraphs[1:], start=1):
        heading = paragraph.startswith("#") and index + 1 < len(paragraphs) and _KEY_PARAGRAPH.search(paragraphs[index + 1])
        if (heading or _KEY_PARAGRAPH.search(paragraph)) and used + len(paragraph) <= budget:
            chosen.append(index)
            used += len(paragraph) + 2
    kept = "\n\n".join(paragraphs[i] for i in chosen)
    return kept[:budget] + ("\n\n(description shortened to its parts about the metric, the data and the submission)"
                            if len(chosen) < len(paragraphs) else "")
