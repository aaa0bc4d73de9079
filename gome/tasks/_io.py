"""Small CSV helpers shared by the task modules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gome.tasks.errors import SubmissionError, TaskError

__all__ = ["read_table", "read_header", "read_text_table", "write_table"]


def read_table(path: Path, id_column: str, *, submission: bool = False) -> pd.DataFrame:
    """Read a CSV with the id column as strings; TaskError (or SubmissionError) if unreadable."""
    err = SubmissionError if submission else TaskError
    if not path.is_file():
        raise err(f"{path}: file not found")
    try:
        return pd.read_csv(path, dtype={id_column: str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise err(f"{path}: cannot be read as CSV ({exc})") from None


def read_header(path: Path) -> list[str]:
    """Column names of a CSV file (reads no rows)."""
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TaskError(f"{path}: cannot be read as CSV ({exc})") from None


def read_text_table(path: Path) -> pd.DataFrame:
    """Read a CSV keeping every cell as its exact text, so that rewriting preserves formats."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TaskError(f"{path}: cannot be read as CSV ({exc})") from None


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV deterministically (no index, '\\n' line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
