"""The Memory Keeper: owns success memory (momentum) and turns a diagnosis into an `UpdatePlan`."""

from __future__ import annotations

from collections.abc import Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import GomeAgent, latest
from gome.agents.context import TraceContext
from gome.llm import StructuredOutputError, ask_structured
from gome.llm.structured import ROLE_MAX_TOKENS, schema_hint
from gome.schema import Diagnosis, MemoryEntry, UpdatePlan
from gome.tools.optimizer import STEP_SIZES

__all__ = ["MemoryKeeper"]


def _memories_text(entries: list[MemoryEntry]) -> str:
    lines = [f"{e.id} (gain {e.gain:.4g}, step {e.step}): {e.direction}" + (f" [{'; '.join(e.changes)}]" if e.changes else "")
             for e in entries]
    return "\n".join(lines) or "(empty: no successful update yet)"


class MemoryKeeper(GomeAgent):
    output_type = UpdatePlan

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("memory_keeper", "Keeps success memory and plans the update: the momentum.", ctx)

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[UpdatePlan, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        diagnosis = latest(messages, Diagnosis)
        assert diagnosis is not None, "the Memory Keeper speaks after the Diagnostician"
        query = " ".join([diagnosis.direction, *diagnosis.problems])
        memories = state.memory.retrieve(query, now=state.step)
        prompt = self.prompt("memory_keeper", task=ctx.task_brief, diagnosis=diagnosis.model_dump_json(indent=1),
                             memories=_memories_text(memories), step_size=state.step_size.value, schema=schema_hint(UpdatePlan))
        usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        try:
            answer = await ask_structured(ctx.client, prompt, UpdatePlan, tries=ctx.tries, mode=ctx.structured,
                                          max_tokens=ROLE_MAX_TOKENS["memory_keeper"], on_call=self.record_call)
            plan = answer.value
            usage = RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            plan = UpdatePlan(direction=diagnosis.direction, step_size=state.step_size)
        plan = self._bounded(plan, {m.id for m in memories})
        state.last_plan = plan
        ctx.rundir.write_model(ctx.rundir.step_dir(state.trace, state.step) / "plan.json", plan)
        return plan, usage

    def _bounded(self, plan: UpdatePlan, offered: set[str]) -> UpdatePlan:
        """Clamps the step size to what the optimiser allows; keeps only memory ids that were offered."""
        allowed = self.ctx.state.step_size
        size = plan.step_size if STEP_SIZES.index(plan.step_size) <= STEP_SIZES.index(allowed) else allowed
        return plan.model_copy(update={"step_size": size, "memory_refs": [r for r in plan.memory_refs if r in offered]})
