"""The Ray backend on a local Ray started on 127.0.0.1: trace teams as Ray tasks, the Coordinator as an actor."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

from openai_server import serve  # noqa: E402
from scripted_model import policy  # noqa: E402

from gome.config import RunConfig  # noqa: E402
from gome.events import read_events  # noqa: E402
from gome.llm import ScriptedChatCompletionClient  # noqa: E402
from gome.runner import resume, run  # noqa: E402
from gome.schema import CoordinatorMerge, ExecutionDone, LLMCall, RunFinished, RunStarted, TraceStarted  # noqa: E402
from gome.tasks import prepare_task  # noqa: E402


def test_two_traces_on_local_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tests_dir = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    task = prepare_task("penguins", tmp_path / "penguins")
    client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", traces=2, cpus=2, steps=3, final_seeds=0,
                       exec_timeout_s=120, backend="ray")
    try:
        result = asyncio.run(run(config, client=client))
    finally:
        ray.shutdown()
    assert result.grade is not None and result.grade.valid_submission, result.reason
    events = list(read_events(result.run_dir / "events.jsonl"))
    merges = [e for e in events if isinstance(e, CoordinatorMerge)]
    assert {m.source_trace for m in merges} == {0, 1} and sorted(m.version for m in merges) == list(range(1, 7))
    assert len([e for e in events if isinstance(e, ExecutionDone)]) == 6
    assert isinstance(events[-1], RunFinished) and "error" not in events[-1].reason


def test_a_token_budget_stops_a_ray_run_and_its_summary_counts_the_workers_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' model calls reach the driver's budget through the event log; a spent budget stops the
    Coordinator and every trace after its step in flight."""
    tests_dir = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    task = prepare_task("penguins", tmp_path / "penguins")
    client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", traces=2, cpus=2, steps=8, final_seeds=0,
                       exec_timeout_s=120, backend="ray", token_budget=6000)
    try:
        result = asyncio.run(run(config, client=client))
    finally:
        ray.shutdown()
    events = list(read_events(result.run_dir / "events.jsonl"))
    calls = [e for e in events if isinstance(e, LLMCall)]
    spent = sum(c.prompt_tokens + c.completion_tokens for c in calls)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["total_tokens"] == spent > 6000 and "token budget spent" in result.reason
    assert len([e for e in events if isinstance(e, ExecutionDone)]) < 16  # 2 traces x 8 steps without the budget
    assert summary["usage"]["trace 0"]["calls"] > 0 and summary["usage"]["trace 1"]["calls"] > 0


RAY_RUNNER = """
import asyncio, sys
from pathlib import Path
from gome.config import RunConfig
from gome.llm import ModelConfig
from gome.runner import run
task, runs, url = sys.argv[1:]
config = RunConfig(task_dir=Path(task), runs_dir=Path(runs), steps=4, traces=2, cpus=2, exec_timeout_s=120,
                   final_seeds=0, backend="ray", model=ModelConfig(model="scripted", base_url=url))
asyncio.run(run(config, run_id="killed"))
"""


_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")  # they notice their raylet's death within about a minute


def _ray_processes(agents: bool = True) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    found = [line for line in out if "raylet" in line or "gcs_server" in line or line.startswith("ray::")]
    return found if agents else [line for line in found if not line.startswith(_AGENTS)]


def _wait_gone(agents: bool, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while _ray_processes(agents) and time.monotonic() < deadline:
        time.sleep(0.5)
    return _ray_processes(agents)


def test_a_killed_ray_run_leaves_no_ray_process_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL to the driver once both traces have pushed a step: Ray's processes go with it (its two
    agents within two minutes); `resume` restores the Coordinator actor and both traces from their
    checkpoints and finishes the run."""
    tests_dir = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    assert not _wait_gone(agents=True, seconds=120), "another Ray is running on this machine"
    task = prepare_task("penguins", tmp_path / "penguins")
    run_dir = tmp_path / "runs" / "killed"
    with serve(policy) as (base_url, _):
        proc = subprocess.Popen([sys.executable, "-c", RAY_RUNNER, str(task), str(tmp_path / "runs"), base_url],
                                env={**os.environ}, start_new_session=True)
        deadline = time.monotonic() + 240
        while not {0, 1} <= {e.source_trace for e in _events(run_dir) if isinstance(e, CoordinatorMerge)}:
            assert proc.poll() is None and time.monotonic() < deadline, "the Ray run made no progress"
            time.sleep(0.05)
        proc.kill()  # the driver only, not its process group
        proc.wait()
    assert not _wait_gone(agents=False, seconds=30)  # GCS, raylet, the Coordinator actor, the trace tasks
    before = [e for e in _events(run_dir) if isinstance(e, ExecutionDone)]
    assert (run_dir / "coordinator.json").is_file() and not any(isinstance(e, RunFinished) for e in _events(run_dir))
    client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    try:
        result = asyncio.run(resume(run_dir, client=client))
    finally:
        ray.shutdown()
    assert result.grade is not None and result.grade.valid_submission, result.reason
    events = _events(run_dir)
    executions = [e for e in events if isinstance(e, ExecutionDone)]
    assert len(before) >= 2 and 8 <= len(executions) <= 8 + 2  # at most the attempt in flight of each trace lost
    merges = [e for e in events if isinstance(e, CoordinatorMerge)]
    assert sorted(m.version for m in merges) == list(range(1, len(merges) + 1))  # the actor continued its versions
    for trace in (0, 1):
        state = json.loads((run_dir / "traces" / str(trace) / "state.json").read_text())["state"]
        assert state["step"] == 4
    assert sum(isinstance(e, RunStarted) for e in events) == 2 and isinstance(events[-1], RunFinished)
    assert not _wait_gone(agents=True, seconds=120)


def _events(run_dir: Path) -> list:
    path = run_dir / "events.jsonl"
    return list(read_events(path)) if path.is_file() else []


def test_three_traces_spread_over_a_three_node_cluster_and_a_budget_stops_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ray.cluster_utils.Cluster`: three nodes of one CPU each on this machine, each with its own Ray
    temporary directory; each trace team asks for one CPU, so each runs on a node of its own. The workers
    write nothing into the run folder: every file of the traces there came through the driver's inbox."""
    from ray.cluster_utils import Cluster

    from gome.ray_backend import Inbox

    received: list[str] = []
    write = Inbox.write

    def recorded(self: Inbox, rel: str, offset: int, data: bytes) -> None:
        received.append(rel)
        write(self, rel, offset, data)

    monkeypatch.setattr(Inbox, "write", recorded)  # the driver is this process; the workers are not
    scratch_before = set(Path(tempfile.gettempdir()).glob("gome-trace-*"))

    tests_dir = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    temp = Path(tempfile.mkdtemp(prefix="gr", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": str(temp / "n0")})
    for k in (1, 2):
        cluster.add_node(num_cpus=1, temp_dir=str(temp / f"n{k}"))
    task = prepare_task("penguins", tmp_path / "penguins")
    client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", traces=3, cpus=3, steps=6, final_seeds=0,
                       exec_timeout_s=120, backend="ray", ray_address=cluster.address, token_budget=9000)
    try:
        result = asyncio.run(run(config, client=client))
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    events = list(read_events(result.run_dir / "events.jsonl"))
    started = {e.trace: e.node for e in events if isinstance(e, TraceStarted)}
    assert set(started) == {0, 1, 2} and len(set(started.values())) == 3, started  # one node each
    assert "token budget spent" in result.reason and result.grade is not None and result.grade.valid_submission
    executions = [e for e in events if isinstance(e, ExecutionDone)]
    assert len(executions) < 18
    written = {p.relative_to(result.run_dir).as_posix() for p in (result.run_dir / "traces").rglob("*") if p.is_file()}
    assert written == {rel for rel in received if rel.startswith("traces/")}  # nothing but what the driver received
    assert "llm_calls.jsonl" in received and (result.run_dir / "llm_calls.jsonl").is_file()  # the traces' shared log
    for e in executions:  # every execution's files reached the run folder
        step = result.run_dir / "traces" / str(e.trace) / f"{e.step:03d}"
        assert (step / "solution.py").is_file() and (step / "stdout.txt").is_file(), step
    assert set(Path(tempfile.gettempdir()).glob("gome-trace-*")) <= scratch_before  # the scratch folders are gone


def test_a_killed_run_on_a_three_node_cluster_resumes_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver of a three-trace run on a `Cluster` is SIGKILLed once every trace has pushed a step; Ray
    ends the dead driver's tasks, and `resume` (config.yaml keeps the cluster's address) seeds each worker
    with its trace's folder and finishes the run there, losing at most the attempts in flight."""
    from ray.cluster_utils import Cluster

    tests_dir = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    temp = Path(tempfile.mkdtemp(prefix="gr", dir="/tmp"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": str(temp / "n0")})
    for k in (1, 2):
        cluster.add_node(num_cpus=1, temp_dir=str(temp / f"n{k}"))
    task = prepare_task("penguins", tmp_path / "penguins")
    run_dir = tmp_path / "runs" / "killed"
    runner = RAY_RUNNER.replace("task, runs, url = sys.argv[1:]", "task, runs, url, address = sys.argv[1:]").replace(
        "traces=2, cpus=2,", "traces=3, cpus=3, ray_address=address,")
    try:
        with serve(policy) as (base_url, _):
            proc = subprocess.Popen([sys.executable, "-c", runner, str(task), str(tmp_path / "runs"), base_url,
                                     cluster.address], env={**os.environ}, start_new_session=True)
            deadline = time.monotonic() + 240
            while not {0, 1, 2} <= {e.source_trace for e in _events(run_dir) if isinstance(e, CoordinatorMerge)}:
                assert proc.poll() is None and time.monotonic() < deadline, "the Ray run made no progress"
                time.sleep(0.05)
            proc.kill()
            proc.wait()
        before = [e for e in _events(run_dir) if isinstance(e, ExecutionDone)]
        client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
        result = asyncio.run(resume(run_dir, client=client))
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    assert result.grade is not None and result.grade.valid_submission, result.reason
    events = _events(run_dir)
    executions = [e for e in events if isinstance(e, ExecutionDone)]
    assert len(before) >= 3 and 12 <= len(executions) <= 12 + 3  # at most the attempt in flight of each trace lost
    for trace in (0, 1, 2):
        assert json.loads((run_dir / "traces" / str(trace) / "state.json").read_text())["state"]["step"] == 4
    merges = [e for e in events if isinstance(e, CoordinatorMerge)]
    assert sorted(m.version for m in merges) == list(range(1, len(merges) + 1))
    started = [e for e in events if isinstance(e, TraceStarted)]
    assert len({e.node for e in started}) == 3 and sum(isinstance(e, RunStarted) for e in events) == 2
