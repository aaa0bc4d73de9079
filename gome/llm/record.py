"""Record and replay of model calls.

`RecordingClient` appends every reply of one trace to `llm_calls.jsonl` in the run folder, and every
call whose transport retries were spent (the agent then falls back), so a replay fails the same call;
`ReplayClient` answers a later run from that file, offline, reply by reply in the order each trace
made its calls (the calls of one trace are sequential). Keying by order rather than by prompt keeps a
replay exact even where prompts hold timings; a prompt that differs from the recorded one is counted
in `mismatches`, and running out of recorded replies raises `ReplayExhausted`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, RequestUsage

from gome.errors import GomeUserError
from gome.llm.delegate import DelegatingClient
from gome.llm.structured import StructuredOutputError

__all__ = ["RecordingClient", "ReplayClient", "ReplayExhausted", "prompt_key"]

_LOCK = threading.Lock()


class ReplayExhausted(GomeUserError):
    """The replayed run asked for more model calls than were recorded."""


def prompt_key(messages: Sequence[LLMMessage]) -> str:
    text = json.dumps([[type(m).__name__, str(m.content)] for m in messages])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class RecordingClient(DelegatingClient):
    def __init__(self, inner: ChatCompletionClient, path: Path, trace: int) -> None:
        super().__init__(inner)
        self.path, self.trace = path, trace
        earlier = path.read_text().splitlines() if path.is_file() else []  # a resumed run continues the sequence
        self.seq = sum(1 for line in earlier if line.endswith("}") and json.loads(line)["trace"] == trace)

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        assert self.inner is not None
        record: dict[str, Any] = {"trace": self.trace, "seq": self.seq, "key": prompt_key(messages)}
        try:
            result = await self.inner.create(messages, **kwargs)
        except StructuredOutputError as exc:  # retries spent: recorded, so a replay fails this call too
            self._append({**record, "failed": [exc.schema_name, exc.tries, exc.error]})
            raise
        self._append({**record, "content": result.content, "finish_reason": result.finish_reason,
                      "prompt_tokens": result.usage.prompt_tokens, "completion_tokens": result.usage.completion_tokens})
        self._count(result.usage)
        return result

    def _append(self, record: dict[str, Any]) -> None:
        with _LOCK, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        self.seq += 1


class ReplayClient(DelegatingClient):
    def __init__(self, path: Path, trace: int) -> None:
        super().__init__(None)
        if not path.is_file():
            raise GomeUserError(f"{path}: no recorded model calls to replay")
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
        self.records = sorted((r for r in lines if r["trace"] == trace), key=lambda r: r["seq"])
        self.trace, self.seq, self.mismatches = trace, 0, 0

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        if self.seq >= len(self.records):
            raise ReplayExhausted(f"trace {self.trace}: the replay asked for call {self.seq + 1}, "
                                  f"but only {len(self.records)} were recorded")
        record = self.records[self.seq]
        self.seq += 1
        self.mismatches += record["key"] != prompt_key(messages)
        if "failed" in record:
            raise StructuredOutputError(*record["failed"])
        usage = RequestUsage(prompt_tokens=record["prompt_tokens"], completion_tokens=record["completion_tokens"])
        self._count(usage)
        return CreateResult(finish_reason=record["finish_reason"], content=record["content"], usage=usage, cached=True)
