"""The shape of a task's test split, so that the harness's dev split can copy it.

A forecast: a column that parses as datetimes in which every test row is later than every train row
(the dev split then holds out train's latest rows). Repeated entities: an id-like column (integers or
text, each value on two rows or more on average) whose values in test never occur in train (the dev
split then holds out whole groups). Detected at `tasks adopt` / `tasks new` time, or set by option.
"""

from __future__ import annotations

import warnings

import pandas as pd
from pydantic import BaseModel, ConfigDict

from gome.tasks.errors import TaskError

__all__ = ["SplitShape", "detect_group_column", "detect_time_column", "parse_times", "split_shape"]

_SAMPLE = 200  # values parsed to qualify a column before all of them are


class SplitShape(BaseModel):
    """The columns that shape the dev split ("" when none) and the one line that says why."""

    model_config = ConfigDict(frozen=True)

    time_column: str = ""
    group_column: str = ""
    note: str = ""


def parse_times(values: pd.Series) -> pd.Series:
    """Values as UTC datetimes in the format of the first one; NaT where they do not parse."""
    with warnings.catch_warnings():  # "could not infer format": then each value is tried on its own
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(values, errors="coerce", utc=True)


def _as_times(values: pd.Series) -> pd.Series | None:
    """The column as UTC datetimes (index kept) when every non-empty value parses as one in a single
    format, else None; numbers never do, and text must look like a date (digits around - / : T or space)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    text = values.dropna().astype(str)
    if text.empty or not text.head(_SAMPLE).str.contains(r"\d[-/: T]\d", regex=True).all():
        return None
    parsed = None
    for chunk in (text.head(_SAMPLE), text):
        parsed = parse_times(chunk)
        if parsed.isna().any():
            return None
    return parsed


def detect_time_column(train: pd.DataFrame, test: pd.DataFrame, skip: tuple[str, ...]) -> tuple[str, str]:
    """(column, why) of the first datetime column in which test lies wholly after train; ("", "") if none."""
    for col in (c for c in train.columns if c in test.columns and c not in skip):
        fit, held = _as_times(train[col]), _as_times(test[col])
        if fit is None or held is None or fit.nunique() < 2:
            continue
        if held.min() > fit.max():
            first, last = test[col].loc[held.idxmin()], train[col].loc[fit.idxmax()]
            return str(col), f"every test row ({first} on) is later than every train row (up to {last})"
    return "", ""


def detect_group_column(train: pd.DataFrame, test: pd.DataFrame, skip: tuple[str, ...]) -> tuple[str, str]:
    """(column, why) of the first id-like column whose test values never occur in train; ("", "") if none."""
    for col in (c for c in train.columns if c in test.columns and c not in skip):
        fit = train[col]
        if fit.isna().any() or not (pd.api.types.is_integer_dtype(fit) or pd.api.types.is_object_dtype(fit)
                                    or pd.api.types.is_string_dtype(fit)):
            continue
        groups = fit.nunique()
        if groups < 2 or groups * 2 > len(fit):
            continue
        seen = set(fit.astype(str))
        unseen = set(test[col].dropna().astype(str))
        if unseen and not unseen & seen:
            return str(col), (f"its {len(unseen)} values in test never occur among its {groups} values in "
                              "train (repeated entities)")
    return "", ""


def _chosen(option: str | None, train: pd.DataFrame, kind: str) -> str | None:
    """An option's column ("" when switched off), or None when the column is to be detected."""
    if option is None:
        return None
    if option.lower() == "none" or option == "":
        return ""
    if option not in train.columns:
        raise TaskError(f"--{kind}-column {option!r} is not a column of train.csv")
    return option


def split_shape(train: pd.DataFrame, test: pd.DataFrame | None, skip: tuple[str, ...],
                time_option: str | None = None, group_option: str | None = None) -> SplitShape:
    """The dev split's shape: each column as set by its option (a name, or "none"), else detected
    against ``test`` (the real test rows; None: nothing to compare with). A time column wins."""
    time, group = _chosen(time_option, train, "time"), _chosen(group_option, train, "group")
    why_time = why_group = "set by option"
    if time is None:
        time, why_time = detect_time_column(train, test, skip) if test is not None else ("", "")
    if group is None:
        group, why_group = ("", "") if time or test is None else detect_group_column(train, test, skip)
    how = "change with --time-column COL|none or --group-column COL|none"
    if time:
        note = f"dev split: the latest rows of train by `{time}` (a forecast: {why_time})"
        if group:
            note += f"; the group column `{group}` is recorded, the time column decides"
    elif group:
        note = f"dev split: whole groups of `{group}` held out ({why_group})"
    else:
        note = "dev split: a random share of train (no time or group column found)"
    return SplitShape(time_column=time, group_column=group, note=f"{note}; {how}")
