"""Search strategies over one trace: gradient (directed updates), tree (AIDE-style greedy search with
scalar feedback) and an adaptive hybrid that measures how reliable the gradient is and shifts effort
between directed steps and tree expansion.

Decisions use a random generator seeded by (seed, trace, step), so a run is reproducible and a
resumed run decides as the original would have.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from gome.schema import Attempt, AttemptKind, Mode

__all__ = ["Mode", "Strategy", "StrategyName", "tree_pick"]

StrategyName = Literal["gradient", "tree", "hybrid"]


def _better(a: float, b: float, lower_is_better: bool) -> bool:
    return a < b if lower_is_better else a > b


def _debug_depth(node: Attempt, by_id: dict[str, Attempt]) -> int:
    depth = 0
    while node.kind == "debug" and node.parent_id in by_id:
        depth, node = depth + 1, by_id[node.parent_id]
    return depth


def tree_pick(journal: list[Attempt], lower_is_better: bool, rng: random.Random, num_drafts: int,
              debug_prob: float, max_debug_depth: int, best: str | None = None) -> tuple[AttemptKind, str | None]:
    """AIDE's greedy policy: draft until `num_drafts` drafts exist; then, with probability `debug_prob`,
    debug a buggy leaf; otherwise improve the best node, the one of best score or `best` where given (draft
    again if no node works)."""
    if sum(1 for a in journal if a.kind == "draft") < num_drafts:
        return "draft", None
    by_id = {a.id: a for a in journal}
    parents = {a.parent_id for a in journal}
    if rng.random() < debug_prob:
        buggy = [a for a in journal if a.status != "ok" and a.id not in parents
                 and _debug_depth(a, by_id) < max_debug_depth]
        if buggy:
            return "debug", rng.choice(buggy).id
    good = [a for a in journal if a.status == "ok" and a.score is not None]
    if not good:
        return "draft", None
    if best is not None and best in {a.id for a in good}:
        return "improve", best
    node = good[0]
    for other in good[1:]:
        if _better(other.score, node.score, lower_is_better):  # type: ignore[arg-type]
            node = other
    return "improve", node.id


@dataclass
class Strategy:
    """Chooses the mode of each step and keeps the hybrid's gradient-reliability estimate."""

    name: StrategyName = "gradient"
    seed: int = 0
    num_drafts: int = 3
    debug_prob: float = 0.5
    max_debug_depth: int = 3
    trials: int = 0  # directed improvements tried ...
    successes: int = 0  # ... and accepted

    def rng(self, trace: int, step: int) -> random.Random:
        return random.Random(f"{self.seed}-{trace}-{step}")

    @property
    def reliability(self) -> float:
        """Posterior mean share of directed updates that improve the score (Beta(1, 1) prior)."""
        return (self.successes + 1) / (self.trials + 2)

    def observe(self, attempt: Attempt) -> None:
        """Counts a directed improvement by the mode it was made in (not the mode of the step after it)."""
        if attempt.mode == "directed" and attempt.kind == "improve":
            self.trials += 1
            self.successes += attempt.accepted

    def next_mode(self, trace: int, step: int, has_best: bool, debugging: bool) -> Mode:
        if self.name == "gradient":
            return "directed"
        if self.name == "tree":
            return "explore"
        if not has_best or debugging:  # hybrid: first find a working solution, finish a debug chain
            return "directed"
        explore = min(0.9, max(0.1, 1.0 - self.reliability))
        return "explore" if self.rng(trace, step).random() < explore else "directed"
