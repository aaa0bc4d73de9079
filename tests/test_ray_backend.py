"""The Ray backend on a local Ray started on 127.0.0.1: trace teams as Ray tasks, the Coordinator as an actor."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

from scripted_model import policy  # noqa: E402

from gome.config import RunConfig  # noqa: E402
from gome.events import read_events  # noqa: E402
from gome.llm import ScriptedChatCompletionClient  # noqa: E402
from gome.runner import run  # noqa: E402
from gome.schema import CoordinatorMerge, ExecutionDone, LLMCall, RunFinished  # noqa: E402
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
