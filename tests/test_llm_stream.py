"""Streamed replies (progress, cached prompt tokens) through a real HTTP server, and the embedded
server's prompt-lookup draft."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
from autogen_core.models import SystemMessage, UserMessage

from gome.config import RunConfig
from gome.console import ConsoleView
from gome.events import read_events
from gome.llm import ModelConfig, make_client
from gome.llm.llama_server import LookupDraft
from gome.llm.stream import Progress, ProgressClient, cached_tokens
from gome.runner import run
from gome.schema import LLMCall, LLMProgress, OptimizerStep, RunFinished
from gome.tasks import prepare_task
from gome.view.live import LiveView
from openai_server import STALL, serve
from scripted_model import agent_of, policy

PREAMBLE = "You are one of four agents of gome. " * 20


def test_a_streamed_reply_reports_progress_and_the_cached_prompt_tokens() -> None:
    reply = "the whole script, streamed a few characters at a time. " * 6
    seen: list[Progress] = []
    with serve(lambda texts: reply) as (base_url, requests):
        config = ModelConfig(model="m", base_url=base_url, stream=True)
        client = ProgressClient(make_client(config), seen.append)
        client.inner.every_s = 0.0  # type: ignore[union-attr]  # a progress report per chunk

        async def ask(question: str):
            return await client.create([SystemMessage(content=PREAMBLE), UserMessage(content=question, source="u")])

        first, second = asyncio.run(ask("first")), asyncio.run(ask("second"))
    assert requests[0]["body"]["stream"] is True and requests[0]["body"]["stream_options"] == {"include_usage": True}
    assert first.content == reply == second.content and first.finish_reason == "stop"
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens == len(reply) // 4
    assert cached_tokens(first.usage) == 0 and cached_tokens(second.usage) == len(PREAMBLE) // 4
    chunks = -(-len(reply) // 8)
    assert [p.tokens for p in seen[:chunks]] == list(range(1, chunks + 1))  # a report per chunk, as they come
    assert all(later.elapsed_s >= earlier.elapsed_s for earlier, later in zip(seen[:chunks], seen[1:chunks]))
    # the rate counts from the first token, not from the request: the prompt's reading is left out
    assert all(p.writing_s <= p.elapsed_s for p in seen) and seen[chunks - 1].writing_s > 0
    assert Progress(20, elapsed_s=12.0, writing_s=2.0).tokens_per_s == 10.0 and Progress(0, 31.0).tokens_per_s == 0.0


def test_an_endpoint_that_does_not_stream_usage_still_counts_tokens() -> None:
    from gome.llm.stream import _usage

    usage = _usage(None, 17)
    assert (usage.prompt_tokens, usage.completion_tokens, cached_tokens(usage)) == (0, 17, None)


def test_a_streamed_run_records_cached_tokens_and_shows_progress_without_logging_it(tmp_path: Path) -> None:
    penguins = prepare_task("penguins", tmp_path / "penguins")
    shown: list[object] = []
    with serve(policy) as (base_url, _):
        config = RunConfig(task_dir=penguins, runs_dir=tmp_path / "runs", steps=2, exec_timeout_s=120,
                           model=ModelConfig(model="scripted", base_url=base_url, stream=True))
        result = asyncio.run(run(config, make_client(config.model), listeners=(shown.append,)))
    calls = [e for e in read_events(result.run_dir / "events.jsonl") if isinstance(e, LLMCall)]
    assert calls and all(c.ok and c.cached_tokens is not None for c in calls)
    assert any(c.cached_tokens for c in calls[1:])  # every role's prompt starts with the shared preamble
    assert all(c.cached_tokens is not None and c.cached_tokens <= c.prompt_tokens for c in calls)
    assert '"llm_progress"' not in (result.run_dir / "events.jsonl").read_text()
    assert not any(isinstance(e, LLMProgress) for e in shown)  # scripted replies are quick: no call lasts 3 s


def test_a_stream_that_stalls_past_the_timeout_costs_one_call_not_the_trace(tmp_path: Path) -> None:
    """The Diagnostician's first streamed reply stops halfway and the server stalls past the client's timeout (a
    benchmark trace at stop 26 ended there, "stopped by error: ReadTimeout"): the call fails and is recorded, the
    Diagnostician falls back, and the run takes all its steps."""
    penguins = prepare_task("penguins", tmp_path / "penguins")
    stalled: list[str] = []

    def stalling(texts: list[str]) -> str:
        reply = policy(texts)
        if agent_of(texts) == "diagnostician" and not stalled:
            stalled.append(reply)
            return reply[: len(reply) // 2] + STALL
        return reply

    with serve(stalling) as (base_url, _):
        config = RunConfig(task_dir=penguins, runs_dir=tmp_path / "runs", steps=3, exec_timeout_s=120, final_seeds=0,
                           model=ModelConfig(model="scripted", base_url=base_url, stream=True, timeout_s=2.0, max_retries=0))
        result = asyncio.run(run(config, make_client(config.model)))
    events = list(read_events(result.run_dir / "events.jsonl"))
    failed = [e for e in events if isinstance(e, LLMCall) and not e.ok]
    assert stalled and [(e.agent, e.error.split(":")[0]) for e in failed][:1] == [("diagnostician", "ReadTimeout")]
    assert len([e for e in events if isinstance(e, OptimizerStep)]) == 3
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert not finished.reason.startswith("stopped by error") and finished.grade is not None


def test_the_live_views_show_a_long_call_in_progress() -> None:
    live = LiveView(io.StringIO())
    live._update(LLMProgress(trace=0, step=2, agent="coder", tokens=312, tokens_per_s=9.8, elapsed_s=31.8))
    assert live.traces[0].agent == "coder" and live.traces[0].streaming == "312 tok, 9.8 tok/s, 32s"
    live._update(LLMCall(trace=0, step=2, agent="coder", prompt_tokens=900, completion_tokens=320, latency_s=33.0, ok=True))
    assert live.traces[0].streaming == "" and live.traces[0].tokens == 1220
    plain = ConsoleView(io.StringIO())
    lines = [plain.render(LLMProgress(trace=1, step=0, agent="coder", tokens=10 * t, tokens_per_s=9.0, elapsed_s=t))
             for t in (3, 6, 30, 33, 60, 3, 30)]  # the last two: the next call
    assert [bool(line) for line in lines] == [False, False, True, False, True, False, True]
    assert lines[2] == "[trace 1 step 0] coder is writing: 300 tokens in 30s (9.0 tokens/s since the first)"
    reading = LLMProgress(trace=0, step=1, agent="memory_keeper", tokens=0, tokens_per_s=0.0, elapsed_s=31.0)
    assert ConsoleView(io.StringIO()).render(reading) == "[trace 0 step 1] memory_keeper is reading its prompt: 31s"
    live._update(reading)
    assert live.traces[0].streaming == "reading its prompt, 31s"  # not "0 tok, 0.0 tok/s"


def test_lookup_drafts_the_continuation_of_the_most_recent_match() -> None:
    draft = LookupDraft(num_pred_tokens=8)
    script = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    old, new = script, [11, 12, 13, 99, 98, 97, 96, 95, 94, 93]
    ids = np.array([0] + old + [0] + new + [0, 11, 12, 13])  # the tail occurs twice before; the newer one wins
    assert draft(ids).tolist() == [99, 98, 97, 96]  # four tokens to start with
    assert draft(np.array([1, 2, 3, 4, 5])).tolist() == []  # nothing repeats: no draft


def test_lookup_drafts_grow_when_accepted_and_shrink_when_not() -> None:
    draft = LookupDraft(num_pred_tokens=8)
    text = list(range(100, 130))
    ids = text + [7] + text[:3]
    first = draft(np.array(ids))
    assert first.tolist() == text[3:7]
    ids += text[3:7] + [text[7]]  # all four accepted, and the model's own next token
    assert draft(np.array(ids)).tolist() == text[8:16] and draft.length == 8
    ids += text[8:10] + [555, 556, 557]  # two of eight accepted, then the text departs
    draft(np.array(ids[:-2]))
    assert draft.length == 3 and (draft.accepted, draft.rejected) == (6, 6)


def test_a_seeded_endpoint_gets_the_run_seed_and_the_call_number_with_each_request(tmp_path: Path) -> None:
    penguins = prepare_task("penguins", tmp_path / "penguins")
    sent: dict[bool, list[dict]] = {}
    for seeded in (True, False):
        with serve(policy) as (base_url, requests):
            config = RunConfig(task_dir=penguins, runs_dir=tmp_path / f"runs{seeded}", steps=2, exec_timeout_s=120, seed=3,
                               model=ModelConfig(model="scripted", base_url=base_url, stream=True, seeded=seeded))
            asyncio.run(run(config, make_client(config.model)))
            sent[seeded] = [r["body"] for r in requests]
    assert len(sent[True]) >= 3  # a draft, a diagnosis and a plan at least
    assert [body["seed"] for body in sent[True]] == [3_000_000 + n for n in range(len(sent[True]))]
    assert not any("seed" in body for body in sent[False])  # an endpoint not known to honour it gets none
