"""Issue 13's goals, read from the cells of a `gome bench` folder (its bench.json), for BENCHMARKS.md.

    python benchmarks/goals.py BENCH_DIR [--into BENCHMARKS.md --marker stop23:goals]

- improvement rate: the gradient cells' directed updates whose gain passed the noise test, over their directed updates
  (goal: at least 20 %);
- hybrid: on each task, its mean normalised score against the better of gradient and tree, less that one's standard
  error over seeds (goal: not below);
- ablations: on each task and over all tasks, the mean normalised score of no-diagnosis and no-memory against
  gradient's (goal: not above);
- ensemble gain: the mean over every cell of the score the final blend added over its best member, in each task's
  metric with better positive, so tasks with larger scales weigh more (goal: above 0).

A task counts only where every variant compared has finished the same seeds, so that a half-finished benchmark is
not read as a result; the lines say which seeds each comparison rests on.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from md_section import bench_dir_cli  # noqa: E402

Cells = dict[tuple[str, str], dict[int, dict]]  # (task, variant) -> seed -> cell


def _cells(bench_dir: Path) -> Cells:
    cells: Cells = {}
    for cell in json.loads((bench_dir / "bench.json").read_text())["cells"].values():
        if cell.get("normalized") is not None:
            cells.setdefault((cell["task"], cell["variant"]), {})[cell["seed"]] = cell
    return cells


def _mean_se(values: list[float]) -> tuple[float, float]:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return statistics.fmean(values), se


def _common(cells: Cells, task: str, variants: tuple[str, ...]) -> list[int]:
    """The seeds every one of `variants` has finished on `task`."""
    seeds = [set(cells.get((task, v), {})) for v in variants]
    return sorted(set.intersection(*seeds)) if seeds else []


def _normalised(cells: Cells, task: str, variant: str, seeds: list[int]) -> tuple[float, float]:
    return _mean_se([cells[(task, variant)][s]["normalized"] for s in seeds])


def goals(cells: Cells) -> list[str]:
    tasks = sorted({task for task, _ in cells})
    gradient = [c for (t, v), by_seed in cells.items() if v == "gradient" for c in by_seed.values()]
    directed, improved = sum(c["directed"] for c in gradient), sum(c["improved"] for c in gradient)
    rate = f"{improved}/{directed} = {improved / directed:.0%}" if directed else "no directed update yet"
    lines = [f"- improvement rate (gradient, {len(gradient)} cells): {rate} "
             f"({'met' if directed and improved / directed >= 0.2 else 'not met'}: ≥ 20 %)"]
    for task in tasks:
        seeds = _common(cells, task, ("gradient", "tree", "hybrid"))
        if not seeds:
            continue
        (g, g_se), (t, t_se), (h, _) = (_normalised(cells, task, v, seeds) for v in ("gradient", "tree", "hybrid"))
        best, best_se, name = max((g, g_se, "gradient"), (t, t_se, "tree"))
        lines.append(f"- hybrid on {task} (seeds {seeds}): {h:.4f} against {name} {best:.4f} − SE {best_se:.4f} "
                     f"({'met' if h >= best - best_se else 'not met'})")
    for ablation in ("no-diagnosis", "no-memory"):
        pairs = []
        for task in tasks:
            seeds = _common(cells, task, ("gradient", ablation))
            if seeds:
                (g, _), (a, _) = _normalised(cells, task, "gradient", seeds), _normalised(cells, task, ablation, seeds)
                pairs.append((task, seeds, g, a))
        if not pairs:
            continue
        each = "; ".join(f"{task} {a:.4f} vs {g:.4f} (seeds {seeds})" for task, seeds, g, a in pairs)
        a_mean, g_mean = (statistics.fmean(p[i] for p in pairs) for i in (3, 2))
        lines.append(f"- {ablation} against gradient: {each}; mean {a_mean:.4f} vs {g_mean:.4f} "
                     f"({'met' if a_mean <= g_mean else 'not met'}: no better than gradient)")
    gains = [c["ensemble_gain"] for by_seed in cells.values() for c in by_seed.values() if c.get("ensemble_gain") is not None]
    if gains:
        lines.append(f"- ensemble gain over {len(gains)} cells: mean {statistics.fmean(gains):+.4f} "
                     f"({'met' if statistics.fmean(gains) > 0 else 'not met'}: above 0)")
    return lines


def main() -> None:
    bench_dir_cli(__doc__, lambda bench_dir: "\n".join(goals(_cells(bench_dir))))


if __name__ == "__main__":
    main()
