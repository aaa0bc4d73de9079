"""The Executor: runs the Coder's script in the sandbox, has the harness score it and measure its evidence,
and hands the result to the optimiser's update rule. A gain over the best that is positive but within the
noise is measured again on the extra dev folds (gome.tools.folds) before the rule decides. A script
identical to one already run is not run again: its report is reused and the update counts as a no-op."""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import Sequence
from pathlib import Path

from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import RequestUsage

from gome.agents.base import NO_USAGE, GomeAgent, latest
from gome.agents.context import TraceContext
from gome.schema import Attempt, CodeUpdate, Evidence, ExecutionDone, ExecutionReport, Remeasure
from gome.tools.harness import run_attempt

__all__ = ["Executor"]

_REFERENCES = 12  # earlier attempts whose predictions a new submission is compared with


class Executor(GomeAgent):
    output_type = ExecutionReport

    def __init__(self, ctx: TraceContext) -> None:
        super().__init__("executor", "Runs the script in the sandbox and reports the harness score.", ctx)

    def _folder(self, attempt: Attempt) -> Path:
        return self.ctx.rundir.root / "traces" / str(attempt.trace) / f"{attempt.step:03d}"

    async def _execute(self, update: CodeUpdate, out_dir: Path) -> tuple[ExecutionReport, list[str]]:
        ctx = self.ctx
        if not update.code:
            (out_dir / "solution.py").write_text("")
            report = ExecutionReport(attempt_id=update.attempt_id, status="crashed", exit_code=-1, duration_s=0.0,
                                     stdout_tail="", stderr_tail="", score=None,
                                     error=f"the Coder produced no script: {update.note}"[:300])
            return report, []
        call = functools.partial(run_attempt, update.attempt_id, update.code, ctx.input_dir, out_dir, ctx.scorer, ctx.limits)
        if ctx.exec_slots is None:
            report, result = await asyncio.to_thread(call)
        else:
            async with ctx.exec_slots:
                report, result = await asyncio.to_thread(call)
        return report, list(result.isolation)

    def _references(self, update: CodeUpdate) -> dict[str, Path]:
        """Earlier valid submissions to compare with: the parent first, then the best and this trace's newest."""
        state = self.ctx.state
        earlier = [a for a in reversed(list(state.journal)) if a.score is not None][:_REFERENCES]
        ordered = [a for a in (state.attempt(update.parent_id), state.best) if a is not None and a.score is not None]
        ordered += [a for a in earlier if a not in ordered]
        return {a.id: self._folder(a) / "submission.csv" for a in ordered}

    async def _measure(self, update: CodeUpdate, report: ExecutionReport, out_dir: Path) -> ExecutionReport:
        if self.ctx.evidence is None or report.score is None:
            return report
        evidence = await asyncio.to_thread(self.ctx.evidence, out_dir / "submission.csv", self._references(update),
                                           report.stdout_tail, update.parent_id, self.ctx.state.best_id)
        return report.model_copy(update={"evidence": evidence})

    async def _confirm(self, update: CodeUpdate, report: ExecutionReport) -> ExecutionReport:
        """The report with the gain over the best pooled over the extra dev folds, where the dev split's gain
        is positive and within the acceptance margin or under the folds' z standard errors (unchanged otherwise,
        when no fold's runs fit in the close call's time, or when a fold run failed)."""
        ctx, state = self.ctx, self.ctx.state
        gain, margin = state.gain(report)
        best, ev = state.best, report.evidence
        if (ctx.folds is None or gain is None or best is None or not best.code or ev is None or ev.gain_se is None
                or not ctx.folds.wanted(gain, ev.gain_se, margin)):
            return report
        folds = ctx.folds.count(report.duration_s, best.id, best.report.duration_s if best.report else 0.0)
        if not folds:
            return report
        ctx.emit(Remeasure(trace=state.trace, step=state.step, attempt=update.attempt_id, best=best.id, folds=folds,
                           gain=gain, gain_se=ev.gain_se))
        pooled = await ctx.folds.gain((update.attempt_id, update.code), (best.id, best.code), (gain, ev.gain_se),
                                      ctx.exec_slots or asyncio.Semaphore(1), folds)
        if pooled is None:
            return report
        return report.model_copy(update={"evidence": ev.model_copy(update={
            "folds": folds, "pooled_gain": pooled[0], "pooled_se": pooled[1]})})

    def _rerun(self, update: CodeUpdate, same: Attempt, out_dir: Path) -> ExecutionReport:
        """The report of an identical script already run, with its files copied, marked as identical."""
        assert same.report is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("solution.py", "stdout.txt", "stderr.txt", "submission.csv"):
            if (self._folder(same) / name).is_file():
                shutil.copy2(self._folder(same) / name, out_dir / name)
        evidence = (same.report.evidence or Evidence()).model_copy(update={"identical_to": same.id})
        note = self.ctx.messages.render("identical_code", other=same.id)
        return same.report.model_copy(update={"attempt_id": update.attempt_id, "duration_s": 0.0, "evidence": evidence,
                                              "error": (same.report.error + "; " if same.report.error else "") + note})

    async def respond(self, messages: Sequence[BaseChatMessage]) -> tuple[ExecutionReport, RequestUsage]:
        ctx, state = self.ctx, self.ctx.state
        update = latest(messages, CodeUpdate)
        assert update is not None, "the Executor speaks after the Coder"
        out_dir = ctx.rundir.step_dir(state.trace, state.step + 1)
        same = state.journal.same_code(update.code) if update.code else None
        isolation: list[str]
        if same is not None:
            report, isolation = self._rerun(update, same, out_dir), []
        else:
            report, isolation = await self._execute(update, out_dir)
            report = await self._confirm(update, await self._measure(update, report, out_dir))
        attempt = state.record(update, report)
        ctx.emit(ExecutionDone(trace=state.trace, step=state.step, report=report, isolation=isolation))
        self.emit_step(attempt)
        if ctx.after_step is not None:
            await ctx.after_step(attempt)
        return report, NO_USAGE
