"""What a Ray worker ships to the driver (no shared filesystem): the files its scratch folder gained or
changed since its last event, and, for the log the traces share, only the lines it added."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gome.ray_backend import Inbox, Outbox, pack
from gome.schema import LLMCall
from gome.tools.rundir import RunDir


def _call(trace: int) -> LLMCall:
    return LLMCall(trace=trace, step=1, agent="coder", prompt_tokens=10, completion_tokens=5, latency_s=0.1, ok=True)


def test_a_worker_ships_each_file_once_until_it_changes_and_appended_lines_only(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "dev" / "input").mkdir(parents=True)
    (scratch / "dev" / "input" / "train.csv").write_text("id,y\n1,0\n")  # seeded by the driver
    shipped: list = []
    outbox = Outbox(scratch, shipped.append)
    outbox.mark_sent()
    step = scratch / "traces" / "0" / "001"
    step.mkdir(parents=True)
    (step / "solution.py").write_text("print(1)\n")
    (step / ".solution.py.tmp").write_text("half-written")  # an atomic write in progress
    os.symlink("/etc/hostname", step / "link.txt")  # a link never leaves the worker
    (scratch / "llm_calls.jsonl").write_text('{"a": 1}\n')
    outbox.emit(_call(0))
    files, line = shipped[-1]
    assert sorted((rel, offset) for rel, offset, _ in files) == [("llm_calls.jsonl", 0), ("traces/0/001/solution.py", 0)]
    assert '"llm_call"' in line
    outbox.emit(_call(0))
    assert shipped[-1][0] == []  # nothing changed since
    with open(scratch / "llm_calls.jsonl", "a") as fh:
        fh.write('{"b": 2}\n')
    (step / "solution.py").write_text("print(2)\n")
    outbox.emit(_call(0))
    assert sorted(shipped[-1][0]) == [("llm_calls.jsonl", 9, b'{"b": 2}\n'), ("traces/0/001/solution.py", 0, b"print(2)\n")]


def test_the_driver_writes_what_workers_ship_and_nothing_outside_the_run_folder(tmp_path: Path) -> None:
    rundir, seen = RunDir(tmp_path / "run"), []
    inbox = Inbox(rundir, seen.append)
    inbox.take(([("traces/0/001/solution.py", 0, b"print(1)\n"), ("llm_calls.jsonl", 0, b"a0\n")], _call(0).model_dump_json()))
    inbox.take(([("llm_calls.jsonl", 0, b"b0\n")], _call(1).model_dump_json()))  # another trace's first lines
    inbox.take(([("llm_calls.jsonl", 3, b"a1\n")], _call(0).model_dump_json()))
    assert (rundir.root / "traces/0/001/solution.py").read_text() == "print(1)\n"
    assert (rundir.root / "llm_calls.jsonl").read_text() == "a0\nb0\na1\n"
    assert [e.trace for e in seen] == [0, 1, 0]
    with pytest.raises(ValueError, match="outside the run folder"):
        inbox.write("../elsewhere.txt", 0, b"x")
    assert not (tmp_path / "elsewhere.txt").exists()
    assert pack(rundir.root, "traces/0") == {"traces/0/001/solution.py": b"print(1)\n"}


def test_a_trace_team_no_node_can_hold_is_refused_before_the_run_starts(tmp_path: Path) -> None:
    from gome.config import RunConfig
    from gome.errors import GomeUserError
    from gome.ray_backend import _check_placeable

    nodes = [{"CPU": 1.0}, {"CPU": 1.0, "GPU": 1.0}]
    _check_placeable(RunConfig(task_dir=tmp_path, traces=3, cpus=3), nodes)  # one CPU each: fits
    _check_placeable(RunConfig(task_dir=tmp_path, traces=1, threads=1, gpus_per_trace=1), nodes)
    with pytest.raises(GomeUserError, match="asks for 2 CPU and 0 GPU.*1 CPU / 0 GPU, 1 CPU / 1 GPU"):
        _check_placeable(RunConfig(task_dir=tmp_path, traces=1, cpus=2), nodes)  # the bench's mistake: it hung
    with pytest.raises(GomeUserError, match="asks for 1 CPU and 2 GPU"):
        _check_placeable(RunConfig(task_dir=tmp_path, traces=1, threads=1, gpus_per_trace=2), nodes)
