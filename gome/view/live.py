"""Live progress of `gome run`: a `rich` table on a terminal, plain log lines elsewhere.

Both views are listeners (callables taking an event) with a `close()`; `make_view(stream)` picks one.
The table shows, per trace, the step, the agent now working, the last attempt, the best score so far
and the model tokens spent, under a header with the global best and the elapsed/budget time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gome.console import ConsoleView
from gome.schema import (
    AgentMessage, Blended, CoordinatorMerge, Event, ExecutionDone, LLMCall, LLMProgress, OptimizerStep, Remeasure,
    RunFinished, RunStarted, Selection, SyncStep,
)
from gome.view.describe import fmt_score, payload_kind
from gome.view.logs import LogRenderer

__all__ = ["LiveView", "PlainView", "make_view", "TraceProgress"]


@dataclass
class TraceProgress:
    """What the live table shows for one trace."""

    step: int = 0
    agent: str = "coder"
    last: str = ""
    best: float | None = None
    tokens: int = 0
    streaming: str = ""  # the call in progress: tokens so far and their rate


class PlainView(ConsoleView):
    """One line per notable event (the non-terminal fallback), with the same interface as LiveView."""

    def close(self) -> None:
        return None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class LiveView:
    """A `rich.live` table of the traces' progress, refreshed a few times a second."""

    def __init__(self, stream: TextIO = sys.stderr, console: Console | None = None, recent: int = 5) -> None:
        self.console = console or Console(file=stream)
        self._lock = threading.Lock()
        self._lines = LogRenderer()  # one line per recent event under the table
        self.traces: dict[int, TraceProgress] = {}
        self.recent: deque[str] = deque(maxlen=recent)
        self.run_id, self.task, self.phase = "", "", "starting"
        self.started, self.budget_s, self.steps = time.time(), None, 0
        self.global_best: float | None = None
        self._live: Live | None = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._update(event)
            line = self._recent(event)
            if line:
                self.recent.append(line)
        if self._live is None and not isinstance(event, RunFinished):
            self._live = Live(console=self.console, get_renderable=self.render, refresh_per_second=4,
                              transient=False, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        if isinstance(event, RunFinished):
            self.close()

    def _recent(self, event: Event) -> str:
        body = self._lines.body(event)
        if not body or isinstance(event, (RunStarted, RunFinished)):
            return ""
        gist = ""
        if isinstance(event, AgentMessage) and payload_kind(event.structured) in ("Diagnosis", "UpdatePlan"):
            gist = " — " + str((event.structured or {}).get("direction", ""))
        where = "" if isinstance(event, Selection) else f"[t{event.trace} s{event.step}] "
        return where + " ".join(body[0].split()) + gist

    def _trace(self, k: int) -> TraceProgress:
        return self.traces.setdefault(k, TraceProgress())

    def _update(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id, self.task, self.started, self.phase = event.run_id, event.task, event.ts, "searching"
            self.budget_s, self.steps = event.config.get("time_budget_s"), int(event.config.get("steps") or 0)
            for k in range(int(event.config.get("traces") or 1)):
                self._trace(k)
        elif isinstance(event, AgentMessage):
            self._trace(event.trace).agent = event.target
        elif isinstance(event, LLMProgress):
            progress = self._trace(event.trace)
            progress.agent = event.agent
            progress.streaming = (f"{event.tokens} tok, {event.tokens_per_s:.1f} tok/s, {event.elapsed_s:.0f}s"
                                  if event.tokens else f"reading its prompt, {event.elapsed_s:.0f}s")
        elif isinstance(event, LLMCall):
            progress = self._trace(event.trace)
            progress.tokens += event.prompt_tokens + event.completion_tokens
            progress.streaming = ""
        elif isinstance(event, Remeasure):
            self._trace(event.trace).last = f"{event.attempt} within noise: again on {event.folds} dev folds"
        elif isinstance(event, ExecutionDone):
            r = event.report
            self._trace(event.trace).last = f"{r.attempt_id} {r.status} {fmt_score(r.score)}"
        elif isinstance(event, OptimizerStep):
            progress = self._trace(event.trace)
            progress.step, progress.best = event.step, event.best_score
        elif isinstance(event, CoordinatorMerge):
            self.global_best = event.global_best
        elif isinstance(event, SyncStep):
            self._trace(event.trace).last = f"synced to {event.adopted_attempt}"
        elif isinstance(event, Blended):
            verdict = "blend accepted" if event.accepted else "blend within noise, a candidate" if event.contender else "no blend"
            self.phase = f"ensemble stage: {verdict}, final selection"
        elif isinstance(event, Selection):
            self.phase = f"final run of {event.chosen}"
        elif isinstance(event, RunFinished):
            self.phase = f"finished: best {event.best_attempt or '—'}"
            for progress in self.traces.values():
                progress.agent = "done"

    def render(self) -> Group:
        """The table as it stands now (called by rich's refresh thread)."""
        with self._lock:
            elapsed = time.time() - self.started
            budget = f" / {_clock(self.budget_s)}" if self.budget_s else ""
            head = Text.assemble(("gome ", "bold"), f"{self.run_id} · task {self.task} · {self.phase} · ",
                                 ("global best ", "bold"), fmt_score(self.global_best),
                                 f" · elapsed {_clock(elapsed)}{budget}")
            table = Table(expand=False, show_edge=False, pad_edge=False)
            for name in ("trace", "step", "agent", "last attempt", "best", "tokens"):
                table.add_column(name, justify="right" if name in ("step", "best", "tokens") else "left")
            for k, p in sorted(self.traces.items()):
                steps = f"{p.step}/{self.steps}" if self.steps else str(p.step)
                agent = f"{p.agent} ({p.streaming})" if p.streaming else p.agent
                table.add_row(Text(str(k)), Text(steps), Text(agent), Text(p.last), Text(fmt_score(p.best)),
                              Text(f"{p.tokens:,}"))
            recent = [Text(line, style="dim", overflow="ellipsis", no_wrap=True) for line in self.recent]
            return Group(head, table, *recent)

    def close(self) -> None:
        """Stops the live display, leaving its last state on the terminal."""
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None


def make_view(stream: TextIO = sys.stderr) -> LiveView | PlainView:
    """The live table when `stream` is a terminal, plain log lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    return LiveView(stream) if isatty is not None and isatty() else PlainView(stream)
