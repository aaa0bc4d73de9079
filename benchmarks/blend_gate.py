"""What the blends the ensemble stage turned away would have done in the final selection and on the test.

For each finished run whose blend was not a final candidate (gome.ensemble's gate) although the weight search
kept two or more scripts, the blend and the script the selection chose are re-scored on the selection's extra
splits (runs the search kept are reused), and every member of the blend runs on the full public data, as the
final run of a chosen blend does; the table gives the blend's out-of-fold gain ± SE on the dev split, both
candidates' scores per split, whether the blend would win the selection with its out-of-fold score counted and
with the extra splits only, and both test scores.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/blend_gate.py [--out blend_gate.json] RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import tempfile
from pathlib import Path

import yaml

from gome.config import RunConfig
from gome.coordinator import Candidate
from gome.final import _final_blend
from gome.runner import _final_splits, _kept, limits_of
from gome.selection import select_final
from gome.tasks import grade_submission, load_task, make_dev_split
from gome.tools.rundir import RunDir


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


async def judge(run_dir: Path, scratch: Path) -> dict | None:
    events = _events(run_dir)
    blend = next((e for e in events if e["kind"] == "blend"), None)
    selection = next((e for e in events if e["kind"] == "selection"), None)
    grade = run_dir / "best" / "grade.json"
    if blend is None or selection is None or blend["contender"] or len(blend["weights"]) < 2 or not grade.is_file():
        return None
    config = RunConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    task = load_task(config.task_dir)
    attempts = {e["attempt"]["id"]: e["attempt"] for e in events if e["kind"] == "optimizer_step"}

    def candidate(attempt: str) -> Candidate:
        a = attempts[attempt]
        return Candidate(attempt=attempt, trace=a["trace"], step=a["step"], score=a["score"], code=a["code"])

    members = tuple(candidate(a) for a in blend["weights"])
    mix = Candidate(attempt="blend", trace=-1, score=blend["score"], code="", members=members,
                    weights=tuple(blend["weights"].values()))
    chosen = candidate(selection["chosen"])
    rundir = RunDir(run_dir)
    split = make_dev_split(task, run_dir / "dev", seed=config.seed, holdout=config.holdout)
    splits = _final_splits(config, task, rundir, split)
    slots = asyncio.Semaphore(max(1, config.cpus // config.exec_threads))
    _, judged = await select_final(task, [chosen, mix], splits, scratch / "selection", limits_of(config), slots,
                                   functools.partial(_kept, rundir))
    _, member_tests = await asyncio.to_thread(_final_blend, task, mix, scratch / "final", limits_of(config))
    blend_test = grade_submission(task, scratch / "final" / "submission.csv").score
    return {"run": str(run_dir), "gain": blend["gain"], "se": blend["gain_se"], "chosen": chosen.attempt,
            "selection": judged.candidates, "chosen_test": json.loads(grade.read_text())["score"],
            "blend_test": blend_test, "member_tests": member_tests, "lower_is_better": task.lower_is_better}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("blend_gate.json"))
    args = parser.parse_args()
    rows = json.loads(args.out.read_text()) if args.out.is_file() else []
    done = {r["run"] for r in rows}  # a run folder's path
    print("| run | oof gain ± SE | chosen's scores (search split, extra splits) | blend's scores (out of fold, extra splits) "
          "| the blend wins: counting its out-of-fold score / the extra splits only | test: chosen / blend |")
    print("|---|---|---|---|---|---|")
    for run_dir in args.runs:
        if str(run_dir) in done:
            row = next(r for r in rows if r["run"] == str(run_dir))
        else:
            with tempfile.TemporaryDirectory() as scratch:
                row = asyncio.run(judge(run_dir, Path(scratch)))
            if row is None:
                continue
            rows.append(row)
            args.out.write_text(json.dumps(rows, indent=1))
        sign = -1 if row["lower_is_better"] else 1
        script, mix = row["selection"][row["chosen"]], row["selection"]["blend"]
        wins = [sign * (statistics.fmean(m) - statistics.fmean(script)) > 0 for m in (mix, mix[1:])]
        print(f"| {'/'.join(Path(row['run']).parts[-3::2])} | {row['gain']:+.4g} ± {row['se']:.2g} | {', '.join(f'{x:.4f}' for x in script)} | "
              f"{', '.join(f'{x:.4f}' for x in mix)} | {' / '.join('yes' if w else 'no' for w in wins)} | "
              f"{row['chosen_test']:.5f} / {row['blend_test']:.5f} |", flush=True)

if __name__ == "__main__":
    main()
