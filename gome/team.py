"""A trace team: the four agents in one AgentChat group chat, speaking in the optimisation cycle.

The speaker order is fixed by `next_speaker` (Diagnostician -> Memory Keeper -> Coder -> Executor,
with an immediate Coder debug round after a crash, and the Coder straight after the Executor where gome drafts from
the starter after the Coder's drafts crashed), so no model call is spent choosing speakers.
The chat ends when the trace's step budget is spent or its wall-clock budget runs out.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from autogen_agentchat.base import TerminationCondition
from autogen_agentchat.conditions import FunctionalTermination, TimeoutTermination
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, StructuredMessage, TextMessage
from autogen_agentchat.teams import SelectorGroupChat

from gome.agents import Coder, Diagnostician, Executor, MemoryKeeper, TraceContext
from gome.optim.state import TraceState
from gome.schema import AgentMessage, CodeUpdate, Diagnosis, ExecutionReport, TraceStarted, UpdatePlan

__all__ = ["build_team", "run_trace", "steps_done", "stop_reason"]


def build_team(ctx: TraceContext, time_budget_s: float | None = None) -> SelectorGroupChat:
    """The four agents of one trace as a SelectorGroupChat with a deterministic selector."""
    participants = [Diagnostician(ctx), MemoryKeeper(ctx), Coder(ctx), Executor(ctx)]

    def select(thread: Sequence[BaseAgentEvent | BaseChatMessage]) -> str:
        return ctx.next_speaker(thread[-1].source if thread else "user")

    termination: TerminationCondition = FunctionalTermination(lambda _messages: ctx.state.done)
    if time_budget_s is not None:
        termination = termination | TimeoutTermination(time_budget_s)
    return SelectorGroupChat(
        participants,  # type: ignore[arg-type]
        model_client=ctx.client,
        selector_func=select,
        termination_condition=termination,
        custom_message_types=[StructuredMessage[Diagnosis], StructuredMessage[UpdatePlan], StructuredMessage[CodeUpdate],
                              StructuredMessage[ExecutionReport]],
    )


async def run_trace(ctx: TraceContext, time_budget_s: float | None = None, node: str = "") -> str:
    """Runs one trace team until its budget is spent; returns the stop reason. `node`: where it runs."""
    ctx.emit(TraceStarted(trace=ctx.state.trace, step=ctx.state.step, node=node or socket.gethostname(), pid=os.getpid()))
    team = build_team(ctx, time_budget_s)
    task = "Optimise the solution of this task.\n\n" + ctx.task_brief
    ctx.emit(AgentMessage(trace=ctx.state.trace, step=ctx.state.step, source="user",
                          target=ctx.next_speaker("user"), content=task))
    result = await team.run(task=TextMessage(content=task, source="user"))
    if ctx.state.done and not ctx.state.stopped:  # AutoGen's words for it: "Functional termination condition met"
        return steps_done(ctx.state)
    return result.stop_reason or "finished"


def steps_done(state: TraceState) -> str:
    """The stop reason of a trace that took all its steps (this session, or before a resume)."""
    return f"steps done ({state.step} of {state.max_steps})"


def stop_reason(results: Sequence[object]) -> str:
    """One line for the stop reasons of several traces (results of gather with return_exceptions)."""
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        return f"stopped by error: {type(errors[0]).__name__}: {' '.join(str(errors[0]).split())[:300]}"
    return "; ".join(sorted({str(r) for r in results}))
