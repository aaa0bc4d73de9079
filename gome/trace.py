"""A trace team's link to the Coordinator: push after every step, merge the broadcast state, and
synchronise to the global best when the trace trails it for too long (distributed SGD's sync step)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gome.coordinator import Coordinator, GlobalState, Push, PushReply
from gome.errors import GomeUserError
from gome.optim import TraceState
from gome.schema import Attempt, Event, SyncStep
from gome.tools.patch import summarize_code
from gome.tools.rundir import RunDir, atomic_write

__all__ = ["CoordinatorHandle", "LocalHandle", "RayHandle", "TraceLink"]


class CoordinatorHandle(Protocol):
    async def pull(self) -> GlobalState: ...
    async def push(self, push: Push) -> PushReply: ...


class LocalHandle:
    """The Coordinator in this process: calls are atomic under asyncio (its methods never await)."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    async def pull(self) -> GlobalState:
        return self.coordinator.pull()

    async def push(self, push: Push) -> PushReply:
        return self.coordinator.push(push)


class RayHandle:
    """The Coordinator as a Ray actor."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    async def pull(self) -> GlobalState:
        return await self.actor.pull.remote()

    async def push(self, push: Push) -> PushReply:
        return await self.actor.push.remote(push)


class TraceLink:
    """Connects one trace's optimiser state to the Coordinator: its `on_step` and `others_drafts` are the
    trace context's hooks."""

    def __init__(self, state: TraceState, rundir: RunDir, emit: Callable[[Event], None], handle: CoordinatorHandle,
                 sync_margin: float, sync_patience: int, draft_wait_s: float = 600.0) -> None:
        self.state, self.rundir, self.emit, self.handle = state, rundir, emit, handle
        self.sync_margin, self.sync_patience, self.draft_wait_s = sync_margin, sync_patience, draft_wait_s
        self.version, self.lag = 0, 0
        self.pushed: set[str] = set()

    async def on_step(self, attempt: Attempt) -> None:
        state = self.state
        new = [m for m in state.memory.entries if m.trace == state.trace and m.id not in self.pushed]
        self.pushed.update(m.id for m in new)
        reply = await self.handle.push(Push(
            trace=state.trace, base_version=self.version, attempt=attempt, new_memory=new,
            draft_summary=summarize_code(attempt.code) if attempt.kind == "draft" and attempt.code else "",
        ))
        self.emit(reply.event)
        self._merge(reply.state)
        self.save()

    @property
    def checkpoint(self) -> Path:
        return self.rundir.root / "traces" / str(self.state.trace) / "state.json"

    def save(self) -> None:
        """Writes the trace's optimiser state after a step: a crash loses at most the attempt in flight."""
        link = {"version": self.version, "lag": self.lag, "pushed": sorted(self.pushed)}
        data = {"state": self.state.snapshot(), "link": link}
        atomic_write(self.checkpoint, json.dumps(data))

    def load(self) -> bool:
        """Restores the trace from its checkpoint, if it has one."""
        if not self.checkpoint.is_file():
            return False
        data = json.loads(self.checkpoint.read_text())
        if "journal" not in data["state"] or "best_id" not in data["state"]:
            raise GomeUserError(f"{self.checkpoint}: this run was made by an older gome (before the optimiser's "
                                "journal); it cannot be resumed by this version")
        self.state.restore(data["state"])
        self.version, self.lag, self.pushed = data["link"]["version"], data["link"]["lag"], set(data["link"]["pushed"])
        return True

    def _merge(self, remote: GlobalState) -> None:
        state = self.state
        self.version = remote.version
        state.stopped = state.stopped or remote.stopped  # the driver stopped the search (a budget is spent)
        if state.use_memory:
            for entry in remote.memory:
                state.memory.add(entry)
        if remote.best is None or remote.best.trace == state.trace:
            self.lag = 0
            return
        local = state.best.score if state.best else None
        gap = abs(remote.best.score - local) if local is not None else float("inf")
        trailing = local is None or (state.improves(remote.best.score) and gap > self.sync_margin)
        self.lag = self.lag + 1 if trailing else 0
        if self.lag >= self.sync_patience and state.debug_round == 0 and not state.needs_redo():  # a plan in progress ends first
            best = remote.best
            state.adopt(Attempt(id=best.attempt, trace=best.trace, step=best.step, parent_id=None, kind="improve",
                                score=best.score, status="ok", accepted=True, outcome="accepted", code=best.code))
            self.emit(SyncStep(trace=state.trace, step=state.step, local_best=local,
                                   adopted_attempt=remote.best.attempt, adopted_score=remote.best.score))
            self.lag = 0

    async def others_drafts(self) -> str:
        """What the traces before this one drafted; waits (bounded) until they have drafted."""
        trace, deadline = self.state.trace, time.monotonic() + self.draft_wait_s
        while True:
            remote = await self.handle.pull()
            if all(k in remote.drafts for k in range(trace)) or time.monotonic() > deadline or remote.stopped:
                break
            await asyncio.sleep(0.2)
        return "\n".join(f"- trace {k}: {summary}" for k, summary in sorted(remote.drafts.items()) if k != trace)
