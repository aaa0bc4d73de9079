"""Plain console rendering of the event stream (one line per notable event)."""

from __future__ import annotations

import sys
from typing import TextIO

from gome.schema import (
    AgentMessage, Event, ExecutionDone, LLMProgress, OptimizerStep, Remeasure, RunFinished, RunStarted, StructuredFailure,
)

__all__ = ["ConsoleView"]


def _short(text: str, width: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


class ConsoleView:
    """Writes one line per agent message, execution, optimiser step and the run's end."""

    PROGRESS_EVERY_S = 30.0  # a streamed call still running gets a line this often

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._calls: dict[int, tuple[float, int]] = {}  # trace -> (elapsed s of its call, progress lines printed)

    def __call__(self, event: Event) -> None:
        line = self.render(event)
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()

    def render(self, event: Event) -> str:
        head = f"[trace {event.trace} step {event.step}]"
        if isinstance(event, LLMProgress):
            before, printed = self._calls.get(event.trace, (0.0, 0))
            printed = 0 if event.elapsed_s < before else printed  # a new call
            due = int(event.elapsed_s // self.PROGRESS_EVERY_S)
            self._calls[event.trace] = (event.elapsed_s, max(printed, due))
            if due <= printed:
                return ""
            if not event.tokens:
                return f"{head} {event.agent} is reading its prompt: {event.elapsed_s:.0f}s"
            return (f"{head} {event.agent} is writing: {event.tokens} tokens in {event.elapsed_s:.0f}s "
                    f"({event.tokens_per_s:.1f} tokens/s since the first)")
        if isinstance(event, RunStarted):
            return f"run {event.run_id} on task {event.task}"
        if isinstance(event, AgentMessage):
            payload = event.structured or {}
            gist = payload.get("direction") or payload.get("summary") or f"{payload.get('kind', '')} script" if payload else event.content
            tokens = f" ({event.prompt_tokens}+{event.completion_tokens} tok)" if event.prompt_tokens else ""
            return f"{head} {event.source} -> {event.target}: {_short(str(gist))}{tokens}"
        if isinstance(event, Remeasure):
            return (f"{head} {event.attempt} is {event.gain:+.4g} ± {event.gain_se:.2g} over {event.best}, within the noise: "
                    f"both run again on {event.folds} more dev folds")
        if isinstance(event, ExecutionDone):
            r = event.report
            source = " (self-reported)" if r.score_source == "self-reported" else ""
            return f"{head} executed {r.attempt_id}: {r.status} score={r.score}{source} in {r.duration_s:.1f}s {_short(r.error, 80)}"
        if isinstance(event, OptimizerStep):
            verdict = "accepted" if event.attempt.accepted else "rejected"
            return f"{head} {verdict}; best={event.best_score} ({event.best_attempt}) step size={event.step_size.value}"
        if isinstance(event, StructuredFailure):
            return f"{head} {event.agent} gave no valid {event.schema_name} after {event.tries} tries: {_short(event.error, 80)}"
        if isinstance(event, RunFinished):
            grade = event.grade or {}
            if event.best_attempt is None:
                return f"finished: {event.reason}; no valid attempt"
            dev = "none" if event.best_score is None else f"{event.best_score:.4g}"
            return f"finished: {event.reason}; best {event.best_attempt} dev score {dev}; final score {grade.get('score', 'none')}"
        return ""
