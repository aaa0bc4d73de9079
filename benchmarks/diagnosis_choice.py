"""Whether the diagnosis chose among the moves gome offered, or took the first: for each diagnosis of kept
benchmark runs, the rank of its next_move in the offer rebuilt from the run's own journal (the best script then,
the scripts tried, the tied tunes and the harness's capacity reading, with this checkout's catalogue), and what
the attempt that carried the move scored.

    python benchmarks/diagnosis_choice.py docs/bench/stop30 --variants gradient,no-memory,hybrid

The rebuilt offer is checked against the run: the server's grammar held next_move to the names offered, so a
next_move outside the rebuilt offer means the rebuild is wrong, and it is counted apart ("not in the rebuilt
offer"). Read from the runs' events, nothing is run."""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any

from gome.agents.views import fit_capacity
from gome.roles import load_messages
from gome.schema import Evidence, Move
from gome.tasks.metrics import get_metric
from gome.tasks.suite.catalog import get_spec
from gome.tools.moves import offer


def events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def choices(run: Path) -> list[dict[str, Any]]:
    """One row per diagnosis that named a next move: its rank in the offer (None: not in it), the offer's size,
    the move the Memory Keeper's plan carried next and that attempt's outcome."""
    evs = events(run)
    metric = get_metric(get_spec(run.name.split("--")[0]).metric)
    catalogue = load_messages().items("move_regressors" if metric.kind == "regression" else "move_classifiers")
    memory = "memory: false" not in (run / "config.yaml").read_text().splitlines()
    journal: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    pending: dict[str, Any] | None = None
    for e in evs:
        if e["kind"] == "optimizer_step":
            a = e["attempt"]
            new = a["id"] not in journal
            journal[a["id"]] = a
            move = (a.get("plan") or {}).get("move") or {}
            if new and pending is not None and a["kind"] == "improve" and a["mode"] == "directed":
                pending.update(made=move.get("key", ""), outcome=a.get("outcome") or "none")
                pending = None
        elif e["kind"] == "agent_message" and e.get("source") == "diagnostician":
            next_move = (e.get("structured") or {}).get("next_move") or ""
            if not next_move or not journal:
                continue
            diagnosed = list(journal.values())[-1]
            accepted = [a for a in journal.values() if a.get("accepted") and a.get("outcome") != "vetoed"]
            if not accepted:
                continue
            ev = (diagnosed.get("report") or {}).get("evidence")
            capacity = fit_capacity(Evidence.model_validate(ev) if ev else None, metric.lower_is_better)
            ties = [a["plan"]["move"] for a in journal.values()
                    if a.get("outcome") == "tie" and (a.get("gain") or 0) > 0 and (a.get("plan") or {}).get("move")]
            tried = [a["code"] for a in journal.values()] if memory else []  # gome.agents.context.TraceContext.moves
            offered = [m.key for m in offer(accepted[-1]["code"], catalogue, tried,
                                            [Move.model_validate(t) for t in ties] if memory else [], capacity=capacity)]
            pending = {"run": run.name, "next_move": next_move, "offered": offered,
                       "rank": offered.index(next_move) if next_move in offered else None, "made": "", "outcome": ""}
            rows.append(pending)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="benchmark folders with runs/<cell>/events.jsonl")
    parser.add_argument("--variants", default="gradient", help="comma-separated variants (the cell name's second part)")
    args = parser.parse_args()
    variants = set(args.variants.split(","))
    rows = [r for folder in args.folders for run in sorted((folder / "runs").glob("*"))
            if run.name.split("--")[1] in variants and (run / "events.jsonl").exists() for r in choices(run)]
    print("| cell | diagnoses | first offered | another offered | not in the rebuilt offer | offer size (mean) |")
    print("|---|---|---|---|---|---|")
    by_run: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        by_run[r["run"]].append(r)
    for run, rs in [*by_run.items(), ("all", rows)]:
        first = sum(r["rank"] == 0 for r in rs)
        other = sum((r["rank"] or 0) > 0 for r in rs)
        size = sum(len(r["offered"]) for r in rs) / len(rs) if rs else 0
        print(f"| {run} | {len(rs)} | {first} | {other} | {sum(r['rank'] is None for r in rs)} | {size:.1f} |")
    for label, pick in (("the first offered", lambda r: r["rank"] == 0), ("another offered", lambda r: (r["rank"] or 0) > 0)):
        made = collections.Counter(r["outcome"] for r in rows if pick(r) and r["made"] == r["next_move"])
        print(f"\nthe directed updates that made the diagnosis's move, where it was {label}: {sum(made.values())}, "
              + ", ".join(f"{k} {v}" for k, v in made.most_common()))
    print("\nthe diagnoses that chose another offered move, and the attempt that followed:")
    for r in rows:
        if (r["rank"] or 0) > 0:
            made = "the same move" if r["made"] == r["next_move"] else f"made `{r['made']}`" if r["made"] else "no directed update"
            print(f"- {r['run']}: `{r['next_move']}` (offered {r['rank'] + 1} of {len(r['offered'])}, first "
                  f"`{r['offered'][0]}`): {made}, {r['outcome'] or '–'}")


if __name__ == "__main__":
    main()
