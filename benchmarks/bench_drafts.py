"""Benchmark first drafts: how often the embedded model's first script is a valid submission, with and
without the starter script, per model size and task.

Each draft is the Coder agent's own step (`Coder.respond`: the packaged prompt, the function-level
merge, the import fixer) on the task's dev split, run by the harness in the sandbox and scored there.
It isolates the step where small models failed in full runs (every attempt crashed), at about a
minute per draft instead of a quarter of an hour per run.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_drafts.py --sizes 0.5b,1.5b --tasks penguins,hpc-jobs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gome.agents.coder import Coder
from gome.config import RunConfig
from gome.llm import make_client
from gome.llm.local_server import embedded_server
from gome.runner import build_context
from gome.tasks import load_task, make_dev_split, normalized_score, prepare_task
from gome.tools.harness import run_attempt
from gome.tools.rundir import RunDir


async def draft(config: RunConfig, root: Path, label: str) -> dict:
    """One first draft: the Coder's reply, executed and scored on the dev split like attempt 1 of a run."""
    task = load_task(config.task_dir)
    rundir = RunDir(root / label)
    split = make_dev_split(task, rundir.root / "dev", seed=config.seed)
    ctx = build_context(config, task, 0, rundir, split, make_client(config.model), emit=lambda event: None)
    start = time.monotonic()
    update, usage = await Coder(ctx).respond([])
    model_s = time.monotonic() - start
    if not update.code:
        return {"status": "no code", "score": None, "normalized": None, "model_s": model_s, "tokens": 0}
    report, _ = run_attempt("0-001", update.code, ctx.input_dir, rundir.root / "attempt", ctx.scorer, ctx.limits)
    normalized = normalized_score(task, report.score) if report.score is not None else None
    return {"status": report.status, "score": report.score, "normalized": normalized, "model_s": round(model_s, 1),
            "tokens": usage.completion_tokens, "note": update.note, "error": report.error[:160]}


def table(rows: list[dict]) -> str:
    lines = ["| model | starter | drafts | valid | mean normalised dev score of valid drafts | model s per draft |",
             "|---|---|---|---|---|---|"]
    for size, starter in sorted({(r["size"], r["starter"]) for r in rows}):
        group = [r for r in rows if (r["size"], r["starter"]) == (size, starter)]
        valid = [r for r in group if r["status"] == "ok"]
        norm = [r["normalized"] for r in valid if r["normalized"] is not None]
        mean = f"{statistics.fmean(norm):.3f} ({len(norm)} with a ladder)" if norm else "–"
        lines.append(f"| embedded-{size} | {'yes' if starter else 'no'} | {len(group)} | {len(valid)}/{len(group)} | "
                     f"{mean} | {statistics.fmean(r['model_s'] for r in group):.0f} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="gome-drafts-"))
    tasks = {name: prepare_task(name, args.tasks_dir / name) if not (args.tasks_dir / name / "config.yaml").is_file()
             else args.tasks_dir / name for name in args.tasks.split(",")}
    rows = []
    for size in args.sizes.split(","):
        with embedded_server(size) as model:
            for name, path in tasks.items():
                for starter in (True, False):
                    for seed in range(args.seeds):
                        config = RunConfig(task_dir=path, runs_dir=root, model=model, seed=seed, starter=starter,
                                           exec_timeout_s=300, steps=1)
                        label = f"{size}-{name}-{'starter' if starter else 'scratch'}-s{seed}"
                        row = {"size": size, "task": name, "starter": starter, "seed": seed,
                               **await draft(config, root, label)}
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.5b,1.5b")
    parser.add_argument("--tasks", default="penguins,hpc-jobs,lending-club,vic-electricity,food-delivery,diamonds-cut")
    parser.add_argument("--seeds", type=int, default=1, help="drafts per task and variant (sampled; each on its own dev split)")
    parser.add_argument("--tasks-dir", type=Path, default=Path("tasks"))
    parser.add_argument("--json", type=Path, default=None)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
