"""How often each kind of move was accepted in the directed updates of kept benchmark runs, and how often the
diagnosis chose a tune while a swap or the ratios were on offer (the offer rebuilt from the run's own scripts
with the move catalogue of this checkout, the expected grade left out: the runs had no such move).

    python benchmarks/move_kinds.py docs/bench/stop22 docs/bench/stop23 docs/bench/stop26

Prints a table: move kind, updates, accepted, their outcomes. Read from the runs' events, nothing is run."""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from gome.roles import load_messages
from gome.tools.moves import EXPECTED, offer


def kind_of(key: str) -> str:
    if key.startswith("use "):
        return "swap"
    if key.startswith(("features():", "predict():")):
        return "text move"
    return "tune"


def attempts(run: Path) -> list[dict]:
    return [e["attempt"] for line in (run / "events.jsonl").read_text().splitlines()
            if (e := json.loads(line))["kind"] == "optimizer_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="benchmark folders with runs/<cell>/events.jsonl")
    args = parser.parse_args()
    messages = load_messages()
    outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    tunes = passed_over = 0
    for run in sorted(r for folder in args.folders for r in (folder / "runs").glob("*") if (r / "events.jsonl").exists()):
        catalogue = messages.items("move_regressors" if run.name.startswith("ames-prices") else "move_classifiers")
        journal = attempts(run)
        for i, a in enumerate(journal):
            move = (a.get("plan") or {}).get("move")
            if not move or a["mode"] != "directed" or a["kind"] != "improve":
                continue
            kind = kind_of(move["key"])
            outcomes[kind][a.get("outcome") or "none"] += 1
            accepted = [b for b in journal[:i] if b["accepted"]]
            if kind == "tune" and accepted:
                tunes += 1
                offered = offer(accepted[-1]["code"], catalogue, [b["code"] for b in journal[:i]], k=10)
                passed_over += any(kind_of(m.key) != "tune" and m.key != EXPECTED.key for m in offered)
    print("| move kind | directed updates | accepted | outcomes |\n|---|---|---|---|")
    for kind, counts in sorted(outcomes.items()):
        rest = ", ".join(f"{k} {v}" for k, v in counts.most_common() if k != "accepted")
        print(f"| {kind} | {sum(counts.values())} | {counts['accepted']} | {rest} |")
    print(f"\ntunes chosen while a swap or the ratios were on offer: {passed_over} of {tunes}")


if __name__ == "__main__":
    main()
