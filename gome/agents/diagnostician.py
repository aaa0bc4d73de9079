"""The Diagnostician: turns the last execution report and code diff into a `Diagnosis` (the gradient)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import GomeAgent, latest
from gome.agents.context import TraceContext
from gome.llm import StructuredOutputError, ask_structured
from gome.llm.structured import ROLE_MAX_TOKENS, schema_hint
from gome.schema import Diagnosis, ExecutionReport

__all__ = ["Diagnostician", "fallback_diagnosis"]


def fallback_diagnosis(report: ExecutionReport) -> Diagnosis:
    """Scalar feedback only: what the harness alone can say (no model, or the no-diagnosis ablation)."""
    output = [report.stdout_tail[-600:]] if report.stdout_tail.strip() else []
    if report.status == "ok":
        return Diagnosis(summary=f"The attempt ran and scored {report.score}.", evidence=output,
                         direction="Improve the score.")
    return Diagnosis(summary=f"The attempt failed ({report.status}).", problems=[report.error], evidence=output,
                     direction=f"Fix the failure: {report.error}")


def _report_text(report: ExecutionReport) -> str:
    lines = [f"status: {report.status}", f"score: {report.score}", f"seconds: {report.duration_s}"]
    if report.error:
        lines.append(f"error: {report.error}")
    lines.append("stdout (tail):\n" + (report.stdout_tail[-1200:] or "(empty)"))
    if report.stderr_tail.strip():
        lines.append("stderr (tail):\n" + report.stderr_tail[-1200:])
    return "\n".join(lines)


class Diagnostician(GomeAgent):
    output_type = Diagnosis

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("diagnostician", "Diagnoses the last attempt: the gradient.", ctx)

    def _diff(self) -> str:
        update = self.ctx.state.last_update
        if update is None:
            return "(no attempt yet)"
        parent = self.ctx.codes.get(update.parent_id or "", "")
        diff = difflib.unified_diff(parent.splitlines(), update.code.splitlines(), "before", "after", lineterm="", n=1)
        return "\n".join(diff)[:3000] or "(no change)"

    def _history(self) -> str:
        rows = [f"{a.id} {a.kind} {a.status} score={a.score} {'accepted' if a.accepted else 'rejected'}"
                for a in self.ctx.state.journal[-6:]]
        return "\n".join(rows) or "(none)"

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[Diagnosis, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        report = latest(messages, ExecutionReport) or state.last_report
        assert report is not None, "the Diagnostician speaks only after an execution"
        if not ctx.diagnose:
            diagnosis, usage = fallback_diagnosis(report), RequestUsage(prompt_tokens=0, completion_tokens=0)
        else:
            diagnosis, usage = await self._ask(report)
        ctx.rundir.write_model(ctx.rundir.step_dir(state.trace, state.step) / "diagnosis.json", diagnosis)
        if diagnosis.leak_or_overfit and state.veto(report.attempt_id):
            vetoed = next(a for a in state.journal if a.id == report.attempt_id).model_copy(update={"accepted": False})
            self.emit_step(vetoed)
            if ctx.after_step is not None and state.last_update is not None:
                await ctx.after_step(vetoed, state.last_update)  # retract it from the global best
        return diagnosis, usage

    async def _ask(self, report: ExecutionReport) -> tuple[Diagnosis, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        prompt = self.prompt(
            "diagnostician", task=ctx.task_brief, metric=ctx.metric,
            direction="lower" if state.lower_is_better else "higher", attempt=report.attempt_id,
            report=_report_text(report), diff=self._diff(), history=self._history(),
            best_score=state.best.score if state.best else "none yet", schema=schema_hint(Diagnosis),
        )
        try:
            answer = await ask_structured(ctx.client, prompt, Diagnosis, tries=ctx.tries, mode=ctx.structured,
                                          max_tokens=ROLE_MAX_TOKENS["diagnostician"], on_call=self.record_call)
            diagnosis, usage = answer.value, RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            diagnosis, usage = fallback_diagnosis(report), RequestUsage(prompt_tokens=0, completion_tokens=0)
        return diagnosis, usage
