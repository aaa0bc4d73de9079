"""The base of gome's client wrappers: forwards everything but `create` to an inner client (or
stands alone when there is none) and keeps the usage counters."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema

__all__ = ["DelegatingClient", "SeededClient"]


class DelegatingClient(ChatCompletionClient):
    """Forwards everything but `create` to an inner client."""

    def __init__(self, inner: ChatCompletionClient | None) -> None:
        self.inner = inner
        self._last = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)

    async def create_stream(self, messages: Sequence[LLMMessage], **kwargs: Any) -> AsyncGenerator[str | CreateResult, None]:
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()

    def actual_usage(self) -> RequestUsage:
        return self._last

    def total_usage(self) -> RequestUsage:
        return self._total

    def _count(self, usage: RequestUsage) -> None:
        self._last = usage
        self._total = RequestUsage(prompt_tokens=self._total.prompt_tokens + usage.prompt_tokens,
                                   completion_tokens=self._total.completion_tokens + usage.completion_tokens)

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return sum(len(str(m.content)) for m in messages) // 4

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return 100_000 - self.count_tokens(messages)

    @property
    def capabilities(self) -> ModelInfo:
        return self.model_info

    @property
    def model_info(self) -> ModelInfo:
        if self.inner is not None:
            return self.inner.model_info
        return ModelInfo(vision=False, function_calling=False, json_output=True, family="unknown", structured_output=False)


class SeededClient(DelegatingClient):
    """Sends each request a sampling seed: the n-th call of a trace gets `base + n`. With a server that honours
    it (llama.cpp), a run is repeatable and two runs with the same seed (a benchmark's variants) make the same
    first draft, so that what differs between them is what the variant changes."""

    def __init__(self, inner: ChatCompletionClient, base: int) -> None:
        super().__init__(inner)
        self.base, self.calls = base, 0

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        assert self.inner is not None
        extra = {"seed": (self.base + self.calls) % 2**31, **(kwargs.pop("extra_create_args", None) or {})}
        self.calls += 1
        result = await self.inner.create(messages, extra_create_args=extra, **kwargs)
        self._count(result.usage)
        return result
