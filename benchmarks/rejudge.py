"""Re-judge the close calls of finished runs on extra dev folds (gome.tools.folds).

Every directed update whose gain over the best was positive but within the acceptance margin on the dev split
(a tie) runs again, with that best, on the extra folds of the run's dev split; the table gives the dev split's
gain ± SE beside the pooled gain ± SE and the verdict of each. Runs made before the folds existed show what
the folds would have decided; runs made with them show the figures they were decided on.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/rejudge.py [--folds 2] [--z 2] RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import yaml

from gome.config import RunConfig
from gome.runner import limits_of
from gome.tasks import load_task, make_dev_split
from gome.tools.folds import Folds


def _attempts(run_dir: Path) -> dict[str, dict]:
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    return {e["attempt"]["id"]: e["attempt"] for e in events if e["kind"] == "optimizer_step"}  # the last of each


async def rejudge(run_dir: Path, folds: int, z: float, scratch: Path) -> list[dict]:
    config = RunConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    task = load_task(config.task_dir)
    splits = [make_dev_split(task, scratch / f"fold{k}", seed=config.seed, holdout=config.holdout, fold=k)
              for k in range(1, folds + 1)]
    checker = Folds(task, splits, scratch / "runs", limits_of(config))
    attempts, rows = _attempts(run_dir), []
    for a in attempts.values():
        ev = (a.get("report") or {}).get("evidence") or {}
        best = attempts.get(ev.get("vs_best") or "")
        if (a["kind"] != "improve" or a["mode"] != "directed" or a["outcome"] == "no-op" or best is None
                or a["score"] is None or not ev.get("gain_se")):
            continue
        # the dev split's gain from the scores (a.gain is the pooled one where folds decided already)
        gain, se = (-1 if task.lower_is_better else 1) * (a["score"] - best["score"]), ev["gain_se"]
        if not 0 < gain <= z * se:
            continue
        pooled = await checker.gain((a["id"], a["code"]), (best["id"], best["code"]), (gain, se), asyncio.Semaphore(1),
                                     len(splits))
        rows.append({"run": run_dir.name, "attempt": a["id"], "gain": gain, "se": se, "pooled": pooled,
                     "verdict": "error" if pooled is None else "accepted" if pooled[0] > z * pooled[1] else
                     "worse" if pooled[0] < -z * pooled[1] else "tie", "outcome": a["outcome"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--z", type=float, default=2.0)
    args = parser.parse_args()
    print("| run | attempt | dev split: gain ± SE (z) | pooled over folds: gain ± SE (z) | verdict then | verdict on folds |")
    print("|---|---|---|---|---|---|")
    for run_dir in args.runs:
        with tempfile.TemporaryDirectory(prefix="gome-rejudge-") as scratch:
            for r in asyncio.run(rejudge(run_dir, args.folds, args.z, Path(scratch))):
                pooled = "run failed" if r["pooled"] is None else \
                    f"{r['pooled'][0]:+.4f} ± {r['pooled'][1]:.4f} ({r['pooled'][0] / r['pooled'][1]:+.2f})"
                print(f"| {r['run']} | {r['attempt']} | {r['gain']:+.4f} ± {r['se']:.4f} ({r['gain'] / r['se']:+.2f}) | "
                      f"{pooled} | {r['outcome']} | {r['verdict']} |", flush=True)


if __name__ == "__main__":
    main()
