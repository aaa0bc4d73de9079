"""Asking a model for typed output, with bounded repair.

Replies are parsed leniently (code fences, prose around the object, raw control characters inside
strings). A reply that does not validate is sent back with the validation error, at most `tries`
times in all (tenacity); then `StructuredOutputError` tells the caller to record the failure.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, RequestUsage, UserMessage
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

__all__ = [
    "Answer",
    "CallRecord",
    "StructuredOutputError",
    "ask_structured",
    "ask_code",
    "extract_code",
    "parse_json_model",
    "schema_hint",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
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


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    text: str
    tries: int
    prompt_tokens: int
    completion_tokens: int


def schema_hint(model_cls: type[BaseModel]) -> str:
    """A compact description of the JSON object expected, built from the model's fields."""
    lines = []
    for name, field in model_cls.model_fields.items():
        ann = getattr(field.annotation, "__name__", str(field.annotation)).replace("typing.", "")
        desc = f" - {field.description}" if field.description else ""
        lines.append(f'  "{name}": {ann}{desc}')
    return "{\n" + ",\n".join(lines) + "\n}"


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


def extract_code(text: str) -> str:
    """The longest fenced code block of a reply, or the reply itself if it looks like bare code."""
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "py", "python3")]
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
    json_output: bool,
    on_call: Callable[[CallRecord], None],
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
                result = await client.create(history, json_output=True if json_output else None)
                text = result.content if isinstance(result.content, str) else ""
                used = RequestUsage(
                    prompt_tokens=used.prompt_tokens + result.usage.prompt_tokens,
                    completion_tokens=used.completion_tokens + result.usage.completion_tokens,
                )
                try:
                    value = parse(text)
                except _BadReply as exc:
                    on_call(CallRecord(result.usage.prompt_tokens, result.usage.completion_tokens,
                                       time.monotonic() - start, False, str(exc)))
                    history += [AssistantMessage(content=text, source="assistant"),
                                UserMessage(content=f"Your reply was not usable: {exc}. Reply again, correctly.", source="user")]
                    raise
                on_call(CallRecord(result.usage.prompt_tokens, result.usage.completion_tokens,
                                   time.monotonic() - start, True, ""))
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
    json_output: bool = True,
    on_call: Callable[[CallRecord], None] = lambda record: None,
) -> Answer[M]:
    """Asks for a JSON object that validates as `model_cls`, repairing at most `tries - 1` times."""
    return await _ask(client, messages, lambda t: parse_json_model(t, model_cls), model_cls.__name__,
                      tries, json_output, on_call)


async def ask_code(
    client: ChatCompletionClient,
    messages: Sequence[LLMMessage],
    *,
    tries: int = 2,
    on_call: Callable[[CallRecord], None] = lambda record: None,
) -> Answer[str]:
    """Asks for a Python script in a fenced block."""
    return await _ask(client, messages, extract_code, "PythonScript", tries, False, on_call)
