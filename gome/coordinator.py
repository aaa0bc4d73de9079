"""The Coordinator: a parameter server for trace teams.

Its state changes only through messages: `pull` returns the global state, `push` merges a trace's
update and returns the new global state with the merge recorded as an event, `stop` ends the search.
Methods are synchronous and never await, so the same class serves as an in-process object under
asyncio (each call is atomic) and as a Ray actor (`ray.remote(Coordinator)`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from gome.events import read_events
from gome.schema import Attempt, CoordinatorMerge, Frozen, MemoryEntry
from gome.tools.rundir import atomic_write

__all__ = ["COORDINATOR_CHECKPOINT", "Coordinator", "GlobalState", "Push", "PushReply", "Candidate", "logged_versions"]

COORDINATOR_CHECKPOINT = "coordinator.json"  # in the run folder


class Candidate(Frozen):
    """An attempt of any trace kept for the final selection or for a blend; or a blend of such attempts
    (`members`, each with its weight in `weights`; no code of its own)."""

    attempt: str
    trace: int
    score: float
    code: str
    step: int = 0
    members: tuple[Candidate, ...] = ()
    weights: tuple[float, ...] = ()


class GlobalState(Frozen):
    version: int
    best: Candidate | None
    memory: list[MemoryEntry]
    drafts: dict[int, str]  # trace -> summary of its first draft
    stopped: bool


class Push(Frozen):
    trace: int
    base_version: int
    attempt: Attempt
    new_memory: list[MemoryEntry] = Field(default_factory=list)
    draft_summary: str = ""


class PushReply(Frozen):
    state: GlobalState
    event: CoordinatorMerge


class Coordinator:
    """Merges pushes into the global best, the shared success memory and the drafts; versions each merge."""

    def __init__(self, lower_is_better: bool, checkpoint: Path | None = None) -> None:
        self.lower_is_better, self.checkpoint = lower_is_better, checkpoint  # checkpoint: written after every push
        self.version = 0
        self.best: Candidate | None = None
        self.previous: list[Candidate | None] = []
        self.memory: list[MemoryEntry] = []
        self.drafts: dict[int, str] = {}
        self.candidates: dict[str, Candidate] = {}  # accepted attempts
        self.ties: dict[str, Candidate] = {}  # ties that scored above the best on the dev split: candidates too, where extra splits judge them
        self.pool: dict[str, Candidate] = {}  # every valid, distinct, not vetoed attempt: what a blend may use
        self.merges: list[CoordinatorMerge] = []  # every merge's event, checkpointed with the state it made
        self.stopped = False

    def _better(self, score: float) -> bool:
        if self.best is None:
            return True
        return score < self.best.score if self.lower_is_better else score > self.best.score

    def pull(self) -> GlobalState:
        return GlobalState(version=self.version, best=self.best, memory=list(self.memory),
                           drafts=dict(self.drafts), stopped=self.stopped)

    def push(self, push: Push) -> PushReply:
        """Merges one update. A stale push (older base version) is still merged: every merge rule here
        (keep the better best, union the memory) is order-independent, and the event records the lag."""
        attempt, best_changed = push.attempt, False
        if push.draft_summary and push.trace not in self.drafts:
            self.drafts[push.trace] = push.draft_summary
        candidate = None if attempt.score is None else Candidate(
            attempt=attempt.id, trace=push.trace, score=attempt.score, code=attempt.code, step=attempt.step)
        if candidate is not None and attempt.status == "ok" and attempt.outcome in ("accepted", "worse", "tie"):
            self.pool[attempt.id] = candidate
        if attempt.accepted and candidate is not None:
            self.candidates[attempt.id] = candidate
            if self._better(candidate.score):
                self.previous.append(self.best)
                self.best, best_changed = candidate, True
        elif attempt.contender and candidate is not None:
            self.ties[attempt.id] = candidate
        elif attempt.outcome == "vetoed":  # a retraction (leak/overfit veto): no candidate, no success, no best
            self.candidates.pop(attempt.id, None)
            self.ties.pop(attempt.id, None)
            self.pool.pop(attempt.id, None)
            self.memory = [m for m in self.memory if not (m.outcome == "success" and m.trace == attempt.trace
                                                          and m.step == attempt.step)]
            if self.best is not None and self.best.attempt == attempt.id:
                self.best, best_changed = (self.previous.pop() if self.previous else None), True
        known = {m.id for m in self.memory}
        added = [m for m in push.new_memory if m.id not in known]
        self.memory.extend(added)
        self.version += 1
        event = CoordinatorMerge(
            trace=push.trace, step=attempt.step, version=self.version, source_trace=push.trace, attempt=attempt.id,
            base_version=push.base_version, stale=push.base_version < self.version - 1, best_changed=best_changed,
            global_best=self.best.score if self.best else None,
            global_best_attempt=self.best.attempt if self.best else None, memory_added=[m.id for m in added],
        )
        self.merges.append(event)
        if self.checkpoint is not None:
            atomic_write(self.checkpoint, json.dumps(self.snapshot()))
        return PushReply(state=self.pull(), event=event)

    def top_candidates(self, k: int, ties: bool = False) -> list[Candidate]:
        """The k best accepted attempts across traces, best first. With `ties` (when the final selection re-scores
        on extra splits, which judge them), the ties that scored above the best compete too, and the global best
        is always among the k."""
        both = [*self.candidates.values(), *(self.ties.values() if ties else [])]
        ranked = sorted(both, key=lambda c: c.score, reverse=not self.lower_is_better)[:k]
        return ranked if self.best is None or self.best in ranked else [*ranked[: k - 1], self.best]

    def blend_pool(self, k: int) -> list[Candidate]:
        """The k best valid attempts across traces, accepted or not, best first: the members a blend may use."""
        return sorted(self.pool.values(), key=lambda c: c.score, reverse=not self.lower_is_better)[:k]

    def snapshot(self) -> dict:
        """The Coordinator's whole state as JSON-ready data (for resume)."""
        return {
            "version": self.version, "best": self.best.model_dump() if self.best else None,
            "previous": [c.model_dump() if c else None for c in self.previous],
            "memory": [m.model_dump(mode="json") for m in self.memory], "drafts": self.drafts,
            "candidates": [c.model_dump() for c in self.candidates.values()],
            "ties": [c.model_dump() for c in self.ties.values()],
            "pool": [c.model_dump() for c in self.pool.values()],
            "merges": [m.model_dump(mode="json") for m in self.merges],
        }

    @classmethod
    def open(cls, lower_is_better: bool, checkpoint: Path) -> Coordinator:
        """The Coordinator checkpointed at `checkpoint` (a resumed run), else a new one that checkpoints there."""
        coord = cls(lower_is_better, checkpoint)
        if checkpoint.is_file():
            coord.load(json.loads(checkpoint.read_text()))
        return coord

    @classmethod
    def restore(cls, lower_is_better: bool, data: dict) -> Coordinator:
        coord = cls(lower_is_better)
        coord.load(data)
        return coord

    def load(self, data: dict) -> None:
        """Takes the state of a `snapshot`."""
        self.version = data["version"]
        self.best = Candidate.model_validate(data["best"]) if data["best"] else None
        self.previous = [Candidate.model_validate(c) if c else None for c in data["previous"]]
        self.memory = [MemoryEntry.model_validate(m) for m in data["memory"]]
        self.drafts = {int(k): v for k, v in data["drafts"].items()}
        self.candidates = {c["attempt"]: Candidate.model_validate(c) for c in data["candidates"]}
        self.ties = {c["attempt"]: Candidate.model_validate(c) for c in data.get("ties", [])}  # older checkpoints: none
        self.pool = {c["attempt"]: Candidate.model_validate(c) for c in data.get("pool", [])}  # older checkpoints: none
        self.merges = [CoordinatorMerge.model_validate(m) for m in data.get("merges", [])]  # older checkpoints: none

    def unlogged(self, logged: set[int]) -> list[CoordinatorMerge]:
        """The merges whose versions are not in `logged`: a run killed after a merge's checkpoint was written
        and before the driver wrote its event. Written into the event log on resume, before the traces start."""
        return [m for m in self.merges if m.version not in logged]

    def stop(self) -> GlobalState:
        self.stopped = True
        return self.pull()


def logged_versions(events: Path) -> set[int]:
    """The versions of the merges that the run's event log holds."""
    return {e.version for e in read_events(events) if isinstance(e, CoordinatorMerge)} if events.is_file() else set()
