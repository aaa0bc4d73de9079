"""Bounded, visible retries of transport failures (HTTP 429 and 5xx, timeouts, lost connections).

The openai client's own silent retries are off (`max_retries=0` in make_client); `RetryingClient`
retries instead, with exponential backoff, and reports every failed try through `on_failure`, which
the runner turns into an LLMCall event (ok=False) of the agent that made the call (`CURRENT_AGENT`).
When the tries are spent it raises `StructuredOutputError`, so the agent records the failure and
falls back, and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage

from gome.llm.delegate import DelegatingClient
from gome.llm.structured import StructuredOutputError

__all__ = ["CURRENT_AGENT", "RetryingClient", "is_transient"]

CURRENT_AGENT: contextvars.ContextVar[str] = contextvars.ContextVar("gome_agent", default="")


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts, dropped connections. A streamed reply's own read
    fails with httpx's errors, which the openai client wraps only while it sends the request: a read timeout in
    the middle of a stream (a server that stalled, or a machine that slept) ended a benchmark trace at stop 26."""
    import httpx
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, httpx.TimeoutException, httpx.NetworkError,
                        httpx.RemoteProtocolError)):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    head = f"HTTP {status}" if status else type(exc).__name__
    return f"{head}: {' '.join(str(exc).split())[:200]}"


class RetryingClient(DelegatingClient):
    def __init__(self, inner: ChatCompletionClient, retries: int, backoff_s: float,
                 on_failure: Callable[[str, float], None]) -> None:
        super().__init__(inner)
        self.retries, self.backoff_s, self.on_failure = retries, backoff_s, on_failure

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        assert self.inner is not None
        for attempt in range(self.retries + 1):
            start = time.monotonic()
            try:
                result = await self.inner.create(messages, **kwargs)
            except Exception as exc:  # noqa: BLE001 - anything else is re-raised below
                if not is_transient(exc):
                    raise
                self.on_failure(_describe(exc), time.monotonic() - start)
                if attempt == self.retries:
                    raise StructuredOutputError("model call", attempt + 1, _describe(exc)) from exc
                await asyncio.sleep(self.backoff_s * 2**attempt)
                continue
            self._count(result.usage)
            return result
        raise AssertionError("unreachable")
