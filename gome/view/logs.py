"""`gome logs`: the agents' conversation as text, with executions and optimiser state in between.

`LogRenderer` turns events into lines; it prints a header whenever the trace or step changes, so
interleaved traces stay readable. Colour is ANSI, used only when the caller asks (a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from gome.schema import (
    BLEND_ID, AgentMessage, Attempt, CoordinatorMerge, Event, ExecutionDone, LLMCall, OptimizerStep, Remeasure, RunFinished, RunStarted,
    Blended, Selection, StructuredFailure, SyncStep, TraceStarted,
)
from gome.view.describe import code_head, counted, fmt_score, fmt_tokens, one_line, payload_fields, payload_kind
from gome.view.load import RUN_LEVEL

__all__ = ["LogRenderer", "render_lines"]

_INDENT = " " * 10
_STYLES = {"head": "1;36", "who": "1", "dim": "2", "ok": "32", "bad": "31", "note": "33"}


class LogRenderer:
    """Stateful renderer: feed events in order, get the lines to print for each."""

    def __init__(self, color: bool = False, code_lines: int = 6) -> None:
        self.color, self.code_lines = color, code_lines
        self._where: tuple[int, int] | None = None
        self.tokens: dict[str, int] = {}  # model tokens per agent, from LLMCall events
        self.accept_z = 2.0  # the run's acceptance margin in standard errors, from RunStarted

    def _s(self, text: str, style: str) -> str:
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if self.color else text

    def lines(self, event: Event) -> list[str]:
        """The lines for one event, preceded by a trace/step header when it moved."""
        out: list[str] = []
        if not isinstance(event, RUN_LEVEL) and self._where != (event.trace, event.step):
            self._where = (event.trace, event.step)
            out.append(self._s(f"── trace {event.trace} · step {event.step} " + "─" * 40, "head"))
        stamp = self._s(time.strftime("%H:%M:%S", time.localtime(event.ts)), "dim") + "  "
        body = self.body(event)
        if body:
            out.append(stamp + body[0])
            out.extend(_INDENT + line for line in body[1:])
        return out

    def body(self, event: Event) -> list[str]:
        """The lines of one event, without the header and time stamp."""
        if isinstance(event, AgentMessage):
            return self._message(event)
        if isinstance(event, LLMCall):
            self.tokens[event.agent] = self.tokens.get(event.agent, 0) + event.prompt_tokens + event.completion_tokens
            if event.ok:  # the message that follows carries the tokens
                return []
            what = "reply turned back, asked again" if event.completion_tokens else "model call failed"  # a reply came
            return [self._s(f"{event.agent} · {what} after {event.latency_s:.1f}s: {one_line(event.error, 160)}", "bad")]
        if isinstance(event, StructuredFailure):
            return [self._s(f"{event.agent} gave no valid {event.schema_name} after {event.tries} tries: "
                            f"{one_line(event.error, 200)}", "bad")]
        if isinstance(event, Remeasure):
            close = "is within the noise" if event.gain <= self.accept_z * event.gain_se else "may be this split's alone"
            return [self._s(f"{event.attempt}: {event.gain:+.4g} ± {event.gain_se:.2g} over {event.best} {close}: "
                            f"both run again on {event.folds} more dev folds", "note")]
        if isinstance(event, ExecutionDone):
            return self._execution(event)
        if isinstance(event, OptimizerStep):
            return self._optimizer(event)
        return self._run_level(event)

    def _message(self, event: AgentMessage) -> list[str]:
        kind = payload_kind(event.structured)
        who = self._s(f"{event.source} → {event.target}", "who")
        tokens = fmt_tokens(event.prompt_tokens, event.completion_tokens)
        head = f"{who}  {kind}" + (self._s(f"  ({tokens})", "dim") if tokens else "")
        lines = [head.rstrip()]
        if not kind:
            text_head, total = code_head(event.content, self.code_lines)
            lines += [one_line(line, 150) for line in text_head]
            if total > len(text_head):
                lines.append(self._s(f"… ({total} lines)", "dim"))
            return lines
        if kind == "ExecutionReport":
            fields = dict(payload_fields(event.structured))
            lines[0] += f"  {fields['attempt']}: {fields['status']} · score {fields['score']} · {fields['time']}"
            return lines + ([self._s("error: " + str(fields["error"]), "bad")] if "error" in fields else [])
        for label, value in payload_fields(event.structured, event.target):
            if isinstance(value, list):
                lines.append(f"{label + ':':<12} " + ("none" if not value else one_line(value[0], 140)))
                lines += [f"{'':<12} {one_line(v, 140)}" for v in value[1:]]
            else:
                lines.append(f"{label + ':':<12} {one_line(value, 140)}")
        if kind == "CodeUpdate":
            code_lines, total = code_head(str(event.structured.get("code", "")), self.code_lines)  # type: ignore[union-attr]
            lines += [self._s("│ ", "dim") + line[:150] for line in code_lines]
            lines.append(self._s(f"└ {total} lines", "dim"))
        return lines

    def _execution(self, event: ExecutionDone) -> list[str]:
        r = event.report
        status = self._s(r.status, "ok" if r.status == "ok" else "bad")
        source = " (self-reported)" if r.score_source == "self-reported" else ""
        lines = [f"⚙ executed {r.attempt_id}: {status}  exit {r.exit_code}  {r.duration_s:.1f}s  "
                 f"score {fmt_score(r.score)}{source}"]
        if r.error:
            lines.append(self._s("error: " + one_line(r.error, 200), "bad" if r.status != "ok" else "note"))
        ev = r.evidence
        if ev is not None and r.score is not None:
            noise = f"± {ev.noise:.3g}" if ev.noise is not None else "noise unknown"
            if ev.identical_to:
                moved = self._s(f"NO-OP: predictions identical to {ev.identical_to}'s", "bad")
            elif ev.changed_share is not None:
                moved = f"{ev.changed_share:.0%} of predictions changed vs parent"
            else:
                moved = "no parent to compare"
            own = f"; script's own score {fmt_score(ev.self_score)} on its split" if ev.self_score is not None else ""
            own += f", {fmt_score(ev.fit_score)} on rows it was fit on" if ev.fit_score is not None else ""
            lines.append(f"evidence: dev {fmt_score(r.score)} {noise}; {moved}{own}")
            lines += [self._s(one_line(line, 160), "dim") for line in ev.errors]  # what the Diagnostician reads
        return lines

    def _verdict(self, a: Attempt) -> str:
        """'better by X ± Y: accepted', 'within noise (…): rejected', a tie accepted as the cheaper script, or the
        outcome."""
        ev = a.report.evidence if a.report is not None else None
        se = f" ± {ev.tested_se:.2g}" if ev is not None and ev.tested_se is not None else ""
        where = f" on {ev.folds + 1} dev splits" if ev is not None and ev.folds else ""
        by = f"{a.gain:+.4g}{se}{where}" if a.gain is not None else ""
        if a.accepted and not a.passed_test(self.accept_z):  # a tie goes to a script that runs a fifth faster
            return self._s(f"within noise ({by}) and faster: accepted as the cheaper script", "ok")
        if a.accepted:
            return self._s(f"better by {by}: accepted" if by else "accepted", "ok")
        if a.outcome == "tie" and by:
            return self._s(f"within noise ({by}): rejected", "note")
        if a.outcome == "worse" and by:
            return self._s(f"worse by {by}: rejected", "note")
        return self._s(f"rejected ({a.outcome or 'debugging'})", "note")

    def _optimizer(self, event: OptimizerStep) -> list[str]:
        a = event.attempt
        lines = [f"▲ optimiser: {a.id} ({a.kind}) {self._verdict(a)}; trace best {fmt_score(event.best_score)}"
                 f" ({event.best_attempt or '—'}); next step {event.step_size.value}; memory"
                 f" {counted(event.memory_size, 'success', 'successes')}, {counted(event.failure_size, 'failure')};"
                 f" debug {event.debug_round}"]
        if event.redo:
            lines.append(self._s("it changed nothing: the Coder carries out the plan again, told what the script built", "note"))
        if a.note:
            lines.append(self._s("note: " + one_line(a.note, 400), "dim"))  # a move names its new code last
        return lines

    def _run_level(self, event: Event) -> list[str]:
        if isinstance(event, CoordinatorMerge):
            stale = self._s(" stale", "note") if event.stale else ""
            changed = self._s(" new global best", "ok") if event.best_changed else ""
            added = f"; memory +{', '.join(event.memory_added)}" if event.memory_added else ""
            return [f"⇄ coordinator v{event.version} ← trace {event.source_trace} {event.attempt} (base v"
                    f"{event.base_version}{stale}); global best {fmt_score(event.global_best)}"
                    f" ({event.global_best_attempt or '—'}){changed}{added}"]
        if isinstance(event, TraceStarted):
            return [self._s(f"trace {event.trace} starts at step {event.step} on {event.node} (pid {event.pid})", "dim")]
        if isinstance(event, SyncStep):
            return [self._s(f"⇅ sync: trace {event.trace} (best {fmt_score(event.local_best)}) adopts "
                            f"{event.adopted_attempt} ({fmt_score(event.adopted_score)})", "note")]
        if isinstance(event, RunStarted):
            c = event.config
            self.accept_z = float(c.get("accept_z", self.accept_z))
            model = (c.get("model") or {}).get("model", "?")
            return [self._s(f"run {event.run_id}{' resumed' if event.resumed else ''} · task {event.task} · "
                            f"{counted(c.get('traces', 1), 'trace')} × {c.get('steps', '?')} steps · model {model}", "head")]
        if isinstance(event, Blended):
            return [self._s("ensemble: ", "head") + blend_line(event)]
        if isinstance(event, Selection):
            cands = "; ".join(f"{k}: {', '.join(fmt_score(s) for s in v)}{f' (ranked by {r})' if (r := ranked_by(event, k)) else ''}"
                              for k, v in event.candidates.items())
            return [self._s("selection: ", "head") + f"chose {event.chosen} from {cands or 'no candidates'}"]
        if isinstance(event, RunFinished):
            grade = event.grade or {}
            medal = next((m for m in ("gold", "silver", "bronze") if grade.get(f"{m}_medal")), "no medal")
            tokens = ", ".join(f"{agent} {n:,}" for agent, n in sorted(self.tokens.items()))
            lines = [self._s("finished: ", "head") + f"{one_line(event.reason, 120)}; best {event.best_attempt or '—'}"
                     f" dev {fmt_score(event.best_score)}; final score {fmt_score(grade.get('score'))} ({medal})"]
            if event.ensemble:
                e = event.ensemble
                members = ", ".join(f"{k} {fmt_score(v.get('test_score'))}" for k, v in e.get("members", {}).items())
                lines.append(f"blend on the test: members {members}; gain over {e.get('best_member')}: {fmt_score(e.get('gain'))}")
            return [*lines, f"model tokens: {tokens or 'none recorded'}"]
        return []


def blend_line(event: Blended) -> str:
    """The ensemble stage in one line: what was blended, with which weights, and the verdict."""
    if len(event.weights) < 2:
        return f"no blend: {event.reason} (tried {', '.join(event.tried) or 'nothing'})"
    weights = ", ".join(f"{k} ×{w:.2f}" for k, w in event.weights.items())
    return (f"blend of {weights} (from {len(event.tried)} scripts): out-of-fold dev {fmt_score(event.score)} "
            f"against {event.best_single} alone: {event.reason}")


def ranked_by(event: Selection, attempt: str) -> str:
    """The figure the selection ranked a candidate by: the mean of its scores, a blend's without its out-of-fold
    dev score where it has others ("" where it has one score, or the event was written before the selection
    recorded the figure)."""
    if attempt not in event.means or len(event.candidates.get(attempt, [])) < 2:
        return ""
    mean = fmt_score(event.means[attempt]) if event.means[attempt] is not None else "a run failed"
    return mean + (" on the extra splits" if attempt == BLEND_ID and len(event.candidates.get(attempt, [])) > 1 else "")


def render_lines(events: Iterable[Event], color: bool = False) -> Iterator[str]:
    """All lines for a sequence of events."""
    renderer = LogRenderer(color=color)
    for event in events:
        yield from renderer.lines(event)
