"""The base of gome's client wrappers: forwards everything but `create` to an inner client (or
stands alone when there is none) and keeps the usage counters."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage
from autogen_core.tools import Tool, ToolSchema

__all__ = ["DelegatingClient"]


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
