"""The hybrid's two arms, read from kept benchmark runs: for each strategy, the steps made in each mode (directed:
from a diagnosis; explore: the tree's scalar feedback) by kind, and how many passed the acceptance test.

    python benchmarks/arms.py docs/bench/stop22 docs/bench/stop23 docs/bench/stop26 docs/bench/stop27 docs/bench/stop28

Prints a table: strategy, mode, kind, steps, accepted (a gain that passed the test; a cheaper tie is no gain), the
other outcomes. The ensemble stage's drafts are a row of their own. Read from the runs' events, nothing is run."""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from gome.events import read_events
from gome.schema import OptimizerStep, RunStarted

Key = tuple[str, str, str]


def count(run: Path, table: dict[Key, collections.Counter]) -> None:
    events = list(read_events(run / "events.jsonl"))
    started = next(e for e in events if isinstance(e, RunStarted))
    z = float(started.config.get("accept_z", 2.0))
    attempts = {e.attempt.id: e.attempt for e in events if isinstance(e, OptimizerStep)}  # the last step of each
    strategy = run.name.split("--")[1]
    for a in attempts.values():
        kind = "ensemble draft" if a.kind == "draft" and (a.note or "").startswith("ensemble stage") else a.kind
        outcome = "passed the test" if a.passed_test(z) else (a.outcome or "no score")
        table[(strategy, a.mode, kind)][outcome] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="benchmark folders with runs/<cell>/events.jsonl")
    args = parser.parse_args()
    table: dict[Key, collections.Counter] = collections.defaultdict(collections.Counter)
    runs = sorted(r for folder in args.folders for r in (folder / "runs").glob("*") if (r / "events.jsonl").exists())
    for run in runs:
        count(run, table)
    print(f"{len(runs)} runs\n\n| strategy | mode | kind | steps | passed the test | other outcomes |\n|---|---|---|---|---|---|")
    for (strategy, mode, kind), outcomes in sorted(table.items()):
        passed = outcomes["passed the test"]
        rest = ", ".join(f"{k} {v}" for k, v in outcomes.most_common() if k != "passed the test")
        print(f"| {strategy} | {mode} | {kind} | {sum(outcomes.values())} | {passed} | {rest} |")


if __name__ == "__main__":
    main()
