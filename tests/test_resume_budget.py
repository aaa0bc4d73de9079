"""Crash safety and budgets: a run killed with SIGKILL mid-step resumes; a token budget stops a run
gracefully and its best solution is still graded."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_server import serve
from scripted_model import policy

from gome.config import RunConfig
from gome.events import EventLog, read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import resume, run
from gome.schema import CoordinatorMerge, OptimizerStep, RunFinished, RunStarted
from gome.tasks import prepare_task


def scripted() -> ScriptedChatCompletionClient:
    return ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


def test_token_budget_stops_the_run_and_the_best_is_graded(penguins: Path, tmp_path: Path) -> None:
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=20, token_budget=6000, exec_timeout_s=120,
                       final_seeds=0)
    result = asyncio.run(run(config, client=scripted()))
    events = list(read_events(result.run_dir / "events.jsonl"))
    steps = [e for e in events if isinstance(e, OptimizerStep)]
    assert result.reason.startswith("token budget spent") and 2 <= len(steps) < 20
    assert result.grade is not None and result.grade.valid_submission
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["total_tokens"] >= 6000 and summary["budget_stop"] == result.reason
    assert set(summary["usage"]) >= {"run", "trace 0", "agent coder", "agent diagnostician", "agent memory_keeper"}
    assert events[-1].usage == summary


RUNNER = """
import asyncio, sys
from pathlib import Path
from gome.config import RunConfig
from gome.llm import ModelConfig
from gome.runner import run
config = RunConfig(task_dir=Path(sys.argv[1]), runs_dir=Path(sys.argv[2]), steps=6, exec_timeout_s=120,
                   final_seeds=0, model=ModelConfig(model="scripted", base_url=sys.argv[3]))
asyncio.run(run(config, run_id="killed"))
"""


def _wait_for_steps(events: Path, count: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if events.is_file() and events.read_text().count('"optimizer_step"') >= count:
            return
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError("the run made no progress")


def test_sigkill_mid_run_then_resume(penguins: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    with serve(policy) as (base_url, _):
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(penguins), str(tmp_path), base_url], env=env,
                                start_new_session=True)
        try:
            _wait_for_steps(run_dir / "events.jsonl", 3, proc)
            time.sleep(0.3)  # now mid-step: the next agent turn or execution is in flight
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with open(run_dir / "events.jsonl", "a") as fh:
        fh.write('{"kind": "agent_mess')  # as if the kill had torn the last line
    before = [e for e in read_events(run_dir / "events.jsonl") if isinstance(e, OptimizerStep)]
    state = json.loads((run_dir / "traces" / "0" / "state.json").read_text())["state"]
    assert 3 <= state["step"] <= len(before)
    result = asyncio.run(resume(run_dir, client=scripted()))
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line is whole JSON: nothing torn or interleaved
    assert [e["kind"] for e in events].count("run_started") == 2 and events[-1]["kind"] == "run_finished"
    steps = [e for e in read_events(run_dir / "events.jsonl") if isinstance(e, OptimizerStep)]
    lost = len(before) - state["step"]
    assert lost <= 1 and len(steps) == 6 + lost  # at most the in-flight attempt was lost and redone
    assert result.grade is not None and result.grade.valid_submission and result.best_attempt == "0-003"


def test_resume_refuses_a_finished_run(penguins: Path, tmp_path: Path) -> None:
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=1, exec_timeout_s=120, final_seeds=0)
    result = asyncio.run(run(config, client=scripted()))
    with pytest.raises(Exception, match="already finished"):
        asyncio.run(resume(result.run_dir, client=scripted()))


def test_a_run_killed_after_its_last_step_resumes_to_its_end_with_the_steps_it_took(penguins: Path, tmp_path: Path) -> None:
    """Killed between its last step and its end (the final selection, the grading): the trace is not started again,
    and the run's stop reason still counts its steps."""
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=1, exec_timeout_s=120, final_seeds=0)
    result = asyncio.run(run(config, client=scripted()))
    assert result.reason == "steps done (1 of 1)"
    log = result.run_dir / "events.jsonl"
    lines = log.read_text().splitlines()
    last_step = max(i for i, line in enumerate(lines) if '"optimizer_step"' in line)
    log.write_text("\n".join(lines[: last_step + 1]) + "\n")  # as if killed right after the step
    again = asyncio.run(resume(result.run_dir, client=scripted()))
    events = list(read_events(log))
    assert again.reason == "steps done (1 of 1)" and isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, OptimizerStep) for e in events) == 1  # no step taken again


def test_event_log_drops_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.emit(RunStarted(run_id="r", task="t", config={}))
    log.close()
    path.write_text(path.read_text() + '{"kind": "run_sta')
    log = EventLog(path)
    log.emit(RunFinished(best_attempt=None, best_score=None, grade=None, reason="x"))
    log.close()
    assert [type(e).__name__ for e in read_events(path)] == ["RunStarted", "RunFinished"]


def test_resume_names_a_checkpoint_of_an_older_gome(penguins: Path, tmp_path: Path) -> None:
    import json

    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=1, exec_timeout_s=120, final_seeds=0)
    result = asyncio.run(run(config, client=scripted()))
    events = result.run_dir / "events.jsonl"
    events.write_text("".join(line + "\n" for line in events.read_text().splitlines() if '"run_finished"' not in line))
    state = result.run_dir / "traces" / "0" / "state.json"
    data = json.loads(state.read_text())
    data["state"] = {k: v for k, v in data["state"].items() if k not in ("journal", "best_id")} | {"best": None}
    state.write_text(json.dumps(data))
    with pytest.raises(Exception, match="made by an older gome"):
        asyncio.run(resume(result.run_dir, client=scripted()))


def test_resume_writes_the_merge_events_a_kill_kept_from_the_log(penguins: Path, tmp_path: Path) -> None:
    """The Coordinator checkpointed its last merge, then the run died before its event reached events.jsonl:
    the resumed run writes the missing event, so the log's merge versions run 1..n without a gap."""
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=2, exec_timeout_s=120, final_seeds=0)
    result = asyncio.run(run(config, client=scripted()))
    events = result.run_dir / "events.jsonl"
    lines = events.read_text().splitlines()
    merges = [k for k, line in enumerate(lines) if '"kind":"merge"' in line.replace(" ", "")]
    kept = [line for k, line in enumerate(lines) if k != merges[-1] and '"run_finished"' not in line]
    events.write_text("".join(line + "\n" for line in kept))  # as if killed before these were written
    asyncio.run(resume(result.run_dir, client=scripted()))
    versions = [e.version for e in read_events(events) if isinstance(e, CoordinatorMerge)]
    assert len(merges) >= 2 and sorted(versions) == list(range(1, len(merges) + 1))
