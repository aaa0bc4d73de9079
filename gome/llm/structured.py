"""Asking a model for typed output, with bounded repair.

Replies are parsed leniently (code fences, prose around the object, raw control characters inside
strings). A reply that does not validate is sent back with the validation error, at most `tries`
times in all (tenacity); then `StructuredOutputError` tells the caller to record the failure.
Each request asks for the strongest JSON format the endpoint supports (`StructuredMode`) and caps
the completion tokens (each role file declares its cap): a slow local server cannot run away.
"""

from __future__ import annotations

import ast
import json
import re
import time
from enum import Enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, RequestUsage, UserMessage
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from gome.llm.client import StructuredMode
from gome.llm.stream import cached_tokens
from gome.schema import GRAMMAR

__all__ = [
    "Answer",
    "CallRecord",
    "StructuredOutputError",
    "ask_structured",
    "ask_code",
    "extract_code",
    "parse_json_model",
    "schema_hint",
    "request_args",
    "grammar_schema",
    "Repair",
]

GRAMMAR_MAX_ITEMS = 6  # items of a list in a grammar-constrained reply
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Repair = Callable[[str], str]  # the request sent back after an unusable reply, given the reason


def _default_repair(error: str) -> str:
    return f"Your reply was not usable: {error}. Reply again, correctly."

_DEF_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


class StructuredOutputError(Exception):
    """The model did not produce valid output within the allowed tries (the model's fault)."""

    def __init__(self, schema_name: str, tries: int, error: str) -> None:
        super().__init__(f"{schema_name}: no valid reply after {tries} tries: {error}")
        self.schema_name, self.tries, self.error = schema_name, tries, error


class _BadReply(ValueError):
    pass


@dataclass(frozen=True)
class CallRecord:
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    ok: bool
    error: str
    cached_tokens: int | None = None  # prompt tokens the endpoint served from its cache, when it says


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    text: str
    tries: int
    prompt_tokens: int
    completion_tokens: int


def _internal(field: Any) -> bool:
    """A field gome fills itself (`json_schema_extra={"internal": True}`), not asked of the model."""
    return isinstance(field.json_schema_extra, dict) and bool(field.json_schema_extra.get("internal"))


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(f'"{m.value}"' for m in annotation)
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def schema_hint(model_cls: type[BaseModel]) -> str:
    """A compact description of the JSON object expected, built from the model's fields; enum fields
    list their allowed values."""
    lines = []
    for name, field in model_cls.model_fields.items():
        if _internal(field):
            continue
        ann = _type_name(field.annotation)
        desc = f" - {field.description}" if field.description else ""
        lines.append(f'  "{name}": {ann}{desc}')
    return "{\n" + ",\n".join(lines) + "\n}"


def grammar_schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with `$ref`s inlined and titles dropped, for grammar-constrained servers,
    with the bounds a small model needs (a field's `GRAMMAR` extra; at most GRAMMAR_MAX_ITEMS items in a
    list): without them a string inside a list can run on to the reply's token cap."""
    schema = model_cls.model_json_schema()
    defs = schema.pop("$defs", {})
    for name, field in model_cls.model_fields.items():
        if _internal(field):
            schema.get("properties", {}).pop(name, None)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            node = {**node, **node.get(GRAMMAR, {})}
            if node.get("type") == "array":
                node.setdefault("maxItems", GRAMMAR_MAX_ITEMS)
            return {k: walk(v) for k, v in node.items() if k not in ("title", GRAMMAR)}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _without_grammar(node: Any) -> Any:
    """A schema without gome's grammar bounds (a strict json_schema endpoint may refuse unknown keys)."""
    if isinstance(node, dict):
        return {k: _without_grammar(v) for k, v in node.items() if k != GRAMMAR}
    return [_without_grammar(v) for v in node] if isinstance(node, list) else node


def request_args(mode: StructuredMode, model_cls: type[BaseModel] | None, max_tokens: int | None) -> dict[str, Any]:
    """Keyword arguments of `ChatCompletionClient.create` for a mode (no model class: plain text).

    json_schema goes as a plain response_format dict rather than autogen's `json_output=<class>`:
    that path parses inside the openai client and raises on a bad reply, bypassing lenient parsing
    and the repair loop."""
    extra: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
    json_output: bool | None = None
    if model_cls is not None and mode == "json_schema":
        from openai.lib._parsing import type_to_response_format_param  # the strict schema openai's .parse sends

        extra["response_format"] = _without_grammar(type_to_response_format_param(model_cls))
    elif model_cls is not None and mode == "json_object_schema":
        extra["response_format"] = {"type": "json_object", "schema": grammar_schema(model_cls)}
    elif model_cls is not None and mode == "json_object":
        json_output = True
    return {"json_output": json_output, "extra_create_args": extra}


def parse_json_model(text: str, model_cls: type[M]) -> M:
    """Parses the first JSON object in `text` into `model_cls`; raises ValueError with the reason."""
    body = text.strip()
    fenced = _FENCE.search(body)
    if fenced and "{" in fenced.group(2):
        body = fenced.group(2)
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise _BadReply("the reply holds no JSON object")
    try:
        data = json.loads(body[start : end + 1], strict=False)
    except json.JSONDecodeError as exc:
        raise _BadReply(f"invalid JSON: {exc}") from exc
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise _BadReply(f"JSON does not match the schema: {errors}") from exc


def _pieces(blocks: list[str]) -> bool:
    """Whether several code blocks are pieces of one script (a function in one, the code that calls it in
    the next), not alternatives: each parses, and no two define the same name or repeat a statement."""
    seen_defs: set[str] = set()
    seen_lines: set[str] = set()
    for body in blocks:
        try:
            tree = ast.parse(body)
        except SyntaxError:
            return False
        defs = {n.name for n in tree.body if isinstance(n, _DEF_NODES)}
        lines = {ast.unparse(n) for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, *_DEF_NODES))}
        if defs & seen_defs or lines & seen_lines:
            return False
        seen_defs |= defs
        seen_lines |= lines
    return True


def extract_code(text: str) -> str:
    """The fenced code of a reply: its blocks joined when they are pieces of one script, else the longest;
    or the reply itself if it looks like bare code. An odd number of fences means the reply was cut off
    mid-script: that is a bad reply, not code."""
    if text.count("```") % 2 == 1:
        raise _BadReply("the code block is not closed (the reply was cut off); reply with a shorter, complete script")
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "py", "python3")]
    if len(blocks) > 1 and _pieces(blocks):
        return "\n\n".join(body.strip() for body in blocks) + "\n"
    if blocks:
        return max(blocks, key=len).strip() + "\n"
    if re.search(r"^(import|from) \w", text, re.MULTILINE):
        return text.strip() + "\n"
    raise _BadReply("the reply holds no Python code block")


async def _ask(
    client: ChatCompletionClient,
    messages: Sequence[LLMMessage],
    parse: Callable[[str], T],
    name: str,
    tries: int,
    create_args: dict[str, Any],
    on_call: Callable[[CallRecord], None],
    repair: Repair,
) -> Answer[T]:
    history = list(messages)
    used = RequestUsage(prompt_tokens=0, completion_tokens=0)
    count = 0
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(tries), retry=retry_if_exception_type(_BadReply), reraise=True
        ):
            with attempt:
                count += 1
                start = time.monotonic()
                result = await client.create(history, **create_args)
                text = result.content if isinstance(result.content, str) else ""
                if result.finish_reason == "stop" and create_args["extra_create_args"].get("stop") and text.count("```") % 2:
                    text += "\n```"  # the stop sequence ended the reply inside its code block
                used = RequestUsage(
                    prompt_tokens=used.prompt_tokens + result.usage.prompt_tokens,
                    completion_tokens=used.completion_tokens + result.usage.completion_tokens,
                )
                try:
                    value = parse(text)
                except _BadReply as exc:
                    on_call(CallRecord(result.usage.prompt_tokens, result.usage.completion_tokens,
                                       time.monotonic() - start, False, str(exc), cached_tokens(result.usage)))
                    history += [AssistantMessage(content=text, source="assistant"),
                                UserMessage(content=repair(str(exc)), source="user")]
                    raise
                on_call(CallRecord(result.usage.prompt_tokens, result.usage.completion_tokens,
                                   time.monotonic() - start, True, "", cached_tokens(result.usage)))
                return Answer(value, text, count, used.prompt_tokens, used.completion_tokens)
    except _BadReply as exc:
        raise StructuredOutputError(name, count, str(exc)) from exc
    raise AssertionError("unreachable")


async def ask_structured(
    client: ChatCompletionClient,
    messages: Sequence[LLMMessage],
    model_cls: type[M],
    *,
    tries: int = 3,
    mode: StructuredMode = "json_object",
    max_tokens: int | None = None,
    on_call: Callable[[CallRecord], None] = lambda record: None,
    repair: Repair = _default_repair,
) -> Answer[M]:
    """Asks for a JSON object that validates as `model_cls`, repairing at most `tries - 1` times."""
    return await _ask(client, messages, lambda t: parse_json_model(t, model_cls), model_cls.__name__,
                      tries, request_args(mode, model_cls, max_tokens), on_call, repair)


async def ask_code(
    client: ChatCompletionClient,
    messages: Sequence[LLMMessage],
    *,
    tries: int = 2,
    max_tokens: int | None = None,
    on_call: Callable[[CallRecord], None] = lambda record: None,
    repair: Repair = _default_repair,
    check: Callable[[str], str] = lambda code: "",
    stop: str = "",
) -> Answer[str]:
    """Asks for a Python script in a fenced block; `check` may find fault with the code (a reason, or ''),
    which is sent back like any unusable reply. With `stop`, the reply ends before that text (the endpoint
    must take `stop`), and a code block it leaves open is closed."""

    def parse(text: str) -> str:
        code = extract_code(text)
        fault = check(code)
        if fault:
            raise _BadReply(fault)
        return code

    args = request_args("none", None, max_tokens)
    if stop:
        args["extra_create_args"]["stop"] = [stop]
    return await _ask(client, messages, parse, "PythonScript", tries, args, on_call, repair)
