"""One gome run from task folder to graded submission: set up the run folder, run the trace teams
around the Coordinator, blend the best attempts, select the final candidate, run it on the full public
data and grade it (gome.final)."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from autogen_core.models import ChatCompletionClient

from gome.agents import TraceContext
from gome.assemble import build_trace, limits_of
from gome.config import RunConfig
from gome.coordinator import COORDINATOR_CHECKPOINT, Candidate, Coordinator, logged_versions
from gome.ensemble import BLEND_ID, try_blend
from gome.errors import GomeUserError
from gome.events import EventLog, read_events
from gome.final import grade_final
from gome.llm import check_endpoint, make_client
from gome.roles import load_roles
from gome.schema import Event, RunFinished, RunStarted
from gome.selection import select_final
from gome.tasks import DevSplit, GradeReport, Task, load_task, make_dev_split
from gome.tasks.devsplit import folds_possible
from gome.team import run_trace, steps_done, stop_reason
from gome.tools.accounting import Accounting
from gome.tools.rundir import RunDir, atomic_write
from gome.trace import LocalHandle

__all__ = ["RunResult", "run", "resume", "new_run_id", "build_trace", "limits_of"]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    best_attempt: str | None
    dev_score: float | None
    grade: GradeReport | None
    reason: str


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _time_share(accounting: Accounting, budget_s: float) -> float:
    return accounting.elapsed_s / budget_s


def _folds(config: RunConfig, task: Task, rundir: RunDir, split: DevSplit | None) -> list[DevSplit]:
    """The extra dev folds (gome.tools.folds): as many of `confirm_folds` as fit beside the dev split."""
    if split is None:
        return []
    count = next((k for k in range(config.confirm_folds, 0, -1) if folds_possible(task, config.holdout, k)), 0)
    return [make_dev_split(task, rundir.root / f"dev-fold{k}", seed=config.seed, holdout=config.holdout, fold=k)
            for k in range(1, count + 1)]


def _final_splits(config: RunConfig, task: Task, rundir: RunDir, split: DevSplit | None) -> dict[str, DevSplit]:
    """The final selection's extra splits (gome.selection): the first `final_seeds` extra folds, else (a
    time-ordered split) dev splits drawn with the next seeds."""
    if split is None or not config.final_seeds:
        return {}
    count = config.final_seeds
    if folds_possible(task, config.holdout, count):
        return {f"fold{k}": make_dev_split(task, rundir.root / f"dev-fold{k}", seed=config.seed, holdout=config.holdout,
                                           fold=k) for k in range(1, count + 1)}
    seeds = [config.seed + 1 + i for i in range(count)]
    return {f"seed{s}": make_dev_split(task, rundir.root / "selection" / f"dev-seed{s}", seed=s, holdout=config.holdout)
            for s in seeds}


def _kept(rundir: RunDir, attempt: str, label: str) -> Path | None:
    """A run of `attempt` on extra fold `label` that a close call made (gome.tools.folds), in any trace's folder."""
    return next((p.parent for p in rundir.root.glob(f"traces/*/folds/{attempt}/{label}/score.txt")), None)


async def _run_local(config: RunConfig, task: Task, rundir: RunDir, split: DevSplit | None, folds: list[DevSplit],
                     client: ChatCompletionClient | None, log: EventLog, coordinator: Coordinator,
                     accounting: Accounting) -> str:
    for merge in coordinator.unlogged(logged_versions(rundir.events)):  # a killed run's merges the log missed
        log.emit(merge)
    slots = asyncio.Semaphore(max(1, config.cpus // config.exec_threads))
    handle = LocalHandle(coordinator)
    share = functools.partial(_time_share, accounting, config.time_budget_s) if config.time_budget_s else None
    contexts = []
    for trace in range(config.traces):
        ctx, link = build_trace(config, task, trace, rundir, split, client, log.emit, handle, slots, share, folds)
        assert link is not None
        link.load()  # a resumed run continues from the trace's last checkpoint
        contexts.append(ctx)

    def stop_all(reason: str) -> None:
        for ctx in contexts:
            ctx.state.stopped = True

    accounting.on_exhausted = stop_all
    if accounting.over_budget():
        stop_all(accounting.over_budget())
    results = await asyncio.gather(*(_run_or_done(ctx) for ctx in contexts), return_exceptions=True)
    return accounting.exhausted or stop_reason(results)


async def _run_or_done(ctx: TraceContext) -> str:
    """A trace that took all its steps before a resume is not started again."""
    return steps_done(ctx.state) if ctx.state.done else await run_trace(ctx)


def _dev_submission(rundir: RunDir, candidate: Candidate) -> Path:
    return rundir.root / "traces" / str(candidate.trace) / f"{candidate.step:03d}" / "submission.csv"


def _open_log(rundir: RunDir, listeners: Sequence[Callable[[Event], None]]) -> EventLog:
    log = EventLog(rundir.events)
    for listener in listeners:
        log.subscribe(listener)
    return log


async def _client(config: RunConfig, client: ChatCompletionClient | None) -> ChatCompletionClient | None:
    if client is None and config.backend == "local" and config.replay_from is None:
        client = make_client(config.model)
        await check_endpoint(client, config.model)
    return client


async def run(config: RunConfig, client: ChatCompletionClient | None = None,
              listeners: Sequence[Callable[[Event], None]] = (), run_id: str | None = None) -> RunResult:
    """Runs the optimisation in a new run folder and returns where its results are."""
    task = load_task(config.task_dir)
    roles = {name: str(role.path) for name, role in load_roles(config.roles_dir).items()}  # errors before anything starts
    client = await _client(config, client)
    rundir = RunDir(config.runs_dir / (run_id or new_run_id()))
    rundir.root.chmod(0o700)  # generated code runs as another user and must not read the dev answers
    atomic_write(rundir.root / "config.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    accounting = Accounting(config.budget, config.prices)
    log = _open_log(rundir, [accounting, *listeners])
    log.emit(RunStarted(run_id=rundir.root.name, task=task.name, config=config.model_dump(mode="json"), roles=roles))
    return await _search_and_finish(config, task, rundir, log, client, accounting)


def resumable(run_dir: Path) -> list[Event]:
    """The events of a run folder that `resume` can continue; GomeUserError, one line, where it cannot."""
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "events.jsonl").is_file():
        raise GomeUserError(f"{run_dir}: not a gome run folder (config.yaml or events.jsonl missing)")
    events = list(read_events(run_dir / "events.jsonl"))
    if any(isinstance(e, RunFinished) for e in events):
        raise GomeUserError(f"{run_dir}: this run has already finished")
    return events


async def resume(run_dir: Path, client: ChatCompletionClient | None = None,
                 listeners: Sequence[Callable[[Event], None]] = ()) -> RunResult:
    """Continues an interrupted run from its folder: traces, memory, Coordinator and budgets restored."""
    events = resumable(run_dir)
    config = RunConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    task = load_task(config.task_dir)
    client = await _client(config, client)
    accounting = Accounting(config.budget, config.prices)
    accounting.replay(events)
    log = _open_log(RunDir(run_dir), [accounting, *listeners])
    log.emit(RunStarted(run_id=run_dir.name, task=task.name, config=config.model_dump(mode="json"), resumed=True))
    return await _search_and_finish(config, task, RunDir(run_dir), log, client, accounting)


async def _search_and_finish(config: RunConfig, task: Task, rundir: RunDir, log: EventLog,
                             client: ChatCompletionClient | None, accounting: Accounting) -> RunResult:
    split = None if task.validation == "self_reported" else make_dev_split(
        task, rundir.root / "dev", seed=config.seed, holdout=config.holdout)
    folds = _folds(config, task, rundir, split)
    grade, chosen, ensemble = None, None, None
    judged = config.final_seeds > 0 and split is not None  # the final selection re-scores on extra splits
    try:
        if config.backend == "ray":
            from gome.ray_backend import run_ray

            reason, candidates, pool = await run_ray(config, task, rundir, split, folds, client, accounting, log.emit)
        else:
            coordinator = Coordinator.open(task.lower_is_better, rundir.root / COORDINATOR_CHECKPOINT)
            reason = await _run_local(config, task, rundir, split, folds, client, log, coordinator, accounting)
            candidates = coordinator.top_candidates(config.final_top_k, ties=judged)
            pool = coordinator.blend_pool(config.blend_size)
        if split is not None and candidates and config.blend_size > 1:
            blend, blended = await asyncio.to_thread(
                try_blend, task, split, pool, functools.partial(_dev_submission, rundir), rundir.root / BLEND_ID,
                config.accept_z, config.seed, judged)
            log.emit(blended)
            candidates += [blend] if blend is not None else []
        if candidates:
            slots = asyncio.Semaphore(max(1, config.cpus // config.exec_threads))
            chosen, selection = await select_final(task, candidates, _final_splits(config, task, rundir, split),
                                                   rundir.root / "selection", limits_of(config), slots,
                                                   functools.partial(_kept, rundir))
            log.emit(selection)
            grade, ensemble = await asyncio.to_thread(grade_final, task, chosen, rundir, limits_of(config))
        summary = accounting.summary()
        atomic_write(rundir.root / "summary.json", json.dumps(summary, indent=2))
        log.emit(RunFinished(best_attempt=chosen.attempt if chosen else None, best_score=chosen.score if chosen else None,
                             grade=grade.model_dump(mode="json") if grade else None, reason=reason, usage=summary,
                             ensemble=ensemble))
    finally:
        log.close()
    return RunResult(rundir.root, chosen.attempt if chosen else None, chosen.score if chosen else None, grade, reason)
