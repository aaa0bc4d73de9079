"""Seconds of each directed step of finished runs, before its script runs: from the moment the previous
attempt was scored to the start of this attempt's execution (the Diagnostician, the Memory Keeper and the
Coder, with their repairs), and the model calls made in between. A close call's runs on the extra dev folds
come after its own run and are not part of the step.

Usage: python benchmarks/step_times.py RUN_DIR [RUN_DIR ...]
Prints one row per directed step and a median per run; a step whose plan carried a move that gome made
without the Coder's model (note "without a model call") is marked "direct".
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def steps(run_dir: Path) -> list[dict]:
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    attempts = {e["attempt"]["id"]: e["attempt"] for e in events if e["kind"] == "optimizer_step"}
    rows, scored, calls, seen, ran = [], None, [], set(), {}
    for e in events:
        if e["kind"] == "llm_call":
            calls.append(e)
        elif e["kind"] == "remeasure":  # the attempt has run; its execution event comes after the runs on the folds
            ran.setdefault(e["attempt"], e["ts"])
        elif e["kind"] == "execution":
            attempt = attempts.get(e["report"]["attempt_id"], {})
            if scored is not None and attempt.get("kind") == "improve" and attempt.get("mode") == "directed":
                start = ran.get(attempt["id"], e["ts"]) - e["report"]["duration_s"]
                rows.append({"attempt": attempt["id"], "s": round(start - scored, 1),
                             "calls": " ".join(c["agent"][:4] for c in calls),
                             "prompt": sum(c["prompt_tokens"] for c in calls),
                             "cached": sum(c.get("cached_tokens") or 0 for c in calls),
                             "generated": sum(c["completion_tokens"] for c in calls),
                             "direct": "without a model call" in (attempt.get("note") or "")})
            calls = []
        elif e["kind"] == "optimizer_step" and e["attempt"]["id"] not in seen:  # later ones re-emit it (its diagnosis, a veto)
            scored = e["ts"]
            seen.add(e["attempt"]["id"])
    return rows


def main(paths: list[str]) -> None:
    print("| run | attempt | step s | model calls | prompt tok | cached tok | generated tok | move made directly |")
    print("|---|---|---|---|---|---|---|---|")
    medians = []
    for path in paths:
        rows = steps(Path(path))
        for r in rows:
            print(f"| {Path(path).name} | {r['attempt']} | {r['s']} | {r['calls']} | {r['prompt']} | {r['cached']} | "
                  f"{r['generated']} | {'yes' if r['direct'] else ''} |")
        if rows:
            medians.append((Path(path).name, statistics.median(r["s"] for r in rows), len(rows)))
    for name, median, n in medians:
        print(f"{name}: median {median:.1f} s over {n} directed steps")


if __name__ == "__main__":
    main(sys.argv[1:])
