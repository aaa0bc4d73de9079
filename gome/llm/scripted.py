"""A fake model for tests: its reply is a function of the transcript it is sent."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

__all__ = ["ScriptedChatCompletionClient", "Transcript"]

Transcript = Sequence[LLMMessage]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _text(messages: Transcript) -> str:
    return "\n".join(str(m.content) for m in messages)


class ScriptedChatCompletionClient(ChatCompletionClient):
    """Answers each request with `policy(messages)`; counts tokens as characters / 4."""

    def __init__(self, policy: Callable[[Transcript], str]) -> None:
        self._policy = policy
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._last = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self.calls: list[list[LLMMessage]] = []

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        self.calls.append(list(messages))
        reply = self._policy(messages)
        self._last = RequestUsage(prompt_tokens=_tokens(_text(messages)), completion_tokens=_tokens(reply))
        self._total = RequestUsage(
            prompt_tokens=self._total.prompt_tokens + self._last.prompt_tokens,
            completion_tokens=self._total.completion_tokens + self._last.completion_tokens,
        )
        return CreateResult(finish_reason="stop", content=reply, usage=self._last, cached=False)

    async def create_stream(self, messages: Sequence[LLMMessage], **kwargs: Any) -> AsyncGenerator[str | CreateResult, None]:
        yield await self.create(messages, **kwargs)

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._last

    def total_usage(self) -> RequestUsage:
        return self._total

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return _tokens(_text(messages))

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return 100_000 - self.count_tokens(messages)

    @property
    def capabilities(self) -> ModelInfo:  # type: ignore[override]
        return self.model_info

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(
            vision=False, function_calling=False, json_output=True, family=ModelFamily.UNKNOWN, structured_output=False
        )
