"""Measure every reference level of the task suite; write the shipped ladders and BENCHMARKS.md's "Task suite".

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_tasks.py [--tasks NAME ...] [--out DIR]
        [--write-ladders] [--markdown BENCHMARKS.md]

Each task is prepared, each level's submission is written and scored on the test split, and the levels are
bootstrapped on the same resamples (SE = standard deviation of the resampled scores).
"""

from __future__ import annotations

import argparse
import json
import platform
import pprint
import sys
import tempfile
from pathlib import Path

import pandas as pd
from md_section import write_section  # benchmarks/ is on sys.path when a script here runs

from gome.tasks import load_task
from gome.tasks.suite import LEVELS, SUITE, LevelResult, prepare_suite_task
from gome.tasks.suite.ladder import Ladder
from gome.tasks.suite.ladders_data import LADDERS
from gome.tasks.suite.measure import ladder_from_submissions, measure_ladder

ROOT = Path(__file__).resolve().parents[1]
LADDERS_PY = ROOT / "gome" / "tasks" / "suite" / "ladders_data.py"
BEGIN, END = "<!-- task-suite:begin -->", "<!-- task-suite:end -->"


def measure(name: str, out: Path, rescore: bool) -> tuple[Ladder, dict[str, object]]:
    """Prepare `name`, run every level (or, with `rescore`, reuse the saved submissions and the shipped
    timings), bootstrap, and return its ladder and table facts."""
    prepared = prepare_suite_task(name, out / "tasks" / name)
    task = load_task(prepared.path)
    work = out / "submissions" / name
    if rescore:
        seconds = {level: r["seconds"] for level, r in LADDERS[name]["levels"].items()}
        ladder = ladder_from_submissions(task, work, seconds)
    else:
        def show(level: str, score: float, seconds: float) -> None:
            print(f"{name:18s} {level:8s} score {score:.5f} {seconds:7.1f} s", flush=True)

        ladder = measure_ladder(task, work, on_level=show)
    train = pd.read_csv(task.public_dir / "train.csv", nrows=1)
    facts = {"rows": _rows(task.public_dir / "train.csv"), "test_rows": _rows(task.answers_path),
             "columns": train.shape[1] - 2, "prepare_s": prepared.seconds}
    return ladder, facts


def _rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def write_ladders(ladders: dict[str, Ladder]) -> None:
    merged = {**LADDERS, **{name: json.loads(l.model_dump_json()) for name, l in ladders.items()}}
    body = pprint.pformat(dict(sorted(merged.items())), width=110, sort_dicts=True)
    LADDERS_PY.write_text(
        '"""Reference ladders measured by `benchmarks/bench_tasks.py` (generated file: do not edit by hand)."""\n\n'
        '__all__ = ["LADDERS"]\n\n'
        f"LADDERS: dict[str, dict] = {body}\n", encoding="utf-8")


def _cell(result: LevelResult) -> str:
    return f"{result.score:.4f} ± {result.se:.4f} ({result.seconds:.1f} s)"


def _gain(ladder: Ladder, pair: str) -> float:
    low, high = (ladder.levels[k].score for k in pair.split("<"))
    return low - high if ladder.lower_is_better else high - low


def table(ladders: dict[str, Ladder], facts: dict[str, dict[str, object]]) -> str:
    head = ("| task | train rows | test rows | columns | metric | dummy | default | tuned | expert | "
            "gold / silver / bronze / median | gate | prepare s |\n|" + "---|" * 12)
    lines = [head]
    for name, ladder in ladders.items():
        f, t = facts[name], ladder.thresholds
        gate = "pass" if not ladder.crowded else "crowded: " + ", ".join(
            f"{k} (gain {_gain(ladder, k):+.4f}, paired SE {ladder.pair_se[k]:.4f})" for k, v in ladder.gate.items() if not v)
        arrow = "↓" if ladder.lower_is_better else "↑"
        cells = [name, f["rows"], f["test_rows"], f["columns"], f"{ladder.metric} {arrow}",
                 *(_cell(ladder.levels[level]) for level in LEVELS),
                 f"{t.gold:.4f} / {t.silver:.4f} / {t.bronze:.4f} / {t.median:.4f}", gate, f["prepare_s"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def write_markdown(path: Path, ladders: dict[str, Ladder], facts: dict[str, dict[str, object]],
                   prepare_all_s: float) -> None:
    section = "\n".join([
        BEGIN, "## Task suite", "",
        f"Produced by `OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_tasks.py --write-ladders --markdown "
        f"BENCHMARKS.md` on this machine ({platform.machine()}, 2 cores, Python {platform.python_version()}); "
        "`--rescore` re-scores the submissions saved by such a run, keeping its timings, without training. "
        "Each cell: score on the test split ± bootstrap SE (200 resamples) and the level's wall time "
        "(fit + predict). Thresholds follow the ladder rule (median = default, bronze = tuned, silver = "
        "expert, gold = expert + one SE, capped at half the distance to a perfect score). Gate: each level "
        "beats the one below by at least the bootstrap SE of their paired difference (same resamples); a "
        "task that fails is flagged `crowded: true` in its config. Timings were taken while other jobs "
        "shared the 2 cores (load average about 5), so they overstate an idle machine's. "
        f"Preparing all {len(ladders)} tasks took {prepare_all_s:.1f} s in total (the prepare s column).", "", table(ladders, facts), "", END,
    ])
    write_section(path, BEGIN, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=sorted(SUITE))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "gome-bench-tasks")
    parser.add_argument("--write-ladders", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--rescore", action="store_true",
                        help="reuse the submissions saved under --out by an earlier run (no model is trained)")
    args = parser.parse_args(argv)
    ladders, facts = {}, {}
    for name in args.tasks:
        ladders[name], facts[name] = measure(name, args.out, args.rescore)
    (args.out / "ladders.json").write_text(json.dumps({n: json.loads(l.model_dump_json()) for n, l in ladders.items()},
                                                      indent=1), encoding="utf-8")
    print(table(ladders, facts))
    if args.write_ladders:
        write_ladders(ladders)
    if args.markdown:
        write_markdown(args.markdown, ladders, facts, sum(float(f["prepare_s"]) for f in facts.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
