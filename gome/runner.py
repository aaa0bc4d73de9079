"""One gome run from task folder to graded submission: set up the run folder, run the trace team,
then run the best script on the full public data and grade it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from autogen_core.models import ChatCompletionClient

from gome.agents import TraceContext
from gome.config import RunConfig
from gome.events import EventLog
from gome.llm import check_endpoint, make_client
from gome.roles import load_roles
from gome.sandbox import SandboxLimits
from gome.schema import Event, RunFinished, RunStarted
from gome.tasks import GradeReport, SubmissionError, Task, grade_submission, load_task, make_dev_split, score_dev, task_summary
from gome.team import run_trace
from gome.tools.env_info import library_versions
from gome.tools.harness import run_attempt
from gome.tools.memory import SuccessMemory
from gome.tools.optimizer import TraceState
from gome.tools.rundir import RunDir, atomic_write

__all__ = ["RunResult", "run", "new_run_id"]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    best_attempt: str | None
    dev_score: float | None
    grade: GradeReport | None
    reason: str


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _limits(config: RunConfig) -> SandboxLimits:
    return SandboxLimits(timeout_s=config.exec_timeout_s, memory_mb=config.memory_mb, threads=config.threads)


def _finalise(task: Task, state: TraceState, rundir: RunDir, config: RunConfig) -> GradeReport | None:
    """Runs the best script on the real public data and grades its submission against private/."""
    if state.best is None:
        return None
    best, grades = rundir.best, []

    def grade_final(path: Path) -> float:
        grades.append(grade_submission(task, path))
        if not grades[-1].valid_submission or grades[-1].score is None:
            raise SubmissionError(grades[-1].error or "invalid submission")
        return grades[-1].score

    report, _ = run_attempt(state.best.attempt_id, state.best.code, task.public_dir, best, grade_final, _limits(config))
    grade = grades[-1] if grades else grade_submission(task, best / "submission.csv")
    atomic_write(best / "grade.json", grade.model_dump_json(indent=2))
    atomic_write(best / "final_run.json", report.model_dump_json(indent=2))
    return grade


async def run(config: RunConfig, client: ChatCompletionClient | None = None,
              listeners: tuple = (), run_id: str | None = None) -> RunResult:
    """Runs a single-trace optimisation and returns where its results are."""
    task = load_task(config.task_dir)
    roles = load_roles(config.roles_dir)
    if client is None:
        client = make_client(config.model)
        await check_endpoint(client, config.model)
    rundir = RunDir(config.runs_dir / (run_id or new_run_id()))
    rundir.root.chmod(0o700)  # generated code runs as another user and must not read the dev answers
    atomic_write(rundir.root / "config.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    log = EventLog(rundir.events)
    for listener in listeners:
        log.subscribe(listener)
    log.emit(RunStarted(run_id=rundir.root.name, task=task.name, config=config.model_dump(mode="json")))
    split = make_dev_split(task, rundir.root / "dev", seed=config.seed, holdout=config.holdout)
    state = TraceState(trace=0, lower_is_better=task.lower_is_better, max_steps=config.steps,
                       max_debug_rounds=config.max_debug_rounds, memory=SuccessMemory(config.memory_half_life))
    ctx = TraceContext(
        state=state, task_brief=task_summary(task), metric=task.metric, client=client,
        roles=roles, rundir=rundir, input_dir=split.input_dir, scorer=lambda path: score_dev(task, split, path),
        limits=_limits(config), emit=log.emit, libraries=library_versions(), json_output=config.model.json_output,
        tries=config.tries,
    )
    try:
        try:
            reason = await run_trace(ctx, config.time_budget_s)
        except Exception as exc:  # a failing endpoint mid-run: keep and grade what was found
            reason = f"stopped by error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        grade = _finalise(task, state, rundir, config)
        log.emit(_finished(state, grade, reason))
    finally:
        log.close()
    return RunResult(rundir.root, state.best.attempt_id if state.best else None,
                     state.best.score if state.best else None, grade, reason)


def _finished(state: TraceState, grade: GradeReport | None, reason: str) -> Event:
    return RunFinished(step=state.step, best_attempt=state.best.attempt_id if state.best else None,
                       best_score=state.best.score if state.best else None,
                       grade=grade.model_dump(mode="json") if grade else None, reason=reason)
