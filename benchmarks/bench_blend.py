"""Re-blends the dev predictions of finished runs with other settings of the weight search: no model calls.

For each run folder with a `blend` event, the attempts that the ensemble stage could use (its `tried`
list, best first) are blended again with `gome.tasks.blend.START` set to each value asked, and the table
shows how many members the weight search kept, the out-of-fold gain over the best single script with its
standard error, and whether the acceptance test (z SE) passed.

    python benchmarks/bench_blend.py docs/bench/ensemble/runs --start 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from gome.coordinator import Candidate
from gome.ensemble import try_blend
from gome.events import read_events
from gome.schema import Blended
from gome.tasks import DevSplit, load_task
from gome.tasks import blend


def _pool(event: Blended) -> list[Candidate]:
    return [Candidate(attempt=a, trace=int(a.split("-")[0]), step=int(a.split("-")[1]), score=0.0, code="")
            for a in event.tried]


def reblend(run: Path, task_dir: Path, starts: list[int], accept_z: float) -> list[dict[str, object]]:
    event = next((e for e in read_events(run / "events.jsonl") if isinstance(e, Blended)), None)
    if event is None or len(event.tried) < 2:
        return []
    task = load_task(task_dir)
    split = DevSplit(input_dir=run / "dev" / "input", answers_path=run / "dev" / "answers.csv", seed=0, holdout=0.2,
                     n_train=0, n_test=0, stratified=False)
    rows = []
    for start in starts:
        blend.START = start
        with tempfile.TemporaryDirectory() as out:
            _, result = try_blend(task, split, _pool(event), lambda c: run / "traces" / str(c.trace) / f"{c.step:03d}" /
                                  "submission.csv", Path(out), accept_z)
        rows.append({"run": run.name, "start": start, "members": len(result.weights), "gain": result.gain,
                     "se": result.gain_se, "accepted": result.accepted})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="a folder of run folders (each with events.jsonl, dev/, traces/)")
    parser.add_argument("--tasks", type=Path, default=None, help="prepared tasks folder (default: each run's task_dir)")
    parser.add_argument("--start", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--accept-z", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for run in sorted(p for p in args.runs.iterdir() if (p / "events.jsonl").is_file()):
        config = (run / "config.yaml").read_text()
        task_dir = Path(next(line.split(":", 1)[1].strip() for line in config.splitlines() if line.startswith("task_dir:")))
        if args.tasks is not None:
            task_dir = args.tasks / task_dir.name
        rows += reblend(run, task_dir, args.start, args.accept_z)
    print("| run | start | members kept | out-of-fold gain ± SE | accepted |\n|---|---|---|---|---|")  # noqa: T201
    for r in rows:
        gain = "–" if r["gain"] is None else f"{r['gain']:+.4g} ± {r['se'] or 0:.2g}"
        print(f"| {r['run']} | {r['start']} | {r['members']} | {gain} | {'yes' if r['accepted'] else 'no'} |")  # noqa: T201
    for start in args.start:
        group = [r for r in rows if r["start"] == start]
        print(f"start {start}: {sum(r['members'] >= 2 for r in group)} of {len(group)} runs blend 2+ members, "  # noqa: T201
              f"{sum(bool(r['accepted']) for r in group)} accepted")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
