"""The Coder: applies the update plan to the best script, drafts a first one, or debugs a crash."""

from __future__ import annotations

from collections.abc import Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import GomeAgent, latest
from gome.agents.context import TraceContext
from gome.llm import StructuredOutputError, ask_code
from gome.llm.structured import ROLE_MAX_TOKENS
from gome.schema import AttemptKind, CodeUpdate, ExecutionReport, UpdatePlan
from gome.tools.hints import fix_imports
from gome.tools.patch import merge_functions, top_level_functions

__all__ = ["Coder"]


def _plan_text(plan: UpdatePlan | None) -> str:
    if plan is None:
        return ""
    changes = "".join(f"\n- {c}" for c in plan.changes)
    return f"Direction: {plan.direction}\nStep size: {plan.step_size.value}{changes}"


def _feedback_text(report: ExecutionReport | None) -> str:
    """Scalar feedback only (tree search): the parent's score and output, no diagnosis."""
    if report is None:
        return ""
    return (f"The script scored {report.score}. Make one atomic change that should improve the score.\n"
            f"Its output ended with:\n{report.stdout_tail[-600:]}")


def reply_cap(base: str) -> int:
    """Completion tokens for a reply about `base`: about twice its length (code runs ~3.5 characters a
    token), at least 768; a small model that starts repeating itself is cut off there, not at the role cap."""
    cap = ROLE_MAX_TOKENS["coder"]
    return min(cap, max(768, len(base) // 2 + 256)) if base else cap


class Coder(GomeAgent):
    output_type = CodeUpdate

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("coder", "Writes the new script: applies the update.", ctx)

    def _mode(self) -> tuple[AttemptKind, str | None, str]:
        """(kind, parent attempt id, parent code) for the next attempt."""
        state = self.ctx.state
        if state.mode == "explore":
            kind, parent_id = state.explore_pick()
            return kind, parent_id, self.ctx.codes.get(parent_id or "", "")
        if state.needs_debug():
            assert state.last_update is not None
            return "debug", state.last_update.attempt_id, state.last_update.code
        if state.best is None:
            return "draft", None, ""
        return "improve", state.best.attempt_id, state.best.code

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[CodeUpdate, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        kind, parent_id, parent_code = self._mode()
        base = parent_code or (ctx.starter if kind == "draft" else "")  # what a partial reply is merged into
        report = state.reports.get(parent_id or "") if state.mode == "explore" else state.last_report
        error = f"{report.error}\n{report.stderr_tail[-1500:]}" if report else ""
        if kind == "debug" and state.debug_round:
            error += f"\n(Debug round {state.debug_round + 1}: the previous fix did not remove this error; change the approach.)"
        plan = _feedback_text(report) if state.mode == "explore" else _plan_text(latest(messages, UpdatePlan))
        prompt = self.prompt(
            "coder", task=ctx.task_brief, libraries=ctx.libraries, timeout_min=max(1, int(ctx.limits.timeout_s // 60)),
            threads=ctx.limits.threads, mode=kind, code=parent_code, error=error, plan=plan,
            others=await ctx.others() if kind == "draft" and ctx.others else "", starter=ctx.starter,
            functions=", ".join(top_level_functions(parent_code)),
        )
        attempt_id = f"{state.trace}-{state.step + 1:03d}"
        try:
            answer = await ask_code(ctx.client, prompt, tries=ctx.tries, max_tokens=reply_cap(base),
                                    on_call=self.record_call)
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            update = CodeUpdate(attempt_id=attempt_id, parent_id=parent_id, kind=kind, code="", note=exc.error)
            return update, RequestUsage(prompt_tokens=0, completion_tokens=0)
        code, merged = merge_functions(base, answer.value, only_functions=kind == "draft" and bool(ctx.starter))
        code, notes = fix_imports(code)  # a deterministic fix of the commonest small-model slip
        notes = merged + notes
        ctx.codes[attempt_id] = code
        update = CodeUpdate(attempt_id=attempt_id, parent_id=parent_id, kind=kind, code=code, note="; ".join(notes))
        return update, RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
