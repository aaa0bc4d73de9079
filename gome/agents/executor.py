"""The Executor: runs the Coder's script in the sandbox, has the harness score it, applies the update rule."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import GomeAgent, latest
from gome.agents.context import TraceContext
from gome.schema import CodeUpdate, ExecutionDone, ExecutionReport
from gome.tools.harness import run_attempt

__all__ = ["Executor"]


class Executor(GomeAgent):
    output_type = ExecutionReport

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("executor", "Runs the script in the sandbox and reports the harness score.", ctx)

    async def _execute(self, update: CodeUpdate) -> tuple[ExecutionReport, list[str]]:
        ctx, state = self.ctx, self.ctx.state
        out_dir = ctx.rundir.step_dir(state.trace, state.step + 1)
        if not update.code:
            (out_dir / "solution.py").write_text("")
            report = ExecutionReport(attempt_id=update.attempt_id, status="crashed", exit_code=-1, duration_s=0.0,
                                     stdout_tail="", stderr_tail="", score=None,
                                     error=f"the Coder produced no script: {update.note}"[:300])
            return report, []
        args = (run_attempt, update.attempt_id, update.code, ctx.input_dir, out_dir, ctx.scorer, ctx.limits)
        if ctx.exec_slots is None:
            report, result = await asyncio.to_thread(*args)
        else:
            async with ctx.exec_slots:
                report, result = await asyncio.to_thread(*args)
        return report, list(result.isolation)

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[ExecutionReport, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        update = latest(messages, CodeUpdate)
        assert update is not None, "the Executor speaks after the Coder"
        report, isolation = await self._execute(update)
        attempt = state.record(update, report)
        ctx.emit(ExecutionDone(trace=state.trace, step=state.step, report=report, isolation=isolation))
        self.emit_step(attempt)
        if ctx.after_step is not None:
            await ctx.after_step(attempt, update)
        return report, RequestUsage(prompt_tokens=0, completion_tokens=0)
