"""A fake model for tests: its reply is a function of the transcript it is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autogen_core.models import CreateResult, LLMMessage, RequestUsage

from gome.llm.delegate import DelegatingClient

__all__ = ["ScriptedChatCompletionClient", "Transcript"]

Transcript = Sequence[LLMMessage]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _text(messages: Transcript) -> str:
    return "\n".join(str(m.content) for m in messages)


class ScriptedChatCompletionClient(DelegatingClient):
    """Answers each request with `policy(messages)`, cut before the first `stop` text the request names, as a
    server does; counts tokens as characters / 4."""

    def __init__(self, policy: Callable[[Transcript], str]) -> None:
        super().__init__(None)
        self._policy = policy
        self.calls: list[list[LLMMessage]] = []

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        self.calls.append(list(messages))
        reply = self._policy(messages)
        for stop in (kwargs.get("extra_create_args") or {}).get("stop") or []:
            reply = reply.split(stop, 1)[0]
        usage = RequestUsage(prompt_tokens=_tokens(_text(messages)), completion_tokens=_tokens(reply))
        self._count(usage)
        return CreateResult(finish_reason="stop", content=reply, usage=usage, cached=False)
