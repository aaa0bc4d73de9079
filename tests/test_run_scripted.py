"""End to end: a trace team improves the penguins task with the scripted model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import AgentMessage, ExecutionDone, LLMCall, OptimizerStep, RunFinished
from gome.tasks import prepare_task
from scripted_model import agent_of, policy


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


def scripted() -> ScriptedChatCompletionClient:
    return ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))


@pytest.fixture(scope="module")
def finished_run(penguins: Path, tmp_path_factory: pytest.TempPathFactory):
    # every step after the draft improves the best: the ensemble stage's drafts are tested in test_ensemble_phase;
    # the scripted Coder's scripts run as they are (gome's own edits, moves, are tested in test_agents)
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path_factory.mktemp("runs"), steps=4, exec_timeout_s=120,
                       ensemble_after=1.0, moves=False)
    result = asyncio.run(run(config, client=scripted(), run_id="r1"))
    return result, list(read_events(result.run_dir / "events.jsonl"))


def test_run_debugs_then_improves_and_grades(finished_run) -> None:
    result, events = finished_run
    steps = [e for e in events if isinstance(e, OptimizerStep)]
    assert [(s.attempt.kind, s.attempt.status, s.attempt.accepted) for s in steps] == [
        ("draft", "crashed", False), ("debug", "ok", True), ("improve", "ok", True), ("improve", "ok", False),
    ]
    weak, forest, worse = (s.attempt.score for s in steps[1:])
    assert forest > weak and worse < forest
    assert result.best_attempt == "0-003" and result.dev_score == forest
    grade = json.loads((result.run_dir / "best" / "grade.json").read_text())
    assert grade["valid_submission"] and grade["submission_exists"] and grade["score"] > 0.9
    assert (result.run_dir / "best" / "submission.csv").is_file()
    assert Path(grade["submission_path"]) == result.run_dir / "best" / "submission.csv"  # not best.partial
    assert isinstance(events[-1], RunFinished) and events[-1].grade == grade
    assert events[-1].reason == "steps done (4 of 4)"  # not AutoGen's "Functional termination condition met"


def test_all_four_agents_converse_in_the_cycle(finished_run) -> None:
    _, events = finished_run
    talk = [(e.source, e.target) for e in events if isinstance(e, AgentMessage)]
    assert talk[:3] == [("user", "coder"), ("coder", "executor"), ("executor", "coder")]  # crash -> debug round
    assert {s for s, _ in talk} == {"user", "coder", "executor", "diagnostician", "memory_keeper"}
    assert ("diagnostician", "memory_keeper") in talk and ("memory_keeper", "coder") in talk
    calls = [e for e in events if isinstance(e, LLMCall)]
    assert calls and all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in calls)
    assert {c.agent for c in calls} == {"coder", "diagnostician", "memory_keeper"}
    executions = [e for e in events if isinstance(e, ExecutionDone)]
    assert len(executions) == 4 and "process-group" in executions[0].isolation


def test_step_folders_hold_the_optimiser_state(finished_run) -> None:
    result, _ = finished_run
    step3 = result.run_dir / "traces" / "0" / "003"
    assert "RandomForestClassifier" in (step3 / "solution.py").read_text()
    assert json.loads((step3 / "diagnosis.json").read_text())["direction"]
    plan = json.loads((step3 / "plan.json").read_text())
    assert plan["memory_refs"] == ["m0-3"]  # the forest's success is retrieved as momentum
    assert (result.run_dir / "config.yaml").is_file()
    assert "OPENAI_API_KEY" not in (result.run_dir / "config.yaml").read_text().replace("api_key_env: OPENAI_API_KEY", "")


def test_a_recorded_run_replays_offline_identically(finished_run, penguins: Path, tmp_path: Path) -> None:
    result, events = finished_run
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=4, exec_timeout_s=120, ensemble_after=1.0, moves=False,
                       replay_from=result.run_dir)
    replayed = asyncio.run(run(config))  # no client at all: every reply comes from llm_calls.jsonl
    again = list(read_events(replayed.run_dir / "events.jsonl"))

    def talk(stream: list) -> list[tuple[str, str, str]]:  # the model's messages (executions carry timings)
        return [(e.source, e.target, e.content) for e in stream
                if isinstance(e, AgentMessage) and e.source in ("coder", "diagnostician", "memory_keeper")]

    def scores(stream: list) -> list[tuple[str, float | None]]:
        return [(e.report.status, e.report.score) for e in stream if isinstance(e, ExecutionDone)]

    assert talk(again) == talk(events) and len(talk(events)) >= 8
    assert scores(again) == scores(events)
    assert replayed.best_attempt == result.best_attempt and replayed.dev_score == result.dev_score
    assert replayed.grade.score == result.grade.score


BROKEN = '''```python
def make_model():
    raise KeyError("term")  # a column the model remembers from another version of the data
```
'''


@pytest.mark.parametrize("moves", [True, False])
def test_when_the_coders_drafts_fail_gome_drafts_from_the_starter(penguins: Path, tmp_path: Path, moves: bool) -> None:
    """A Coder whose every script crashes: after the draft's debug round (it sent the crashed script back, which ends
    the chain), nothing has run; gome's next draft is the starter with its placeholder swapped for the catalogue's first
    family, made without a model call, and it runs. Without moves (the ablation) gome makes no edit of its own and the
    run has no valid attempt."""
    client = ScriptedChatCompletionClient(lambda messages: BROKEN if agent_of([str(m.content) for m in messages]) == "coder"
                                          else policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=4, exec_timeout_s=120, final_seeds=0,
                       ensemble_after=1.0, max_debug_rounds=2, moves=moves)
    events = list(read_events(asyncio.run(run(config, client=client)).run_dir / "events.jsonl"))
    attempts = [e.attempt for e in events if isinstance(e, OptimizerStep)]
    assert [(a.kind, a.status) for a in attempts[:2]] == [("draft", "crashed"), ("debug", "crashed")]
    after = attempts[2]
    chain_end, after_at = (next(i for i, e in enumerate(events) if isinstance(e, OptimizerStep) and e.attempt.id == a.id)
                           for a in attempts[1:3])
    coder_calls = [e for e in events[chain_end:after_at] if isinstance(e, LLMCall) and e.agent == "coder"]
    if moves:
        assert after.kind == "draft" and after.status == "ok" and after.accepted
        assert "gome drafted from the starter script without a model call" in after.note
        assert "HistGradientBoostingClassifier(" in after.code and "DummyClassifier(" not in after.code
        assert not coder_calls  # the draft cost no model call
    else:
        assert after.status == "crashed" and coder_calls
