"""Model fault injection: a server on 127.0.0.1 answers 429, 500, too slowly, truncated JSON, empty
content and prose, in seeded mixes. Runs complete; every failure is recorded; retries are bounded."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from fault_server import serve_faulty
from scripted_model import policy

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ModelConfig
from gome.runner import run
from gome.schema import AgentMessage, LLMCall, OptimizerStep, RunFinished, StructuredFailure
from gome.tasks import prepare_task


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


@pytest.mark.parametrize("seed", [1, 2])
def test_runs_complete_under_injected_faults(penguins: Path, tmp_path: Path, seed: int) -> None:
    with serve_faulty(policy, seed=seed, rate=0.45, slow_s=2.5) as (base_url, faulty):
        model = ModelConfig(model="faulty", base_url=base_url, timeout_s=1.5, max_retries=2, retry_backoff_s=0.05)
        config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=5, tries=3, exec_timeout_s=120,
                           final_seeds=0, model=model)
        result = asyncio.run(run(config))
    events = list(read_events(result.run_dir / "events.jsonl"))
    assert isinstance(events[-1], RunFinished) and "error" not in result.reason
    assert len([e for e in events if isinstance(e, OptimizerStep)]) == 5
    drawn = Counter(faulty.drawn)
    assert sum(n for f, n in drawn.items() if f != "ok") >= 3, drawn
    calls = [e for e in events if isinstance(e, LLMCall)]
    failed = [c for c in calls if not c.ok]
    transport = [c for c in failed if c.error.startswith(("HTTP 429", "HTTP 500", "APITimeoutError"))]
    assert len(transport) == drawn["429"] + drawn["500"] + drawn["slow"]  # every transport failure is visible
    assert all(c.agent in ("coder", "diagnostician", "memory_keeper") for c in failed)
    repeats = [c for c in failed if "already ran" in c.error]  # a script already run, sent back to the Coder
    assert all(c.agent == "coder" for c in repeats)
    assert len(failed) - len(transport) - len(repeats) == drawn["truncated"] + drawn["empty"] + drawn["prose"]  # bad replies too
    # bounded: no single model question took more than (1 + retries) transport tries x `tries` repair tries
    assert len(calls) <= len(faulty.drawn) - 1 and len(faulty.drawn) - 1 <= 5 * 3 * 3 * 3
    for failure in (e for e in events if isinstance(e, StructuredFailure)):
        assert failure.tries <= 3


def test_a_run_with_spent_retries_replays_identically(penguins: Path, tmp_path: Path) -> None:
    """No transport retries: every 429/500/timeout fails its call; the recording keeps those failures."""
    with serve_faulty(policy, seed=4, rate=0.45, slow_s=2.5) as (base_url, faulty):
        model = ModelConfig(model="faulty", base_url=base_url, timeout_s=1.5, max_retries=0)
        config = RunConfig(task_dir=penguins, runs_dir=tmp_path, steps=4, tries=3, exec_timeout_s=120,
                           final_seeds=0, model=model)
        result = asyncio.run(run(config))
    recorded = [json.loads(line) for line in (result.run_dir / "llm_calls.jsonl").read_text().splitlines()]
    assert any("failed" in r for r in recorded), Counter(faulty.drawn)
    replay = config.model_copy(update={"runs_dir": tmp_path / "replay", "replay_from": result.run_dir})
    again = asyncio.run(run(replay))

    def talk(run_dir: Path) -> list[tuple[str, str]]:
        return [(e.source, e.content) for e in read_events(run_dir / "events.jsonl")
                if isinstance(e, AgentMessage) and e.source in ("coder", "diagnostician", "memory_keeper")]

    assert talk(again.run_dir) == talk(result.run_dir) and len(talk(result.run_dir)) >= 4
    assert again.best_attempt == result.best_attempt
