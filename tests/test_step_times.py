"""benchmarks/step_times.py: the seconds of a directed step, before its script runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("step_times", ROOT / "benchmarks" / "step_times.py")
step_times = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(step_times)


def _attempt(attempt_id: str, kind: str) -> dict:
    return {"id": attempt_id, "kind": kind, "mode": "directed", "note": ""}


def test_a_close_calls_runs_on_the_folds_are_not_part_of_its_step(tmp_path: Path) -> None:
    call = {"kind": "llm_call", "agent": "diagnostician", "prompt_tokens": 100, "completion_tokens": 10}
    events = [
        {"ts": 100.0, "kind": "optimizer_step", "attempt": _attempt("0-001", "draft")},
        {**call, "ts": 130.0}, {**call, "ts": 140.0, "agent": "memory_keeper"},
        {"ts": 160.0, "kind": "remeasure", "attempt": "0-002"},  # its own run took 150 → 160
        {"ts": 400.0, "kind": "execution", "report": {"attempt_id": "0-002", "duration_s": 10.0}},
        {"ts": 400.0, "kind": "optimizer_step", "attempt": _attempt("0-002", "improve")},
        {**call, "ts": 430.0},
        {"ts": 445.0, "kind": "execution", "report": {"attempt_id": "0-003", "duration_s": 5.0}},
        {"ts": 445.0, "kind": "optimizer_step", "attempt": _attempt("0-003", "improve")},
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    rows = step_times.steps(tmp_path)
    assert [(r["attempt"], r["s"], r["calls"]) for r in rows] == [("0-002", 50.0, "diag memo"), ("0-003", 40.0, "diag")]
