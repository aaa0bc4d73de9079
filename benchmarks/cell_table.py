"""One row per finished cell of a `gome bench` folder, for BENCHMARKS.md: the test score, the directed updates and what
the acceptance test made of them, the ensemble gain and what the final selection chose.

    python benchmarks/cell_table.py BENCH_DIR [--into BENCHMARKS.md --marker stop22:cells]

"accepted" counts the directed updates whose gain passed the noise test (a tie accepted as the cheaper script is no
gain); "of them on the folds" those that passed it on the extra dev folds; "measured on folds" the directed updates
whose close call ran again on the folds. With --into, the table replaces the one between `<!-- MARKER -->` and
`<!-- MARKER-end -->`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from md_section import bench_dir_cli  # noqa: E402

from gome.bench import cell_result  # noqa: E402
from gome.events import read_events  # noqa: E402
from gome.schema import OptimizerStep, Remeasure, RunFinished, RunStarted, Selection  # noqa: E402

HEADER = ("| task | variant | seed | test score | normalised | directed updates | accepted | of them on the folds | no-ops "
          "| measured on folds | ensemble gain | chosen |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def cell_row(run_dir: Path) -> str | None:
    """The cell's row, None while it has not finished."""
    events = list(read_events(run_dir / "events.jsonl"))
    started = next(e for e in events if isinstance(e, RunStarted))
    if not any(isinstance(e, RunFinished) for e in events):
        return None
    z = float(started.config.get("accept_z", 2.0))
    attempts = {e.attempt.id: e.attempt for e in events if isinstance(e, OptimizerStep)}
    directed = {a.id for a in attempts.values() if a.kind == "improve" and a.mode == "directed"}
    folds = {e.attempt for e in events if isinstance(e, Remeasure)} & directed
    on_folds = sum(attempts[a].passed_test(z) for a in folds)
    chosen = next((e.chosen for e in events if isinstance(e, Selection)), "")
    cell = cell_result(run_dir)
    config = started.config
    variant = ("tree" if config["strategy"] == "tree" else "hybrid" if config["strategy"] == "hybrid"
               else "no-diagnosis" if not config["diagnosis"] else "no-memory" if not config["memory"] else "gradient")
    normalised = f"{cell['normalized']:.4g}" if cell["normalized"] is not None else "–"
    return (f"| {started.task} | {variant} | {config['seed']} | {cell['score']} | {normalised} | {cell['directed']} "
            f"| {cell['improved']} | {on_folds} | {cell['noops']} | {len(folds)} | {cell['ensemble_gain']:+.3f} "
            f"| {'blend' if chosen.startswith('blend') else chosen or '–'} |")


def table(bench_dir: Path) -> str:
    rows = [row for run in sorted((bench_dir / "runs").iterdir()) if (run / "events.jsonl").is_file()
            if (row := cell_row(run)) is not None]
    return "\n".join([HEADER, *rows])


def main() -> None:
    bench_dir_cli(__doc__, table)


if __name__ == "__main__":
    main()
