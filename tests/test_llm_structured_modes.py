"""Each structured-output mode sends the right request body through the real openai client."""

from __future__ import annotations

import asyncio
import json

import pytest

from gome.llm import ModelConfig, ask_code, ask_structured, make_client
from gome.llm.structured import grammar_schema, request_args
from gome.schema import Diagnosis, UpdatePlan
from openai_server import serve

GOOD = json.dumps({"summary": "it ran", "direction": "add features"})


def _ask(mode: str, max_tokens: int | None = 123) -> dict:
    with serve(lambda texts: GOOD) as (base_url, requests):
        client = make_client(ModelConfig(model="m", base_url=base_url, structured=mode))  # type: ignore[arg-type]
        answer = asyncio.run(ask_structured(client, [], Diagnosis, mode=mode, max_tokens=max_tokens))  # type: ignore[arg-type]
    assert answer.value.direction == "add features" and answer.tries == 1
    assert len(requests) == 1
    return requests[0]["body"]


def test_json_object_schema_sends_the_schema_for_a_grammar() -> None:
    body = _ask("json_object_schema")
    assert body["max_tokens"] == 123
    assert body["response_format"]["type"] == "json_object"
    schema = body["response_format"]["schema"]
    assert schema["required"] == ["summary", "direction"] and "leak_or_overfit" in schema["properties"]


def test_json_schema_uses_openai_structured_output() -> None:
    body = _ask("json_schema")
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Diagnosis"


def test_json_object_and_none() -> None:
    assert _ask("json_object")["response_format"] == {"type": "json_object"}
    body = _ask("none", max_tokens=None)
    assert "response_format" not in body and body["max_tokens"] == ModelConfig().max_tokens  # the client's default cap


def test_code_requests_are_plain_text_with_the_configured_cap() -> None:
    with serve(lambda texts: "```python\nimport os\n```") as (base_url, requests):
        client = make_client(ModelConfig(model="m", base_url=base_url, structured="json_object_schema"))
        assert asyncio.run(ask_code(client, [])).value == "import os\n"
    assert "response_format" not in requests[0]["body"]
    assert requests[0]["body"]["max_tokens"] == ModelConfig().max_tokens


def test_grammar_schema_inlines_refs() -> None:
    schema = grammar_schema(UpdatePlan)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text
    assert set(schema["properties"]["step_size"]["enum"]) == {"targeted", "moderate", "rewrite"}


def test_grammar_bounds_the_lists_a_small_model_runs_away_in() -> None:
    """The embedded model once wrote `"memory_refs": ["],",":replace...` to the token cap, or listed invented ids
    f1-4, f1-5, ...: the grammar allows only success-memory ids, at most three, and bounds every list."""
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(grammar_schema(UpdatePlan)))
    rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines() if " ::= " in line)
    assert rules["memory-refs-item"] == '"\\"" "m" [0-9]+ "-" [0-9]+ "\\"" space'
    assert rules["memory-refs"].count("memory-refs-item") == 3 and rules["changes"].count("string") == 6
    strict = request_args("json_schema", UpdatePlan, None)["extra_create_args"]["response_format"]
    assert "x-grammar" not in json.dumps(strict) and "pattern" not in json.dumps(strict)  # the grammar's alone


def test_legacy_json_output_flag_maps_to_a_mode() -> None:
    assert ModelConfig(json_output=False).structured == "none"  # type: ignore[call-arg]
    assert ModelConfig(json_output=True).structured == "json_object"  # type: ignore[call-arg]
    assert ModelConfig().json_output and not ModelConfig(structured="none").json_output


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema", "json_object", "none"])
def test_repair_loop_still_bounded_in_every_mode(mode: str) -> None:
    with serve(lambda texts: "no json here") as (base_url, requests):
        client = make_client(ModelConfig(model="m", base_url=base_url, structured=mode))  # type: ignore[arg-type]
        with pytest.raises(Exception, match="no valid reply after 2 tries"):
            asyncio.run(ask_structured(client, [], Diagnosis, mode=mode, tries=2))  # type: ignore[arg-type]
    assert len(requests) == 2
