"""The Ray backend: each trace team runs as a Ray task with its own CPU/GPU request, the Coordinator
as a Ray actor (the same class as in-process). Teams cannot span processes, so a team is the unit
that Ray places. Workers append to the run's events.jsonl themselves (one write per line) and the actor
writes the Coordinator's checkpoint, so the run folder must be on a filesystem that every node sees
(always true for a local cluster). The driver follows the event log for the run's budgets."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autogen_core.models import ChatCompletionClient

from gome.assemble import build_trace
from gome.config import RunConfig
from gome.coordinator import COORDINATOR_CHECKPOINT, Candidate, Coordinator
from gome.events import EventLog, follow_events, read_events
from gome.llm import make_client
from gome.schema import LLMCall
from gome.tasks import DevSplit, load_task
from gome.tools.accounting import Accounting
from gome.team import run_trace, stop_reason
from gome.tools.rundir import RunDir
from gome.trace import RayHandle

if TYPE_CHECKING:
    from ray.actor import ActorHandle

__all__ = ["run_ray"]


async def _trace_main(config: RunConfig, trace: int, rundir: RunDir, split: DevSplit | None,
                      client: ChatCompletionClient | None, actor: Any) -> str:
    import ray

    log = EventLog(rundir.events)
    try:
        inner = client if client is not None or config.replay_from else make_client(config.model)
        started, budget = time.monotonic(), config.time_budget_s  # this session's share of the time budget
        share = (lambda: (time.monotonic() - started) / budget) if budget else None
        # this task holds exec_threads CPUs of its own: one execution at a time
        ctx, link = build_trace(config, load_task(config.task_dir), trace, rundir, split, inner, log.emit,
                                RayHandle(actor), asyncio.Semaphore(1), share)
        assert link is not None
        link.load()  # a resumed run continues from the trace's last checkpoint
        node = f"ray node {ray.get_runtime_context().get_node_id()[:12]}"
        return "steps done" if ctx.state.done else await run_trace(ctx, config.time_budget_s, node)
    finally:
        log.close()


def _trace_task(*args: Any) -> str:
    return asyncio.run(_trace_main(*args))


def _watch(accounting: Accounting, events: Path, offset: int, stop: threading.Event) -> None:
    """Feeds the workers' model calls, as they reach the event log after `offset`, to the driver's budget."""
    for event in follow_events(events, stop=stop.is_set, offset=offset):
        if isinstance(event, LLMCall):
            accounting(event)


async def run_ray(config: RunConfig, rundir: RunDir, split: DevSplit | None, lower_is_better: bool,
                  client: ChatCompletionClient | None,
                  accounting: Accounting) -> tuple[str, list[Candidate], list[Candidate]]:
    """Runs the trace teams on Ray under the run's budgets (a spent budget stops the Coordinator, and
    every trace stops after its step in flight); returns the stop reason, the final candidates and the
    blend pool. `accounting` ends with every worker's calls counted."""
    import ray

    if not ray.is_initialized():
        # a local Ray stays on the loopback; an existing cluster keeps the addresses its nodes have
        cluster = config.ray_address is not None
        ray.init(address=config.ray_address, num_cpus=None if cluster else config.cpus, include_dashboard=False,
                 _node_ip_address=None if cluster else "127.0.0.1", log_to_driver=False)
    # Ray types ActorClass.remote() as a handle or the class itself; at run time it is always a handle.
    checkpoint = rundir.root / COORDINATOR_CHECKPOINT  # the actor writes it after every push; read on resume
    actor = cast("ActorHandle[Coordinator]", ray.remote(Coordinator).options(num_cpus=0).remote(lower_is_better, checkpoint))
    if checkpoint.is_file():
        await actor.load.remote(json.loads(checkpoint.read_text()))
    remote = ray.remote(_trace_task).options(num_cpus=config.exec_threads, num_gpus=config.gpus_per_trace)
    refs = [remote.remote(config, k, rundir, split, client, actor) for k in range(config.traces)]
    accounting.on_exhausted = lambda reason: actor.stop.remote()
    stop = threading.Event()
    offset = rundir.events.stat().st_size if rundir.events.is_file() else 0  # earlier sessions: counted on resume
    watcher = asyncio.get_running_loop().run_in_executor(None, _watch, accounting, rundir.events, offset, stop)
    try:
        results = await asyncio.gather(*refs, return_exceptions=True)
        candidates = await actor.top_candidates.remote(config.final_top_k)
        pool = await actor.blend_pool.remote(config.blend_size)
    finally:
        stop.set()
        await watcher
        ray.kill(actor)
    accounting.recount(read_events(rundir.events))
    return accounting.exhausted or stop_reason(results), candidates, pool
