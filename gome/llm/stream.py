"""A streaming client for OpenAI-compatible endpoints: progress while a reply is generated, and the
prompt tokens the server served from its cache.

`StreamingClient` asks for `stream=True` with `stream_options.include_usage`, gathers the reply, and
every `every_s` seconds of a long call tells the listener in `CALL_PROGRESS` (set per trace, around
each call) how many tokens have come and at what rate. Its usage is a `CachedUsage`: the request
usage plus `cached_tokens` when the endpoint reports `prompt_tokens_details.cached_tokens` (OpenAI and
gome's embedded server do), None when it does not. An endpoint that sends no usage chunk gets its
completion tokens counted from the stream.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autogen_core.models import (
    AssistantMessage, ChatCompletionClient, CreateResult, LLMMessage, RequestUsage, SystemMessage, UserMessage,
)

from gome.llm.delegate import DelegatingClient

__all__ = ["CALL_PROGRESS", "CachedUsage", "Progress", "ProgressClient", "StreamingClient", "cached_tokens"]


@dataclass
class CachedUsage(RequestUsage):
    cached_tokens: int | None = None


def cached_tokens(usage: RequestUsage) -> int | None:
    """The prompt tokens the endpoint served from its cache, when it said so."""
    return getattr(usage, "cached_tokens", None)


@dataclass(frozen=True)
class Progress:
    tokens: int  # generated so far
    elapsed_s: float  # since the call was sent: the prompt's reading and the writing
    writing_s: float = 0.0  # since the first token came

    @property
    def tokens_per_s(self) -> float:
        """The rate of writing, the time the endpoint spent reading the prompt left out."""
        return self.tokens / self.writing_s if self.writing_s > 0 else 0.0


CALL_PROGRESS: contextvars.ContextVar[Callable[[Progress], None] | None] = contextvars.ContextVar(
    "gome_call_progress", default=None)


class ProgressClient(DelegatingClient):
    """Sends a streamed call's progress to `report` (the trace that makes the call) while it runs."""

    def __init__(self, inner: ChatCompletionClient, report: Callable[[Progress], None]) -> None:
        super().__init__(inner)
        self.report = report

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        assert self.inner is not None
        token = CALL_PROGRESS.set(self.report)
        try:
            result = await self.inner.create(messages, **kwargs)
        finally:
            CALL_PROGRESS.reset(token)
        self._count(result.usage)
        return result


def _wire(message: LLMMessage) -> dict[str, str]:
    role = {SystemMessage: "system", UserMessage: "user", AssistantMessage: "assistant"}.get(type(message))
    if role is None or not isinstance(message.content, str):
        raise TypeError(f"the streaming client sends text messages only, not {type(message).__name__}")
    return {"role": role, "content": message.content}


class StreamingClient(DelegatingClient):
    """`create` over a streamed chat completion (see the module's docstring)."""

    def __init__(self, *, model: str, base_url: str, api_key: str, max_tokens: int, temperature: float,
                 timeout_s: float, every_s: float = 3.0) -> None:
        super().__init__(None)
        import openai

        self._openai = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
        self.model, self.max_tokens, self.temperature, self.every_s = model, max_tokens, temperature, every_s

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        args: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature,
                                **(kwargs.get("extra_create_args") or {})}
        if kwargs.get("json_output") and "response_format" not in args:
            args["response_format"] = {"type": "json_object"}
        args.update(model=self.model, messages=[_wire(m) for m in messages], stream=True,
                    stream_options={"include_usage": True})
        stream = await self._openai.chat.completions.create(**args)
        parts: list[str] = []
        finish, usage, pieces = "unknown", None, 0
        start = last = time.monotonic()
        first: float | None = None  # when the first token came
        report = CALL_PROGRESS.get()
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.delta.content:
                    parts.append(choice.delta.content)
                    pieces += 1
                    first = first or time.monotonic()
                if choice.finish_reason:
                    finish = choice.finish_reason
            now = time.monotonic()
            if report is not None and now - last >= self.every_s:
                last = now
                report(Progress(pieces, now - start, now - first if first else 0.0))
        result = CreateResult(finish_reason=_finish(finish), content="".join(parts), usage=_usage(usage, pieces),
                              cached=False)
        self._count(result.usage)
        return result

    async def close(self) -> None:
        await self._openai.close()


def _finish(reason: str) -> Any:
    return reason if reason in ("stop", "length", "content_filter") else "unknown"


def _usage(usage: Any, pieces: int) -> CachedUsage:
    if usage is None:
        return CachedUsage(prompt_tokens=0, completion_tokens=pieces)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return CachedUsage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0,
                       cached_tokens=cached)
