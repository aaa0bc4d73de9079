"""Benchmark: wall time of 1 vs 2 trace teams on execution-bound steps, and the Coordinator's cost per push.

The model is scripted (instant replies); every step runs a script that trains a random forest for a
few seconds, so the search is bound by execution and parallel traces should overlap on 2 CPUs.
Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_traces.py [--steps 4] [--trees 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from gome.config import RunConfig
from gome.coordinator import Coordinator, Push
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import Attempt, MemoryEntry, OptimizerStep, RunStarted
from gome.tasks import prepare_task

SCRIPT = '''import pandas as pd
from sklearn.ensemble import RandomForestClassifier
train = pd.read_csv("input/train.csv"); test = pd.read_csv("input/test.csv")
features = [c for c in train.columns if c not in ("id", "species")]
both = pd.get_dummies(pd.concat([train[features], test[features]]), dummy_na=True).fillna(0)
X, X_test = both.iloc[: len(train)], both.iloc[len(train):]
model = RandomForestClassifier(n_estimators={trees}, random_state={seed}, n_jobs=1).fit(X, train["species"])
pd.DataFrame({{"id": test["id"], "species": model.predict(X_test)}}).to_csv("submission.csv", index=False)
'''


def policy(trees: int):
    counter = iter(range(10_000))

    def reply(texts: list[str]) -> str:
        system = texts[0]
        if texts == ["Reply with OK."]:
            return "OK"
        if "You are the Coder" in system:
            return "```python\n" + SCRIPT.format(trees=trees, seed=next(counter)) + "```"
        if "You are the Diagnostician" in system:
            return json.dumps({"summary": "ran", "direction": "more trees"})
        return json.dumps({"direction": "more trees", "step_size": "targeted"})

    return reply


def search_seconds(run_dir: Path) -> tuple[float, int]:
    events = list(read_events(run_dir / "events.jsonl"))
    start = next(e.ts for e in events if isinstance(e, RunStarted))
    steps = [e for e in events if isinstance(e, OptimizerStep)]
    return max(e.ts for e in steps) - start, len(steps)


def time_traces(task: Path, runs: Path, traces: int, steps: int, trees: int) -> tuple[float, int]:
    reply = policy(trees)
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=runs, traces=traces, cpus=2, threads=1, steps=steps,
                       final_top_k=1, final_seeds=0, exec_timeout_s=300)
    result = asyncio.run(run(config, client=client))
    return search_seconds(result.run_dir)


def push_cost(pushes: int = 2000) -> float:
    """Microseconds per Coordinator.push, with the shared memory growing by one entry per push."""
    coord = Coordinator(lower_is_better=False)
    start = time.perf_counter()
    for i in range(pushes):
        attempt = Attempt(id=f"{i % 2}-{i:05d}", trace=i % 2, step=i, parent_id=None, kind="improve",
                          score=i / pushes, status="ok", accepted=True)
        memory = [MemoryEntry(id=f"m{i}", trace=i % 2, step=i, direction="d", changes=[], gain=0.1, score=0.5)]
        coord.push(Push(trace=i % 2, base_version=coord.version, attempt=attempt, code="x" * 2000, new_memory=memory))
    return (time.perf_counter() - start) / pushes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--trees", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        task = prepare_task("penguins", Path(tmp) / "penguins")
        one, n1 = time_traces(task, Path(tmp) / "runs1", 1, args.steps, args.trees)
        two, n2 = time_traces(task, Path(tmp) / "runs2", 2, args.steps, args.trees)
    rate1, rate2 = n1 / one, n2 / two
    rows = [("1 trace", n1, one, rate1), ("2 traces", n2, two, rate2)]
    out = sys.stdout
    out.write("| traces | attempts | search wall time (s) | attempts/s |\n|---|---|---|---|\n")
    for name, n, secs, rate in rows:
        out.write(f"| {name} | {n} | {secs:.1f} | {rate:.3f} |\n")
    out.write(f"\nspeed-up (throughput, 2 vs 1 trace): {rate2 / rate1:.2f}x\n")
    out.write(f"Coordinator.push: {push_cost():.0f} µs per push (2,000 pushes, memory growing to 2,000 entries)\n")


if __name__ == "__main__":
    main()
