"""Step size: how large the next change may be, and what bounds it.

targeted: a patch of a few functions within a line budget; moderate: one component; rewrite: a new
script. The size bounds the Coder's reply (completion tokens) and, after the reply is merged, the
number of changed lines; a reply over its line budget is named so in the next diagnosis.
"""

from __future__ import annotations

import difflib

from gome.schema import StepSize

__all__ = ["STEP_SIZES", "LINE_BUDGET", "resized", "changed_lines", "step_violation", "reply_cap"]

STEP_SIZES = (StepSize.targeted, StepSize.moderate, StepSize.rewrite)
LINE_BUDGET: dict[StepSize, int | None] = {StepSize.targeted: 20, StepSize.moderate: 60, StepSize.rewrite: None}
# share of a whole-script reply (plus room for prose) that each size may spend, in completion tokens
_REPLY_SHARE = {StepSize.targeted: 0.9, StepSize.moderate: 1.6, StepSize.rewrite: 2.2}


def resized(size: StepSize, delta: int) -> StepSize:
    index = STEP_SIZES.index(size) + delta
    return STEP_SIZES[max(0, min(len(STEP_SIZES) - 1, index))]


def changed_lines(parent: str, code: str) -> int:
    """Lines added or removed between two scripts (blank lines ignored)."""
    a = [line for line in parent.splitlines() if line.strip()]
    b = [line for line in code.splitlines() if line.strip()]
    return sum(1 for line in difflib.ndiff(a, b) if line[:1] in "+-")


def step_violation(size: StepSize, parent: str, code: str) -> tuple[int, int] | None:
    """(changed lines, budget) when a reply changed more lines than its step size allows, else None."""
    budget = LINE_BUDGET[size]
    if budget is None or not parent:
        return None
    changed = changed_lines(parent, code)
    return (changed, budget) if changed > budget else None


def reply_cap(base: str, size: StepSize, limit: int) -> int:
    """Completion tokens for a reply about `base` (code runs ~3.5 characters a token): a share of a
    whole-script reply by step size, at least 512, at most `limit`; a small model that starts
    repeating itself is cut off there. Without a base (a draft from scratch) the limit itself."""
    if not base:
        return limit
    whole = len(base) / 3.5 + 128
    return int(min(limit, max(512, whole * _REPLY_SHARE[size])))
