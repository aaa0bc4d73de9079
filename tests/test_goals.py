"""benchmarks/goals.py: issue 13's goals read from a bench folder's cells."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("goals", ROOT / "benchmarks" / "goals.py")
goals = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(goals)


def _bench(tmp_path: Path, rows: list[tuple[str, str, int, float, int, int, float]]) -> Path:
    cells = {f"{t}--{v}--s{s}": {"task": t, "variant": v, "seed": s, "normalized": n, "directed": d, "improved": i,
                                 "ensemble_gain": e} for t, v, s, n, d, i, e in rows}
    (tmp_path / "bench.json").write_text(json.dumps({"cells": cells, "table": []}))
    return tmp_path


def test_each_goal_is_read_from_the_cells_that_every_compared_variant_finished(tmp_path: Path) -> None:
    bench = _bench(tmp_path, [
        ("a", "gradient", 1, 1.00, 5, 1, 0.0), ("a", "gradient", 2, 0.98, 5, 0, 0.002),
        ("a", "tree", 1, 1.02, 0, 0, 0.004), ("a", "tree", 2, 0.96, 0, 0, 0.0),
        ("a", "hybrid", 1, 0.97, 3, 1, 0.0),  # seed 2 not finished: the hybrid is compared on seed 1 alone
        ("a", "no-diagnosis", 1, 0.99, 5, 1, -0.001), ("a", "no-diagnosis", 2, 1.00, 5, 2, 0.0),
        ("b", "gradient", 1, 0.90, 4, 1, 0.0), ("b", "no-memory", 1, 0.91, 4, 1, 0.0),
        ("c", "gradient", 1, 1.00, 0, 0, 0.0), ("c", "gradient", 2, 0.96, 0, 0, 0.0),
        ("c", "tree", 1, 0.95, 0, 0, 0.0), ("c", "tree", 2, 0.95, 0, 0, 0.0),
        ("c", "hybrid", 1, 0.97, 0, 0, 0.0), ("c", "hybrid", 2, 0.97, 0, 0, 0.0),
    ])
    lines = goals.goals(goals._cells(bench))
    assert lines[0].startswith("- improvement rate (gradient, 5 cells): 2/14 = 14% (not met")
    # on seed 1, tree's 1.02 is the better one and one seed has no SE: 0.97 is below
    assert "- hybrid on a (seeds [1]): 0.9700 against tree 1.0200 − SE 0.0000 (not met)" in lines
    assert not any(line.startswith("- hybrid on b") for line in lines)  # b has no tree nor hybrid cell
    # within one standard error (over the two seeds) of gradient's mean
    assert "- hybrid on c (seeds [1, 2]): 0.9700 against gradient 0.9800 − SE 0.0200 (met)" in lines
    assert any(line.startswith("- no-diagnosis against gradient: a 0.9950 vs 0.9900 (seeds [1, 2])")
               and line.endswith("(not met: no better than gradient)") for line in lines)
    assert any(line.startswith("- no-memory against gradient: b 0.9100 vs 0.9000") for line in lines)
    assert lines[-1] == "- ensemble gain over 15 cells: mean +0.0003 (met: above 0)"
