"""The shared base of gome's AgentChat agents: typed replies, event emission, model-call records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage, StructuredMessage
from autogen_core import CancellationToken
from autogen_core.models import RequestUsage, SystemMessage, UserMessage
from pydantic import BaseModel

from gome.agents.context import TraceContext
from gome.llm.retry import CURRENT_AGENT
from gome.llm.structured import CallRecord
from gome.roles import Role
from gome.schema import AgentMessage, Attempt, LLMCall, OptimizerStep, StructuredFailure

__all__ = ["GomeAgent", "latest", "NO_USAGE"]

M = TypeVar("M", bound=BaseModel)
NO_USAGE = RequestUsage(prompt_tokens=0, completion_tokens=0)  # a reply that cost no model call


def latest(messages: Sequence[BaseChatMessage], kind: type[M]) -> M | None:
    """The payload of the newest structured message of type `kind`."""
    for message in reversed(messages):
        if isinstance(message, StructuredMessage) and isinstance(message.content, kind):
            return message.content
    return None


# The sections a prompt budget may cut, per role: whether a section keeps its end (newest lines, the output's
# tail) or its start, and the lines it is never cut below (a short diff or the last lines of a run's output say
# more than the tokens they cost). The script, the plan and the diagnosis are never cut; the change against the
# parent only when no other section can be.
TRIMMABLE: dict[str, dict[str, tuple[str, int]]] = {
    "diagnostician": {"history": ("tail", 2), "diff": ("head", 12), "report": ("tail", 6), "failures": ("head", 2)},
    "memory_keeper": {"memories": ("head", 2), "failures": ("head", 2)},
    "coder": {"output": ("tail", 2), "others": ("head", 2), "rejected": ("head", 2), "error": ("tail", 2)},
}
CHARS_PER_TOKEN = 3.5  # the embedded model's tokenizer on prompts of code and prose


def fit_budget(role: Role, budget: int | None, values: dict[str, object]) -> tuple[str, str]:
    """The (system, user) prompt; above `budget` (estimated tokens) the longest trimmable section loses half
    of its lines, again and again, until the prompt fits or nothing is left to cut."""
    system, user = role.render(**values)
    cuttable = TRIMMABLE.get(role.name, {})
    while budget is not None and (len(system) + len(user)) / CHARS_PER_TOKEN > budget:
        long = [k for k, (_, floor) in cuttable.items() if isinstance(values.get(k), str) and _lines(str(values[k])) > floor]
        if not long:
            break
        key = max(long, key=lambda k: (k != "diff", len(str(values[k]))))
        keep, floor = cuttable[key]
        values = {**values, key: _halve(str(values[key]), keep, floor)}
        system, user = role.render(**values)
    return system, user


def _lines(text: str) -> int:
    return sum(not line.startswith("… (") for line in text.splitlines())


def _halve(text: str, keep: str, floor: int) -> str:
    lines = [line for line in text.splitlines() if not line.startswith("… (")]
    half = max(len(lines) // 2, floor)
    note = f"… ({len(lines) - half} lines cut to fit the prompt budget)"
    return "\n".join([note, *lines[-half:]] if keep == "tail" else [*lines[:half], note])


class GomeAgent(BaseChatAgent):
    """An agent of a trace team; subclasses implement `respond`."""

    output_type: type[BaseModel]

    def __init__(self, name: str, description: str, ctx: TraceContext) -> None:
        super().__init__(name, description)
        self.ctx = ctx

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (StructuredMessage[self.output_type],)  # type: ignore[name-defined]

    async def on_messages(self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken) -> Response:
        CURRENT_AGENT.set(self.name)  # model-call failures are attributed to this agent
        payload, usage = await self.respond(messages)
        return Response(chat_message=self.say(payload, usage))

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[BaseModel, RequestUsage]:
        raise NotImplementedError

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        return None

    def say(self, payload: BaseModel, usage: RequestUsage) -> StructuredMessage[Any]:
        """Emits the message as an event, addressed to the next speaker of the cycle, and returns it."""
        state = self.ctx.state
        self.ctx.emit(AgentMessage(
            trace=state.trace, step=state.step, source=self.name, target=self.ctx.next_speaker(self.name),
            content=getattr(payload, "code", "") or payload.model_dump_json(), structured=payload.model_dump(mode="json"),
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        ))
        return StructuredMessage[type(payload)](content=payload, source=self.name, models_usage=usage)  # type: ignore[misc, operator]

    def prompt(self, role: str, **values: object) -> list[SystemMessage | UserMessage]:
        system, user = fit_budget(self.ctx.roles[role], self.ctx.prompt_budgets.get(role), values)
        return [SystemMessage(content=system), UserMessage(content=user, source="team")]

    def cap(self, role: str) -> int:
        """The completion-token cap of a role's reply: its file's cap within the configured limit."""
        return min(self.ctx.roles[role].max_tokens, self.ctx.max_tokens)

    def repair(self, error: str) -> str:
        return self.ctx.messages.render("repair", error=error)

    def record_call(self, record: CallRecord) -> None:
        state = self.ctx.state
        self.ctx.emit(LLMCall(
            trace=state.trace, step=state.step, agent=self.name, prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens, latency_s=round(record.latency_s, 3), ok=record.ok, error=record.error,
            cached_tokens=record.cached_tokens,
        ))

    def record_failure(self, schema_name: str, tries: int, error: str) -> None:
        state = self.ctx.state
        self.ctx.emit(StructuredFailure(trace=state.trace, step=state.step, agent=self.name,
                                        schema_name=schema_name, tries=tries, error=error))

    def emit_step(self, attempt: Attempt) -> None:
        """Records an optimiser step: the attempt's verdict and the state after it."""
        state = self.ctx.state
        self.ctx.emit(OptimizerStep(
            trace=state.trace, step=state.step, attempt=attempt, best_score=state.best.score if state.best else None,
            best_attempt=state.best_id, step_size=state.step_size, memory_size=len(state.memory.successes),
            failure_size=len(state.memory.failures), debug_round=state.debug_round, mode=state.mode,
            reliability=round(state.strategy.reliability, 4) if state.strategy.name == "hybrid" else None,
            redo=state.needs_redo() and state.last is not None and state.last.id == attempt.id,
        ))
