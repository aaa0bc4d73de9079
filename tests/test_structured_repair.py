"""Structured output survives malformed replies: lenient parsing, bounded re-asking, recorded failure."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient, StructuredOutputError, ask_structured, extract_code, parse_json_model
from gome.schema import Diagnosis, OptimizerStep, StructuredFailure
from gome.runner import run
from gome.tasks import prepare_task
from scripted_model import agent_of, policy

GOOD = {"summary": "ran", "direction": "add features"}


def test_lenient_parsing() -> None:
    assert parse_json_model("Sure!\n```json\n" + json.dumps(GOOD) + "\n```\nDone.", Diagnosis).direction == "add features"
    raw = '{"summary": "line one\nline two", "direction": "tab\there"}'  # raw control characters, as grammars emit
    assert parse_json_model(raw, Diagnosis).summary == "line one\nline two"
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_model("I cannot help", Diagnosis)
    with pytest.raises(ValueError, match="direction"):
        parse_json_model('{"summary": "x"}', Diagnosis)
    assert extract_code("text\n```python\nimport os\n```\n") == "import os\n"


def test_code_blocks_that_are_pieces_of_one_script_are_joined() -> None:
    """The embedded model's reply at a moderate step: make_model in one block, the code that calls it in the
    next. The longest block alone (the calls) lost the change; two alternative scripts still give the longest."""
    function = "from lightgbm import LGBMClassifier\n\ndef make_model():\n    return LGBMClassifier(n_estimators=300)\n"
    calls = "X_tr, X_va = split(X)\npred = predict(make_model().fit(X_tr, y_tr), X_va)\nprint('validation_score:', 1)\n"
    reply = f"```python\n{function}```\n\nThen:\n```python\n{calls}```\n"
    assert extract_code(reply) == function + "\n" + calls
    longer = function.replace("300", "500, num_leaves=15") + calls
    alternatives = f"```python\n{function + calls}```\nor\n```python\n{longer}```\n"
    assert extract_code(alternatives) == longer


def _client(replies: list[str]) -> ScriptedChatCompletionClient:
    queue = list(replies)
    return ScriptedChatCompletionClient(lambda messages: queue.pop(0))


def test_repair_sends_the_validation_error_back() -> None:
    client = _client(['{"summary": "only"}', json.dumps(GOOD)])
    records = []
    answer = asyncio.run(ask_structured(client, [], Diagnosis, tries=3, on_call=records.append))
    assert answer.value.direction == "add features" and answer.tries == 2
    assert [r.ok for r in records] == [False, True]
    repair_prompt = str(client.calls[1][-1].content)
    assert "direction" in repair_prompt and "Field required" in repair_prompt


def test_repair_is_bounded() -> None:
    client = _client(["nope"] * 5)
    with pytest.raises(StructuredOutputError) as info:
        asyncio.run(ask_structured(client, [], Diagnosis, tries=3))
    assert info.value.tries == 3 and len(client.calls) == 3


def test_run_survives_a_diagnostician_that_never_answers_in_json(tmp_path: Path) -> None:
    def broken(texts: list[str]) -> str:
        return "I think it is fine." if agent_of(texts) == "diagnostician" else policy(texts)

    task = prepare_task("penguins", tmp_path / "penguins")
    client = ScriptedChatCompletionClient(lambda messages: broken([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", steps=3, tries=2, exec_timeout_s=120)
    result = asyncio.run(run(config, client=client))
    events = list(read_events(result.run_dir / "events.jsonl"))
    failures = [e for e in events if isinstance(e, StructuredFailure)]
    assert failures and all(f.agent == "diagnostician" and f.tries == 2 for f in failures)
    assert len([e for e in events if isinstance(e, OptimizerStep)]) == 3
    assert result.grade is not None and result.grade.valid_submission
    fallback = json.loads((result.run_dir / "traces" / "0" / "002" / "diagnosis.json").read_text())
    assert fallback["summary"].startswith("The attempt ran and scored")
