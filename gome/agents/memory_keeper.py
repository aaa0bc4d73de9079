"""The Memory Keeper: owns the memories (successes are momentum, failures negative momentum) and turns a
diagnosis into an `UpdatePlan`; a direction that already failed is recognised and replaced."""

from __future__ import annotations

from collections.abc import Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import AssistantMessage, RequestUsage, UserMessage

from gome.agents.base import NO_USAGE, GomeAgent, latest
from gome.agents.context import TraceContext
from gome.agents.views import failures_text, memories_text
from gome.llm import StructuredOutputError, ask_structured
from gome.llm.structured import schema_hint
from gome.optim import STEP_SIZES
from gome.optim.memory import words
from gome.schema import Diagnosis, MemoryEntry, Move, UpdatePlan
from gome.tools.moves import asks_for_model_change, pick

__all__ = ["MemoryKeeper"]

_SIZES = frozenset(size.value for size in STEP_SIZES)


def _says_something(direction: str, prompt: str) -> bool:
    """False for what a small model puts where a direction belongs: a step size ("rewrite") or a heading
    of its own prompt ("Tried, did not help")."""
    headings = {line.lstrip("# ").split("(")[0].strip(" .:").lower() for line in prompt.splitlines() if line.startswith("#")}
    return len(words(direction) - _SIZES) >= 2 and direction.strip(" .:").lower() not in headings


class MemoryKeeper(GomeAgent):
    output_type = UpdatePlan

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("memory_keeper", "Keeps the memories and plans the update: the momentum.", ctx)

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[UpdatePlan, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        diagnosis = latest(messages, Diagnosis)
        assert diagnosis is not None, "the Memory Keeper speaks after the Diagnostician"
        query = " ".join([diagnosis.direction, *diagnosis.problems])
        memories = state.memory.retrieve(query, now=state.step) if state.use_memory else []
        failures = state.memory.retrieve_failures(query, now=state.step) if state.use_memory else []
        prompt = self.prompt("memory_keeper", task=ctx.task_brief, diagnosis=diagnosis.model_dump_json(indent=1),
                             memories=memories_text(ctx.messages, memories), failures=failures_text(ctx.messages, failures),
                             step_size=state.step_size.value, schema=schema_hint(UpdatePlan))
        plan, usage = await self._ask(prompt, UpdatePlan(direction=diagnosis.direction, step_size=state.step_size))
        if not _says_something(plan.direction, str(prompt[-1].content)):
            plan = plan.model_copy(update={"direction": diagnosis.direction})
        repeated = self._repeats(plan)
        if repeated is not None:  # ask once more, naming the failure; then fall back without the model
            retry = [*prompt, AssistantMessage(content=plan.model_dump_json(), source="memory_keeper"),
                     UserMessage(content=self._repeat_note(plan, repeated, diagnosis), source="team")]
            second, more = await self._ask(retry, plan)
            usage = RequestUsage(prompt_tokens=usage.prompt_tokens + more.prompt_tokens,
                                 completion_tokens=usage.completion_tokens + more.completion_tokens)
            plan = self._replace(second if self._repeats(second) is None else self._fallback(diagnosis, plan),
                                 repeated)
        plan = self._concrete(self._bounded(plan, {m.id for m in memories}), diagnosis)
        ctx.rundir.write_model(ctx.rundir.step_dir(state.trace, state.step) / "plan.json", plan)
        return plan, usage

    async def _ask(self, prompt: list, default: UpdatePlan) -> tuple[UpdatePlan, RequestUsage]:
        ctx = self.ctx
        try:
            answer = await ask_structured(ctx.client, prompt, UpdatePlan, tries=ctx.tries, mode=ctx.structured,
                                          max_tokens=self.cap("memory_keeper"), on_call=self.record_call,
                                          repair=self.repair)
        except StructuredOutputError as exc:
            self.record_failure(exc.schema_name, exc.tries, exc.error)
            return default, NO_USAGE
        return answer.value, RequestUsage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)

    def _repeats(self, plan: UpdatePlan) -> MemoryEntry | None:
        state = self.ctx.state
        return state.memory.repeats(plan.direction, now=state.step) if state.use_memory else None

    def _moves(self, diagnosis: Diagnosis) -> list[Move]:
        """The moves offered, in the order the diagnosis's capacity sets, the one it chose first."""
        moves = self.ctx.moves(diagnosis.capacity)
        return sorted(moves, key=lambda m: m.key != diagnosis.next_move)  # stable

    def _repeat_note(self, plan: UpdatePlan, failure: MemoryEntry, diagnosis: Diagnosis) -> str:
        moves = self._moves(diagnosis)
        return self.ctx.messages.render("repeated_direction", direction=plan.direction, outcome=failure.outcome,
                                        step=failure.step, example=moves[0].key if moves else "")

    def _fallback(self, diagnosis: Diagnosis, plan: UpdatePlan) -> UpdatePlan:
        """The diagnosis's own direction if it has not failed, else the first move offered (untried by
        construction), else the first stock direction that has not failed; the memories the model's plan drew
        on stay referenced, its changes (for the failed direction) go."""
        if self._repeats(plan.model_copy(update={"direction": diagnosis.direction})) is not None:
            moves = self._moves(diagnosis)
            if moves:
                return plan.model_copy(update={"direction": moves[0].key}).carrying(moves[0])
        for direction in [diagnosis.direction, *self.ctx.messages.items("fallback_directions")]:
            candidate = plan.model_copy(update={"direction": direction, "changes": []})
            if self._repeats(candidate) is None:
                return candidate
        return plan

    def _replace(self, plan: UpdatePlan, failure: MemoryEntry) -> UpdatePlan:
        return plan.model_copy(update={"replaced": f"{failure.id}: {failure.direction}"})

    def _concrete(self, plan: UpdatePlan, diagnosis: Diagnosis) -> UpdatePlan:
        """The plan with the move it names (else the one the diagnosis chose, or names; else, for a plan that asks for
        a model change without naming an untried one, the first move of the model offered, in the order the
        diagnosis's capacity sets), its edit as the plan's change; a plan that restates a change already made takes
        the first move offered (the diagnosis's choice first).
        A move the plan's direction does not name becomes its direction too, so that the memories record what
        was tried: a plan that restates a change already made must not put that change among the failures, nor
        a direction about LightGBM's trees whose changes named the forest's a success of LightGBM's."""
        if plan.move is not None:
            return plan
        moves, text = self._moves(diagnosis), " ".join([plan.direction, *plan.changes])
        move = pick(text, moves)
        if move is not None:  # named by the changes alone (which the move's edit replaces), it names the direction too
            return (plan if pick(plan.direction, moves) == move else plan.model_copy(update={"direction": move.key})).carrying(move)
        made = self._made(text)
        if made is not None and moves:  # it restates a change already made: the next move offered instead
            return plan.model_copy(update={"direction": moves[0].key, "replaced": made}).carrying(moves[0])
        chosen = next((m for m in moves if m.key == diagnosis.next_move), None)
        model = next((m for m in moves if not m.about), None)  # a plan about the model gets a move of the model
        move = chosen or pick(diagnosis.direction, moves) or (model if asks_for_model_change(text) else None)
        return plan if move is None else plan.model_copy(update={"direction": move.key}).carrying(move)

    def _made(self, text: str) -> str | None:
        """The success (its memory id and move) whose move a plan's text names, where it names no move on offer: the
        embedded model's diagnosis often restates the change the attempt it diagnoses has just made."""
        state = self.ctx.state
        made = [(a, a.plan.move) for a in state.journal if a.accepted and a.plan and a.plan.move] if state.use_memory else []
        again = next(((a, move) for a, move in reversed(made) if pick(text, [move]) is not None), None)
        return f"m{again[0].trace}-{again[0].step}: {again[1].key}" if again else None

    def _bounded(self, plan: UpdatePlan, offered: set[str]) -> UpdatePlan:
        """Clamps the step size to what the optimiser allows; keeps only memory ids that were offered."""
        allowed = self.ctx.state.step_size
        size = plan.step_size if STEP_SIZES.index(plan.step_size) <= STEP_SIZES.index(allowed) else allowed
        return plan.model_copy(update={"step_size": size, "memory_refs": [r for r in plan.memory_refs if r in offered]})
