"""The Diagnostician: turns an executed attempt (its script, output, plan and the harness's evidence)
into a `Diagnosis`, the gradient, and attaches it to the attempt's journal record. Its sign along the
model's capacity (more, less) is the model's reading of the fit evidence, or the harness's where the model
leaves it unclear."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage
from pydantic import ConfigDict, Field, create_model

from gome.agents.base import NO_USAGE, GomeAgent, latest
from gome.agents.context import TraceContext
from gome.agents.views import (
    diff_text, evidence_text, failures_text, fit_capacity, history_text, moves_text, plan_text, report_text, score_text,
)
from gome.llm import StructuredOutputError, ask_structured
from gome.llm.structured import schema_hint
from gome.optim.veto import supports_flag
from gome.roles import Messages
from gome.schema import Attempt, Diagnosis, ExecutionReport, Move
from gome.tasks.starter import split_starter_tail
from gome.tools.estimators import calls_text

__all__ = ["Diagnostician", "fallback_diagnosis", "choosing"]


def fallback_diagnosis(messages: Messages, report: ExecutionReport) -> Diagnosis:
    """Scalar feedback only: what the harness alone can say (no model, or the no-diagnosis ablation)."""
    output = [report.stdout_tail[-600:]] if report.stdout_tail.strip() else []
    if report.status == "ok":
        return Diagnosis(summary=messages.render("fallback_ok", score=report.score), evidence=output,
                         direction=messages.render("fallback_ok_direction"))
    return Diagnosis(summary=messages.render("fallback_failed", status=report.status), problems=[report.error],
                     evidence=output, direction=messages.render("fallback_failed_direction", error=report.error))


def _require_next_move(schema: dict[str, Any]) -> None:
    schema.setdefault("required", []).append("next_move")


class _Choosing(Diagnosis):
    model_config = ConfigDict(json_schema_extra=_require_next_move)


def choosing(moves: list[Move]) -> type[Diagnosis]:
    """The Diagnosis the model replies with: where gome offers moves, its next_move is one of them, by name, and the
    schema requires it, so a server's grammar holds the model to the list (a reply that leaves it out still parses).
    In 34 diagnoses of the gradient cells of stops 20 to 23 the embedded model's free direction named the change the
    diagnosed attempt had just made 32 times, so the fallback order, not the diagnosis, chose every move."""
    if not moves:
        return Diagnosis
    names = tuple(dict.fromkeys(m.key for m in moves))
    field = Diagnosis.model_fields["next_move"]
    choice: Any = (Literal[names], Field(default="", description=field.description))
    return create_model("Diagnosis", __base__=_Choosing, next_move=choice)


class Diagnostician(GomeAgent):
    output_type = Diagnosis

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("diagnostician", "Diagnoses the last attempt: the gradient.", ctx)

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[Diagnosis, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        report = latest(messages, ExecutionReport)
        attempt = state.journal.get(report.attempt_id) if report else state.last
        assert attempt is not None and attempt.report is not None, "the Diagnostician speaks only after an execution"
        if not ctx.diagnose:
            diagnosis, usage = fallback_diagnosis(ctx.messages, attempt.report), NO_USAGE
        else:
            diagnosis, usage = await self._ask(attempt)
            sign = fit_capacity(attempt.report.evidence, state.lower_is_better)
            if diagnosis.capacity == "unclear" and sign != "unclear":  # the harness's reading, where the model has none
                diagnosis = diagnosis.model_copy(update={"capacity": sign})
        state.diagnose(attempt.id, diagnosis)
        ctx.rundir.write_model(ctx.rundir.step_dir(state.trace, attempt.step) / "diagnosis.json", diagnosis)
        if diagnosis.leak_or_overfit and attempt.contender:
            await self._veto(attempt)
        return diagnosis, usage

    async def _veto(self, attempt: Attempt) -> None:
        """Vetoes a candidate the diagnosis flags, when the harness's evidence backs the flag."""
        ctx, state = self.ctx, self.ctx.state
        assert attempt.report is not None
        if not supports_flag(attempt.report, state.references, state.lower_is_better):
            note = ctx.messages.render("flag_unsupported")
            self.emit_step(state.journal.update(attempt.id, note="; ".join(filter(None, [attempt.note, note]))))
            return
        state.veto(attempt.id)
        vetoed = state.journal[attempt.id]
        self.emit_step(vetoed)
        if ctx.after_step is not None:
            await ctx.after_step(vetoed)  # retract it from the candidates, the global best and shared memory

    def _values(self, attempt: Attempt, moves: list[Move]) -> dict[str, object]:
        ctx, state = self.ctx, self.ctx.state
        parent = state.attempt(attempt.parent_id)
        query = attempt.plan.direction if attempt.plan else attempt.kind
        failures = state.memory.retrieve_failures(query, now=state.step) if state.use_memory else []
        assert attempt.report is not None
        return dict(
            task=ctx.task_brief, libraries=ctx.libraries, metric=ctx.metric, direction="lower" if state.lower_is_better else "higher",
            attempt=attempt.id, kind=attempt.kind, built=calls_text(attempt.code), report=report_text(attempt.report, out_chars=800),
            evidence=evidence_text(ctx.messages, attempt, state.lower_is_better), code=self._script(attempt.code),
            plan=plan_text(attempt.plan), parent=parent.id if parent else "",
            parent_score=score_text(parent.score) if parent else "none", diff=diff_text(parent.code, attempt.code, limit=1500) if parent else "",
            note=attempt.note, history=history_text(state.journal.tail(8)), failures=failures_text(ctx.messages, failures),
            best_score=score_text(state.best.score) if state.best else "none yet", moves=moves_text(ctx.messages, moves),
            schema=schema_hint(Diagnosis),
        )

    def _moves(self, attempt: Attempt) -> list[Move]:
        """The moves offered, in the order the harness's reading of the fit sets."""
        return self.ctx.moves(fit_capacity(attempt.report.evidence if attempt.report else None, self.ctx.state.lower_is_better))

    def _script(self, code: str) -> str:
        """The attempt's script as the Diagnostician reads it: up to make_model() where the rest is the starter's."""
        if not code:
            return "(no script)\n"
        head, cut = split_starter_tail(code, self.ctx.starter)
        return f"{head.rstrip()}\n\n\n{self.ctx.messages.render('starter_tail')}\n" if cut else code

    async def _ask(self, attempt: Attempt) -> tuple[Diagnosis, RequestUsage]:
        ctx, moves = self.ctx, self._moves(attempt)
        prompt = self.prompt("diagnostician", **self._values(attempt, moves))
        try:
            answer = await ask_structured(ctx.client, prompt, choosing(moves), tries=ctx.tries, mode=ctx.structured,
                                          max_tokens=self.cap("diagnostician"), on_call=self.record_call,
                                          repair=self.repair)
            diagnosis = Diagnosis.model_validate(answer.value.model_dump())
            usage = RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            assert attempt.report is not None
            diagnosis, usage = fallback_diagnosis(ctx.messages, attempt.report), NO_USAGE
        return diagnosis, usage
