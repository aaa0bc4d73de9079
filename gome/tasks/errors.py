"""User-facing errors of the task layer: one clear line, no traceback needed."""

from __future__ import annotations

__all__ = ["GomeUserError", "TaskError", "SubmissionError"]


from gome.errors import GomeUserError


class TaskError(GomeUserError):
    """A malformed task folder or configuration (missing file, unknown metric, bad column)."""


class SubmissionError(GomeUserError):
    """A submission that cannot be scored (wrong columns, ids, NaN, non-numeric values)."""
