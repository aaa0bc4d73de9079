"""benchmarks/diagnosis_choice.py: where the diagnosis's next move stood in the offer gome made."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("diagnosis_choice", ROOT / "benchmarks" / "diagnosis_choice.py")
diagnosis_choice = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diagnosis_choice)

LINEAR = ("from sklearn.linear_model import LogisticRegression\n\n\n"
          "def make_model():\n    return LogisticRegression(max_iter=1000)\n")
TREES = ("from sklearn.ensemble import ExtraTreesClassifier\n\n\n"
         "def make_model():\n    return ExtraTreesClassifier(n_estimators=400, random_state=0)\n")


def _step(attempt_id: str, code: str, kind: str, outcome: str, move: str = "") -> dict:
    plan = {"move": {"key": move, "old": "", "new": ""}} if move else None
    return {"kind": "optimizer_step", "attempt": {
        "id": attempt_id, "kind": kind, "mode": "directed" if kind == "improve" else "draft", "code": code,
        "accepted": outcome == "accepted", "outcome": outcome, "gain": 0.001, "plan": plan, "report": {}}}


def _diagnosis(next_move: str) -> dict:
    return {"kind": "agent_message", "source": "diagnostician", "structured": {"next_move": next_move}}


def _run(root: Path, variant: str, memory: bool) -> Path:
    run = root / "runs" / f"lending-club--{variant}--embedded-1.5b--s1"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"task_dir: tasks/lending-club\nmemory: {str(memory).lower()}\n")
    events = [{"kind": "run_started"}, _step("0-001", LINEAR, "draft", "accepted"),
              _diagnosis("use ExtraTreesClassifier"), _step("0-002", TREES, "improve", "tie", "use ExtraTreesClassifier"),
              _diagnosis("use ExtraTreesClassifier")]
    (run / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return run


def test_the_rank_of_each_diagnosis_in_the_offer_rebuilt_from_the_journal(tmp_path: Path) -> None:
    first, second = diagnosis_choice.choices(_run(tmp_path, "gradient", memory=True))
    # from a linear model the swaps to stronger families are offered, boosting first (LightGBM's where installed)
    assert first["offered"][0] == "use HistGradientBoostingClassifier" and first["rank"] >= 1
    assert first["offered"][first["rank"]] == "use ExtraTreesClassifier"
    assert (first["made"], first["outcome"]) == ("use ExtraTreesClassifier", "tie")
    # with memory, a swap already built is not offered again: a next move outside the offer is counted apart
    assert "use ExtraTreesClassifier" not in second["offered"] and second["rank"] is None
    assert second["offered"][0] == "use HistGradientBoostingClassifier" and second["made"] == ""


def test_without_memory_the_offer_forgets_what_was_tried(tmp_path: Path) -> None:
    first, second = diagnosis_choice.choices(_run(tmp_path, "no-memory", memory=False))
    assert second["offered"] == first["offered"] and second["rank"] == first["rank"] >= 1
