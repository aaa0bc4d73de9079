"""The Coordinator as a parameter server, and trace teams optimising in parallel around it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import scripted_model as sm
from scripted_model import policy

from gome.config import RunConfig
from gome.coordinator import Coordinator, Push, logged_versions
from gome.events import EventLog, read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import AgentMessage, Attempt, CoordinatorMerge, MemoryEntry, OptimizerStep, Selection, SyncStep
from gome.tasks import prepare_task


def _attempt(trace: int, step: int, score: float | None, accepted: bool, code: str = "", outcome: str | None = None) -> Attempt:
    return Attempt(id=f"{trace}-{step:03d}", trace=trace, step=step, parent_id=None, kind="improve", score=score,
                   status="ok", accepted=accepted, code=code, outcome=outcome or ("accepted" if accepted else "worse"))


def _memory(trace: int, step: int) -> MemoryEntry:
    return MemoryEntry(id=f"m{trace}-{step}", trace=trace, step=step, direction="d", changes=[], gain=0.1, score=0.5)


def test_merge_rules() -> None:
    coord = Coordinator(lower_is_better=False)
    first = coord.push(Push(trace=0, base_version=0, attempt=_attempt(0, 1, 0.5, True, "a"), draft_summary="tree"))
    assert first.state.version == 1 and first.event.best_changed and not first.event.stale
    stale = coord.push(Push(trace=1, base_version=0, attempt=_attempt(1, 1, 0.4, True, "b"),
                            new_memory=[_memory(1, 1)]))
    assert stale.event.stale and not stale.event.best_changed and stale.state.best.attempt == "0-001"
    assert [m.id for m in stale.state.memory] == ["m1-1"]
    again = coord.push(Push(trace=1, base_version=2, attempt=_attempt(1, 2, 0.7, True, "c"),
                            new_memory=[_memory(1, 1), _memory(1, 2)]))
    assert again.state.best.score == 0.7 and again.event.memory_added == ["m1-2"]  # no duplicate entries
    assert again.state.best.code == "c"  # the code travels in the attempt record
    retract = coord.push(Push(trace=1, base_version=3, attempt=_attempt(1, 2, 0.7, False, "c", "vetoed")))
    assert retract.event.best_changed and retract.state.best.attempt == "0-001"
    assert [m.id for m in retract.state.memory] == ["m1-1"]  # the vetoed success leaves the shared memory
    assert [c.attempt for c in coord.top_candidates(5)] == ["0-001", "1-001"]
    assert coord.pull().drafts == {0: "tree"} and coord.stop().stopped


def test_the_blend_pool_holds_every_valid_distinct_attempt_not_vetoed() -> None:
    coord = Coordinator(lower_is_better=False)
    pushes = [_attempt(0, 1, 0.6, True, "a"), _attempt(0, 2, 0.5, False, "b"),  # worse: still a blend member
              _attempt(1, 1, 0.55, False, "c", "no-op"), _attempt(1, 2, None, False, "d", "crash"),
              _attempt(1, 3, 0.58, False, "e", "tie"), _attempt(1, 4, 0.9, False, "f", "vetoed")]
    for k, attempt in enumerate(pushes):
        coord.push(Push(trace=attempt.trace, base_version=k, attempt=attempt))
    assert [c.attempt for c in coord.blend_pool(6)] == ["0-001", "1-003", "0-002"]
    assert [c.attempt for c in coord.blend_pool(2)] == ["0-001", "1-003"]
    coord.push(Push(trace=0, base_version=6, attempt=_attempt(0, 1, 0.6, False, "a", "vetoed")))  # a later veto
    restored = Coordinator.restore(False, coord.snapshot())
    assert [c.attempt for c in restored.blend_pool(6)] == ["1-003", "0-002"] and restored.top_candidates(3) == []


def test_a_tie_better_on_the_dev_split_is_a_final_candidate_but_never_the_best() -> None:
    coord = Coordinator(lower_is_better=False)
    best = _attempt(0, 1, 0.70, True, "a")
    ties = [_attempt(0, k, score, False, code, "tie").model_copy(update={"gain": score - 0.70})
            for k, score, code in ((2, 0.741, "b"), (3, 0.729, "c"), (4, 0.69, "d"))]  # a blend member scored above the best
    for k, attempt in enumerate([best, *ties]):
        reply = coord.push(Push(trace=0, base_version=k, attempt=attempt))
    assert reply.state.best.attempt == "0-001"  # a tie never moves the best
    assert [c.attempt for c in coord.top_candidates(3, ties=True)] == ["0-002", "0-003", "0-001"]  # not the tie below
    assert [c.attempt for c in coord.top_candidates(2, ties=True)] == ["0-002", "0-001"]  # the best always among them
    assert [c.attempt for c in coord.top_candidates(3)] == ["0-001"]  # no extra splits to judge a tie: none competes
    restored = Coordinator.restore(False, coord.snapshot())
    assert [c.attempt for c in restored.top_candidates(3, ties=True)] == ["0-002", "0-003", "0-001"]
    coord.push(Push(trace=0, base_version=4, attempt=ties[0].model_copy(update={"outcome": "vetoed"})))
    assert [c.attempt for c in coord.top_candidates(3, ties=True)] == ["0-003", "0-001"]


def test_a_merge_checkpointed_but_never_logged_is_restored_on_resume(tmp_path: Path) -> None:
    """A kill between the Coordinator's checkpoint of a merge and the driver's write of its event: the
    checkpoint keeps the event, and the resumed Coordinator names it as missing from the log."""
    checkpoint, log = tmp_path / "coordinator.json", EventLog(tmp_path / "events.jsonl")
    coord = Coordinator.open(False, checkpoint)
    log.emit(coord.push(Push(trace=0, base_version=0, attempt=_attempt(0, 1, 0.5, True, "a"))).event)
    lost = coord.push(Push(trace=1, base_version=0, attempt=_attempt(1, 1, 0.6, True, "b"))).event  # the kill
    log.close()
    resumed = Coordinator.open(False, checkpoint)
    assert resumed.unlogged(logged_versions(tmp_path / "events.jsonl")) == [lost]
    old = {k: v for k, v in json.loads(checkpoint.read_text()).items() if k != "merges"}  # an older gome's
    assert Coordinator.restore(False, old).unlogged(set()) == [] and Coordinator.restore(False, old).version == 2


def test_lower_is_better_merge() -> None:
    coord = Coordinator(lower_is_better=True)
    coord.push(Push(trace=0, base_version=0, attempt=_attempt(0, 1, 3.0, True, "a")))
    coord.push(Push(trace=1, base_version=1, attempt=_attempt(1, 1, 2.0, True, "b")))
    assert coord.pull().best.attempt == "1-001"


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


def _run(task: Path, runs: Path, reply, **overrides) -> list:
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=runs, traces=2, cpus=2, exec_timeout_s=120, **overrides)
    result = asyncio.run(run(config, client=client))
    assert result.grade is not None and result.grade.valid_submission
    return list(read_events(result.run_dir / "events.jsonl"))


def test_a_success_of_one_trace_is_retrieved_by_the_other(penguins: Path, tmp_path: Path) -> None:
    def reply(texts: list[str]) -> str:
        if "Other traces already drafted" in texts[-1]:
            assert "trace 0: LogisticRegression" in texts[-1]  # told what trace 0 drafted
            return sm._fence(sm.DEBUGGED_WEAK)
        return policy(texts)

    events = _run(penguins, tmp_path, reply, steps=6, sync_patience=100, final_seeds=1)
    plans = [e.structured for e in events if isinstance(e, AgentMessage) and e.source == "memory_keeper" and e.trace == 1]
    assert any(ref.startswith("m0-") for plan in plans for ref in plan["memory_refs"])
    merges = [e for e in events if isinstance(e, CoordinatorMerge)]
    assert [m.version for m in merges] == list(range(1, len(merges) + 1)) and {m.source_trace for m in merges} == {0, 1}
    assert any("m0-" in ",".join(m.memory_added) for m in merges)
    selection = next(e for e in events if isinstance(e, Selection))
    assert len(selection.candidates) >= 2 and all(len(v) == 2 for v in selection.candidates.values())


def test_a_lagging_trace_synchronises_to_the_global_best(penguins: Path, tmp_path: Path) -> None:
    variants = iter(range(2, 1000))

    def reply(texts: list[str]) -> str:
        # trace 1 is stuck near the majority class (each variant changes some predictions, so none is a no-op) ...
        return sm.stuck_reply(texts, variants) or policy(texts)  # ... until it adopts trace 0's script

    # confirm_z 2: trace 0's debugged tree (+3 SE over the majority on 48 dev rows) is accepted without fold runs
    events = _run(penguins, tmp_path, reply, steps=7, sync_patience=2, final_seeds=0, confirm_z=2.0)
    syncs = [e for e in events if isinstance(e, SyncStep)]
    assert syncs and syncs[0].trace == 1 and syncs[0].adopted_attempt.startswith("0-")
    assert syncs[0].local_best is not None and syncs[0].adopted_score > syncs[0].local_best
    after = [e for e in events if isinstance(e, OptimizerStep) and e.trace == 1 and e.ts > syncs[0].ts]
    assert after and after[-1].best_score >= syncs[0].adopted_score
