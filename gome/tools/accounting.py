"""Accounting and budgets: tokens, cost and wall time per call, agent, trace and run.

`Accounting` listens to the event stream. When a budget (tokens, cost, wall time) is spent it calls
`on_exhausted` once; the runner then stops every trace at its next message, and the best solution so
far is still selected, run on the full data and graded.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gome.schema import Event, LLMCall, RunStarted

__all__ = ["Accounting", "Budget", "Prices"]


class Prices(BaseModel):
    """Price per million tokens, for the cost figure (0 for a local model)."""

    model_config = ConfigDict(frozen=True)

    input_per_mtok: float = Field(default=0.0, ge=0)
    output_per_mtok: float = Field(default=0.0, ge=0)


class Budget(BaseModel):
    model_config = ConfigDict(frozen=True)

    tokens: int | None = Field(default=None, gt=0, description="prompt + completion tokens of the whole run")
    cost: float | None = Field(default=None, gt=0, description="in the currency of the price table")
    wall_s: float | None = Field(default=None, gt=0, description="seconds of search, summed over resumed sessions")


class Accounting:
    """Sums LLM usage from events and watches the budget."""

    def __init__(self, budget: Budget, prices: Prices, on_exhausted: Callable[[str], None] = lambda reason: None) -> None:
        self.budget, self.prices, self.on_exhausted = budget, prices, on_exhausted
        self.tokens: dict[str, dict[str, int]] = defaultdict(lambda: {"prompt": 0, "completion": 0, "calls": 0, "cached": 0})
        self.latency: dict[str, float] = defaultdict(float)
        self.earlier_s = 0.0  # search time of earlier sessions (resume)
        self.started = time.time()
        self.exhausted = ""

    def replay(self, events: Iterable[Event]) -> None:
        """Counts a previous session's events (for resume) without triggering the budget."""
        segment_start = last_ts = None
        for event in events:
            if isinstance(event, RunStarted):
                if segment_start is not None and last_ts is not None:
                    self.earlier_s += last_ts - segment_start
                segment_start = event.ts
            last_ts = event.ts
            self._count(event)
        if segment_start is not None and last_ts is not None:
            self.earlier_s += last_ts - segment_start

    def _count(self, event: Event) -> None:
        if isinstance(event, LLMCall):
            for key in ("run", f"trace {event.trace}", f"agent {event.agent}"):
                row = self.tokens[key]
                row["prompt"] += event.prompt_tokens
                row["completion"] += event.completion_tokens
                row["calls"] += 1
                row["cached"] += event.cached_tokens or 0  # prompt tokens the endpoint served from its cache
                self.latency[key] += event.latency_s

    def __call__(self, event: Event) -> None:
        self._count(event)
        reason = self.over_budget()
        if reason and not self.exhausted:
            self.exhausted = reason
            self.on_exhausted(reason)

    @property
    def total_tokens(self) -> int:
        run = self.tokens["run"]
        return run["prompt"] + run["completion"]

    @property
    def cost(self) -> float:
        run = self.tokens["run"]
        return (run["prompt"] * self.prices.input_per_mtok + run["completion"] * self.prices.output_per_mtok) / 1e6

    @property
    def elapsed_s(self) -> float:
        return self.earlier_s + time.time() - self.started

    def over_budget(self) -> str:
        b = self.budget
        if b.tokens is not None and self.total_tokens >= b.tokens:
            return f"token budget spent ({self.total_tokens} >= {b.tokens})"
        if b.cost is not None and self.cost >= b.cost:
            return f"cost budget spent ({self.cost:.4f} >= {b.cost})"
        if b.wall_s is not None and self.elapsed_s >= b.wall_s:
            return f"time budget spent ({self.elapsed_s:.0f}s >= {b.wall_s:.0f}s)"
        return ""

    def summary(self) -> dict[str, Any]:
        """Usage per run, trace and agent: tokens, calls, summed latency; the run's cost and wall time."""
        rows = {key: {**row, "latency_s": round(self.latency[key], 3)} for key, row in sorted(self.tokens.items())}
        return {"usage": rows, "total_tokens": self.total_tokens, "cost": round(self.cost, 6),
                "wall_s": round(self.elapsed_s, 1), "budget_stop": self.exhausted}
