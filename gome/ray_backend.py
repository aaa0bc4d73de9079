"""The Ray backend: each trace team runs as a Ray task with its own CPU/GPU request, the Coordinator
as a Ray actor (the same class as in-process). Teams cannot span processes, so a team is the unit
that Ray places.

No filesystem is shared. A worker works in a scratch folder on its own node, seeded by the driver with
the task's public files (never its answers), the dev split, the run's role prompts and, on resume, its
trace's folder. It ships every event, with the files its scratch folder gained or changed since the
event before, through a Ray queue; the driver alone writes the run folder, and its event log feeds the
budgets, the live view and the summary exactly as in a local run. The Coordinator actor runs on the
driver's node, where it writes its checkpoint."""

from __future__ import annotations

import asyncio
import json
import os
import queue as _queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autogen_core.models import ChatCompletionClient

from gome.assemble import build_trace
from gome.config import RunConfig
from gome.coordinator import COORDINATOR_CHECKPOINT, Candidate, Coordinator, logged_versions
from gome.errors import GomeUserError
from gome.events import parse_event
from gome.llm import make_client
from gome.schema import Event
from gome.tasks import DevSplit, Task
from gome.team import run_trace, steps_done, stop_reason
from gome.tools.accounting import Accounting
from gome.tools.rundir import RunDir, atomic_write
from gome.trace import RayHandle

if TYPE_CHECKING:
    from ray.actor import ActorHandle

__all__ = ["run_ray", "Outbox", "Inbox", "pack"]

SCRATCH = "gome-trace-"  # a worker's scratch folder: gome-trace-<pid>-<random> in its node's temporary folder
TASK_COPY = "task"  # where a worker's scratch folder holds the task's public files
ROLES_COPY, REPLAY_COPY = "roles", "replay"  # ... and the run's own role prompts, the run it replays
APPENDED = frozenset({"llm_calls.jsonl"})  # shared by the traces: each ships only the lines it added
Shipment = tuple[list[tuple[str, int, bytes]], str]  # (files as (path, offset, bytes), an event's JSON line)


def _files(root: Path) -> list[tuple[str, Path]]:
    """The regular files under `root` (no links, no temporary files of atomic writes), by relative path."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            found.append((path.relative_to(root).as_posix(), path))
    return found


def pack(root: Path, *parts: str) -> dict[str, bytes]:
    """The files under `root`/`part` for each part, keyed by their path relative to `root`."""
    return {rel: path.read_bytes() for part in parts if (root / part).is_dir()
            for rel, path in _files(root) if rel.startswith(part.rstrip("/") + "/")}


class Outbox:
    """A worker's sender: each event goes out with the files of its scratch folder that changed."""

    def __init__(self, root: Path, send: Callable[[Shipment], None]) -> None:
        self.root, self.send = root, send
        self._sent: dict[str, tuple[int, int]] = {}  # path -> (size, mtime_ns) as last shipped

    def mark_sent(self) -> None:
        """What is in the scratch folder now came from the driver: nothing to ship back."""
        for rel, path in _files(self.root):
            stat = path.stat()
            self._sent[rel] = (stat.st_size, stat.st_mtime_ns)

    def changed(self) -> list[tuple[str, int, bytes]]:
        out = []
        for rel, path in _files(self.root):
            stat = path.stat()
            key = (stat.st_size, stat.st_mtime_ns)
            if self._sent.get(rel) == key:
                continue
            data = path.read_bytes()
            offset = self._sent.get(rel, (0, 0))[0] if rel in APPENDED else 0
            offset = offset if offset <= len(data) else 0
            out.append((rel, offset, data[offset:]))
            self._sent[rel] = key
        return out

    def emit(self, event: Event) -> None:
        self.send((self.changed(), event.model_dump_json()))


class Inbox:
    """The driver's receiver: writes shipped files into the run folder, then emits the event."""

    def __init__(self, rundir: RunDir, emit: Callable[[Event], None]) -> None:
        self.rundir, self.emit = rundir, emit

    def write(self, rel: str, offset: int, data: bytes) -> None:
        target = (self.rundir.root / rel).resolve()
        if not target.is_relative_to(self.rundir.root.resolve()):
            raise ValueError(f"a worker shipped a file outside the run folder: {rel}")
        if rel in APPENDED:  # the lines this trace added to a file that every trace appends to
            with open(target, "ab") as fh:
                fh.write(data)
        else:
            atomic_write(target, data)

    def take(self, shipment: Shipment) -> None:
        files, line = shipment
        for rel, offset, data in files:
            self.write(rel, offset, data)
        self.emit(parse_event(line, self.rundir.events, 0))


def _under(folder: str, files: dict[str, bytes], strip: bool = False) -> dict[str, bytes]:
    """`files` moved under `folder` of the scratch folder (`strip`: without their own first folder)."""
    return {f"{folder}/{rel.split('/', 1)[1] if strip else rel}": data for rel, data in files.items()}


def _relocate(split: DevSplit, driver_root: Path, scratch: Path) -> DevSplit:
    move = lambda path: scratch / path.relative_to(driver_root)  # noqa: E731
    return split.model_copy(update={"input_dir": move(split.input_dir), "answers_path": move(split.answers_path)})


async def _trace_main(config: RunConfig, task: Task, trace: int, seed: dict[str, bytes], split: DevSplit | None,
                      folds: list[DevSplit], driver_root: Path, client: ChatCompletionClient | None, actor: Any, inbox: Any) -> str:
    import ray

    _sweep()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{os.getpid()}-"))  # on this worker's node
    try:
        for rel, data in seed.items():
            atomic_write(scratch / rel, data)
        outbox = Outbox(scratch, inbox.put)
        outbox.mark_sent()
        inner = client if client is not None or config.replay_from else make_client(config.model)
        started, budget = time.monotonic(), config.time_budget_s  # this session's share of the time budget
        share = (lambda: (time.monotonic() - started) / budget) if budget else None
        # this task holds exec_threads CPUs of its own: one execution at a time
        task = task.model_copy(update={"public_dir": scratch / TASK_COPY / task.public_dir.name})
        config = config.model_copy(update={
            "roles_dir": scratch / ROLES_COPY if config.roles_dir else None,
            "replay_from": scratch / REPLAY_COPY if config.replay_from else None})
        ctx, link = build_trace(config, task, trace, RunDir(scratch), split and _relocate(split, driver_root, scratch), inner,
                                outbox.emit, RayHandle(actor), asyncio.Semaphore(1), share,
                                [_relocate(f, driver_root, scratch) for f in folds])
        assert link is not None
        link.load()  # a resumed run continues from the trace's last checkpoint
        node = f"ray node {ray.get_runtime_context().get_node_id()[:12]}"
        return steps_done(ctx.state) if ctx.state.done else await run_trace(ctx, config.time_budget_s, node)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sweep() -> None:
    """Removes the scratch folders of workers that died without cleaning up (a killed run)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH}*-*"):
        pid = folder.name[len(SCRATCH):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _trace_task(*args: Any) -> str:
    return asyncio.run(_trace_main(*args))


def _drain(inbox: Any, receiver: Inbox, done: threading.Event) -> None:
    """Takes the workers' shipments until they are finished and the queue is empty."""
    while True:
        try:
            receiver.take(inbox.get(timeout=0.2))
        except _queue.Empty:
            if done.is_set() and inbox.empty():
                return


def _check_placeable(config: RunConfig, nodes: list[dict[str, float]]) -> None:
    """A trace team that no node can hold would wait for ever: say so before anything starts."""
    need = {"CPU": float(config.exec_threads), "GPU": float(config.gpus_per_trace)}
    if not any(all(node.get(kind, 0.0) >= amount for kind, amount in need.items() if amount) for node in nodes):
        most = ", ".join(f"{node.get('CPU', 0):g} CPU / {node.get('GPU', 0):g} GPU" for node in nodes) or "no node"
        raise GomeUserError(f"each trace team asks for {need['CPU']:g} CPU and {need['GPU']:g} GPU (--threads, "
                            f"--gpus-per-trace), which no node of the Ray cluster has ({most}); ask for less, "
                            "for instance --threads 1")


async def run_ray(config: RunConfig, task: Task, rundir: RunDir, split: DevSplit | None, folds: list[DevSplit],
                  client: ChatCompletionClient | None, accounting: Accounting,
                  emit: Callable[[Event], None]) -> tuple[str, list[Candidate], list[Candidate]]:
    """Runs the trace teams on Ray under the run's budgets (a spent budget stops the Coordinator, and
    every trace stops after its step in flight); returns the stop reason, the final candidates and the
    blend pool. The workers' events reach `emit` (the driver's event log, which `accounting` listens to)."""
    import ray
    from ray.util.queue import Queue  # its Empty is the standard library's queue.Empty
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not ray.is_initialized():
        # a new local Ray (never a stale one named in /tmp/ray) stays on the loopback; a cluster keeps its addresses
        cluster = config.ray_address is not None
        ray.init(address=config.ray_address or "local", num_cpus=None if cluster else config.cpus, include_dashboard=False,
                 _node_ip_address=None if cluster else "127.0.0.1", log_to_driver=False)
    _check_placeable(config, [n["Resources"] for n in ray.nodes() if n.get("Alive")])
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    checkpoint = rundir.root / COORDINATOR_CHECKPOINT  # the actor writes it after every push; read on resume
    # Ray types ActorClass.remote() as a handle or the class itself; at run time it is always a handle.
    actor = cast("ActorHandle[Coordinator]", ray.remote(Coordinator).options(
        num_cpus=0, scheduling_strategy=here).remote(task.lower_is_better, checkpoint))
    if checkpoint.is_file():
        await actor.load.remote(json.loads(checkpoint.read_text()))
        for merge in await actor.unlogged.remote(logged_versions(rundir.events)):  # the merges a killed run's log missed
            emit(merge)
    inbox = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})
    dev = [s.input_dir.parent.relative_to(rundir.root).as_posix() for s in ([split] if split else []) + folds]
    public = pack(task.public_dir.parent, task.public_dir.name)  # the task's public files, never its answers
    shared = {**pack(rundir.root, *dev), **_under(TASK_COPY, public)}
    if config.roles_dir is not None:
        shared |= _under(ROLES_COPY, pack(config.roles_dir.parent, config.roles_dir.name), strip=True)
    if config.replay_from is not None:
        shared[f"{REPLAY_COPY}/llm_calls.jsonl"] = (config.replay_from / "llm_calls.jsonl").read_bytes()
    remote = ray.remote(_trace_task).options(num_cpus=config.exec_threads, num_gpus=config.gpus_per_trace)
    refs = [remote.remote(config, task, k, {**shared, **pack(rundir.root, f"traces/{k}")}, split, folds, rundir.root, client,
                          actor, inbox) for k in range(config.traces)]
    accounting.on_exhausted = lambda reason: actor.stop.remote()
    done = threading.Event()
    drained = asyncio.get_running_loop().run_in_executor(None, _drain, inbox, Inbox(rundir, emit), done)
    try:
        results = await asyncio.gather(*refs, return_exceptions=True)
        candidates = await actor.top_candidates.remote(config.final_top_k, config.final_seeds > 0 and split is not None)
        pool = await actor.blend_pool.remote(config.blend_size)
    finally:
        done.set()
        await drained
        ray.kill(actor)
        inbox.shutdown(force=True)
    return accounting.exhausted or stop_reason(results), candidates, pool
