"""What the report shows, gathered from a run folder: events.jsonl plus the step folders' scripts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gome.schema import (
    AgentMessage, Attempt, Blended, CoordinatorMerge, Event, LLMCall, OptimizerStep, RunFinished, RunStarted, Selection,
    StructuredFailure, SyncStep,
)
from gome.view.describe import payload_kind
from gome.view.load import load_events

__all__ = ["RunData", "load_run_data", "better"]


@dataclass
class RunData:
    """The run, indexed for the report's sections."""

    run_dir: Path
    events: list[Event]
    started: RunStarted | None = None
    finished: RunFinished | None = None
    selection: Selection | None = None
    blend: Blended | None = None
    steps: dict[int, list[OptimizerStep]] = field(default_factory=lambda: defaultdict(list))  # per trace
    merges: list[CoordinatorMerge] = field(default_factory=list)
    syncs: list[SyncStep] = field(default_factory=list)
    plans: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (trace, step) -> UpdatePlan
    codes: dict[str, str] = field(default_factory=dict)  # attempt id -> script
    calls: list[LLMCall] = field(default_factory=list)
    failures: list[StructuredFailure] = field(default_factory=list)
    lower_is_better: bool = False

    @property
    def config(self) -> dict[str, Any]:
        return self.started.config if self.started else {}

    @property
    def attempts(self) -> list[Attempt]:
        return [s.attempt for trace in sorted(self.steps) for s in self.steps[trace]]

    @property
    def grade(self) -> dict[str, Any]:
        return (self.finished.grade if self.finished else None) or {}

    def conversation(self) -> dict[int, dict[int, list[Event]]]:
        """Trace -> step -> the trace's events of that step, in order."""
        out: dict[int, dict[int, list[Event]]] = defaultdict(lambda: defaultdict(list))
        for event in self.events:
            if not isinstance(event, (RunStarted, Blended, Selection, RunFinished)):
                out[event.trace][event.step].append(event)
        return out


def better(a: float, b: float, lower_is_better: bool) -> bool:
    return a < b if lower_is_better else a > b


def _infer_lower_is_better(data: RunData) -> bool:
    """From the grade when there is one, else from the direction the global best moved."""
    if "is_lower_better" in data.grade:
        return bool(data.grade["is_lower_better"])
    bests = [m.global_best for m in data.merges if m.global_best is not None]
    moves = [b - a for a, b in zip(bests, bests[1:]) if b != a]
    return bool(moves) and sum(1 for m in moves if m < 0) > len(moves) / 2


def _script(run_dir: Path, attempt: Attempt) -> str | None:
    path = run_dir / "traces" / str(attempt.trace) / f"{attempt.step:03d}" / "solution.py"
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _index(data: RunData, event: Event) -> None:
    if isinstance(event, RunStarted):
        data.started = data.started or event  # a resumed run's later starts repeat its configuration
    elif isinstance(event, RunFinished):
        data.finished = event
    elif isinstance(event, Selection):
        data.selection = event
    elif isinstance(event, Blended):
        data.blend = event
    elif isinstance(event, OptimizerStep):
        data.steps[event.trace].append(event)
    elif isinstance(event, CoordinatorMerge):
        data.merges.append(event)
    elif isinstance(event, SyncStep):
        data.syncs.append(event)
    elif isinstance(event, LLMCall):
        data.calls.append(event)
    elif isinstance(event, StructuredFailure):
        data.failures.append(event)
    elif isinstance(event, AgentMessage) and event.structured:
        kind = payload_kind(event.structured)
        if kind == "UpdatePlan":
            data.plans[(event.trace, event.step)] = event.structured
        elif kind == "CodeUpdate" and event.structured.get("code"):
            data.codes[str(event.structured["attempt_id"])] = str(event.structured["code"])


def load_run_data(run_dir: Path) -> RunData:
    """Reads the run's events and scripts; step folders win over code carried in events."""
    data = RunData(run_dir=run_dir, events=load_events(run_dir))
    for event in data.events:
        _index(data, event)
    for attempt in data.attempts:
        script = _script(run_dir, attempt)
        if script is not None:
            data.codes[attempt.id] = script
    data.lower_is_better = _infer_lower_is_better(data)
    return data
