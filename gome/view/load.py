"""Reading a run's event stream for the views: whole files, filters and a live tail.

Only `events.jsonl` is read, so every view works on a copied run folder. A torn last line (a writer
that crashed or is still writing) is skipped; a garbled line anywhere else is a `GomeUserError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


from gome.errors import GomeUserError
from gome.events import parse_event, follow_events
from gome.schema import (
    AgentMessage, CoordinatorMerge, Event, ExecutionDone, LLMCall, OptimizerStep, RunFinished, RunStarted,
    Blended, Selection, StructuredFailure, SyncStep,
)

__all__ = ["AGENTS", "EventFilter", "resolve_run", "load_events", "follow_events", "agents_of", "RUN_LEVEL"]

AGENTS = ("coder", "diagnostician", "memory_keeper", "executor", "user", "optimizer", "coordinator")  # `agents_of`'s names

RUN_LEVEL = (RunStarted, Blended, Selection, RunFinished)
"""Events of the whole run, not of one trace or step: trace and step filters let them through."""


def resolve_run(run: str | Path, runs_dir: Path = Path("runs")) -> Path:
    """The run folder named by a path or by a run id under `runs_dir`."""
    for candidate in (Path(run), runs_dir / str(run)):
        if candidate.is_dir():
            if not (candidate / "events.jsonl").is_file():
                raise GomeUserError(f"{candidate} is not a gome run folder: it has no events.jsonl")
            return candidate
    named = Path(run)
    if named.is_absolute() or len(named.parts) > 1:
        raise GomeUserError(f"no run folder {run}")
    raise GomeUserError(f"no run folder {run} (looked in . and {runs_dir})")


def load_events(run_dir: Path) -> list[Event]:
    """All complete events of a run folder; raises GomeUserError when the file is unreadable or garbled."""
    path = run_dir / "events.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GomeUserError(f"cannot read {path}: {exc}") from exc
    lines = text.split("\n")[:-1]  # the part after the last newline is a torn line, or empty
    return [parse_event(line, path, n) for n, line in enumerate(lines, 1) if line.strip()]


def agents_of(event: Event) -> set[str]:
    """The agents an event concerns, for `--agent`: speakers, callers, the executor, the coordinator."""
    if isinstance(event, AgentMessage):
        return {event.source, event.target}
    if isinstance(event, (LLMCall, StructuredFailure)):
        return {event.agent}
    if isinstance(event, ExecutionDone):
        return {"executor"}
    if isinstance(event, OptimizerStep):
        return {"optimizer"}
    if isinstance(event, (CoordinatorMerge, SyncStep, Blended, Selection)):
        return {"coordinator"}
    return set()


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: by trace, agent and step; None lets everything through."""

    trace: int | None = None
    agent: str | None = None
    step: int | None = None

    def __call__(self, event: Event) -> bool:
        run_level = isinstance(event, RUN_LEVEL)
        if self.trace is not None and not run_level and event.trace != self.trace:
            return False
        if self.step is not None and not run_level and event.step != self.step:
            return False
        return self.agent is None or self.agent in agents_of(event)

    def apply(self, events: Iterable[Event]) -> Iterator[Event]:
        return (event for event in events if self(event))

    def missed(self, events: list[Event]) -> str:
        """Where a trace or step filter matches no event of the run: one line saying what the run has; else ''."""
        shown = [e for e in self.apply(events) if not isinstance(e, RUN_LEVEL)]
        if shown or (self.trace is None and self.step is None):
            return ""
        inner = [e for e in events if not isinstance(e, RUN_LEVEL)]
        traces = sorted({e.trace for e in inner})
        steps = sorted({e.step for e in inner if e.trace == self.trace} or {e.step for e in inner})
        asked = " ".join(f"--{k} {v}" for k, v in (("trace", self.trace), ("step", self.step), ("agent", self.agent)) if v is not None)
        has = f"traces {', '.join(map(str, traces))}; steps {steps[0]} to {steps[-1]}" if inner else "no trace events"
        return f"no event matches {asked} (this run has {has})"
