"""`gome bench`: tasks x strategies (and ablations) x seeds under one budget, resumable, with a
Markdown and JSON table (mean ± standard error over seeds) and a plot per task of the best dev score
over time for each strategy. One model per invocation; models benched into the same folder share the table.

Every cell is an ordinary run in `OUT/runs/<cell>`; a finished cell is read back, an interrupted one
is resumed, so re-running the same command continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient
from pydantic import BaseModel, ConfigDict, Field

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ModelConfig
from gome.schema import Event, OptimizerStep, RunFinished, RunStarted
from gome.tasks import load_task
from gome.tools.rundir import atomic_write

__all__ = ["BenchSpec", "VARIANTS", "run_bench", "bench_table"]

VARIANTS: dict[str, dict[str, Any]] = {  # name -> RunConfig overrides
    "gradient": {"strategy": "gradient"},
    "tree": {"strategy": "tree"},
    "hybrid": {"strategy": "hybrid"},
    "no-diagnosis": {"strategy": "gradient", "diagnosis": False},
    "no-memory": {"strategy": "gradient", "memory": False},
    "no-starter": {"strategy": "gradient", "starter": False},
    "no-moves": {"strategy": "gradient", "moves": False},
    "single-trace": {"strategy": "gradient", "traces": 1},
}


class BenchSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    tasks: list[Path]
    variants: list[str] = Field(default_factory=lambda: ["gradient", "tree", "hybrid"])
    seeds: int = Field(default=2, ge=1)
    first_seed: int = Field(default=0, ge=0, description="the seeds are first_seed, first_seed + 1, ...")
    out: Path = Path("bench")
    base: dict[str, Any] = Field(default_factory=dict)  # RunConfig fields shared by every cell
    model: ModelConfig = Field(default_factory=ModelConfig)
    model_label: str = "model"
    parallel: int = Field(default=1, ge=1, description="cells run at once (their executions share the CPU budget)")

    @property
    def seed_list(self) -> range:
        return range(self.first_seed, self.first_seed + self.seeds)


def _cell_config(spec: BenchSpec, task: Path, variant: str, seed: int) -> RunConfig:
    fields = {**spec.base, **VARIANTS[variant]}
    return RunConfig(task_dir=task, runs_dir=spec.out / "runs", model=spec.model, seed=seed, **fields)


def _cell_id(task: Path, variant: str, seed: int, label: str) -> str:
    return f"{task.name}--{variant}--{label}--s{seed}"


def _finished(run_dir: Path) -> bool:
    events = run_dir / "events.jsonl"
    return events.is_file() and any(isinstance(e, RunFinished) for e in read_events(events))


def _row(spec: BenchSpec, task: Path, variant: str, seed: int, run_dir: Path) -> dict[str, Any]:
    return {"task": task.name, "model": spec.model_label, "variant": variant, "seed": seed,
            "lower_is_better": load_task(task).lower_is_better, **cell_result(run_dir)}


def finished_cells(spec: BenchSpec) -> dict[str, dict[str, Any]]:
    """The figures of the spec's cells that have finished (a bench may still be running the others)."""
    cells = [(t, v, s) for t in spec.tasks for v in spec.variants for s in spec.seed_list]
    dirs = {cell: spec.out / "runs" / _cell_id(cell[0], cell[1], cell[2], spec.model_label) for cell in cells}
    return {run_dir.name: _row(spec, *cell, run_dir) for cell, run_dir in dirs.items() if _finished(run_dir)}


# the model client of one cell for the cell's duration, and the endpoint its config records (None: the spec's). The
# embedded model gets a new server per cell: every cell starts from an empty prompt cache, and with the seeded
# requests (gome.llm.delegate.SeededClient) the cells of one seed make the same first draft.
CellClient = Callable[[], AbstractContextManager[tuple[ChatCompletionClient | None, ModelConfig | None]]]


def _step_lines(cell: str, steps: int, progress: Callable[[str], None]) -> Callable[[Event], None]:
    """A run's listener that tells `progress` of each executed attempt of a cell, indented under the cells' lines."""
    def listen(event: Event) -> None:
        if isinstance(event, OptimizerStep) and event.attempt.step:
            a = event.attempt
            best = "none yet" if event.best_score is None else f"{event.best_score:.5g}"
            progress(f"  {cell} step {a.step}/{steps}: {a.id} {a.kind} {a.outcome or a.status}; trace best {best}")
    return listen


async def _cell(spec: BenchSpec, task: Path, variant: str, seed: int,
                cell_client: CellClient | None, progress: Callable[[str], None]) -> Path:
    from gome.runner import resume, run

    run_dir = spec.out / "runs" / _cell_id(task, variant, seed, spec.model_label)
    events = run_dir / "events.jsonl"
    if _finished(run_dir):
        return run_dir
    listeners = (_step_lines(run_dir.name, _cell_config(spec, task, variant, seed).steps, progress),)
    with cell_client() if cell_client else nullcontext((None, None)) as (client, model):
        if events.is_file():
            await resume(run_dir, client=client, listeners=listeners)
        else:
            cell = spec if model is None else spec.model_copy(update={"model": model})
            await run(_cell_config(cell, task, variant, seed), client=client, run_id=run_dir.name, listeners=listeners)
    return run_dir


def _updates(events: list) -> dict[str, Any]:
    """Directed updates (improve steps made from a diagnosis), how many the acceptance test took and how
    many changed nothing; each attempt as its last optimizer_step (a veto re-emits it)."""
    attempts = {e.attempt.id: e.attempt for e in events if isinstance(e, OptimizerStep)}
    directed = [a for a in attempts.values() if a.kind == "improve" and a.mode == "directed"]
    z = next((float(e.config.get("accept_z", 2.0)) for e in events if isinstance(e, RunStarted)), 2.0)
    return {"directed": len(directed), "improved": sum(a.passed_test(z) for a in directed),  # a cheaper tie is no gain
            "noops": sum(a.outcome == "no-op" for a in directed)}


def cell_result(run_dir: Path) -> dict[str, Any]:
    """One cell's figures from its events: grade, tokens, wall time, updates, the ensemble stage's gain
    on the test (normalised; 0 when no blend was chosen), and the best-score curve."""
    events = list(read_events(run_dir / "events.jsonl"))
    start = next(e.ts for e in events if isinstance(e, RunStarted))
    finished = next(e for e in reversed(events) if isinstance(e, RunFinished))
    grade = finished.grade or {}
    curve = [(round(e.ts - start, 2), e.best_score) for e in events if isinstance(e, OptimizerStep)]
    gain = (finished.ensemble or {}).get("normalized_gain")
    stopped = finished.reason if finished.reason.startswith("stopped by error") else ""
    return {"run": run_dir.name, "stopped": stopped, "valid": bool(grade.get("valid_submission")), "score": grade.get("score"),
            "normalized": grade.get("normalized_score"), "medal": bool(grade.get("any_medal")),
            "above_median": bool(grade.get("above_median")), "tokens": finished.usage.get("total_tokens", 0),
            "wall_s": finished.usage.get("wall_s", round(finished.ts - start, 1)),  # a resumed cell: its sessions only
            "curve": curve, **_updates(events),
            "ensemble_gain": gain if gain is not None else 0.0}


async def run_bench(spec: BenchSpec, cell_client: CellClient | None = None,
                    progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Runs (or resumes) every cell; after each one writes bench.json, bench.md and one SVG plot per task."""
    cells = [(t, v, s) for t in spec.tasks for v in spec.variants for s in spec.seed_list]
    gate = asyncio.Semaphore(spec.parallel)
    results: dict[str, dict[str, Any]] = {}

    async def one(task: Path, variant: str, seed: int) -> None:
        async with gate:
            run_dir = await _cell(spec, task, variant, seed, cell_client, progress)
            results[run_dir.name] = _row(spec, task, variant, seed, run_dir)
            write_tables(spec, results)
            row = results[run_dir.name]
            progress(f"{len(results)}/{len(cells)} {run_dir.name}: score {row['score']}" + (f"; {row['stopped'][:160]}" * bool(row["stopped"])))

    await asyncio.gather(*(one(*cell) for cell in cells))
    return write_tables(spec, results)


def write_tables(spec: BenchSpec, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """bench.json, bench.md and the plots from the cells finished so far (and those of other models or
    tasks already in the folder); called after every cell, so an interrupted bench keeps its table."""
    previous = spec.out / "bench.json"
    if previous.is_file():
        results = {**json.loads(previous.read_text())["cells"], **results}
    table = bench_table(list(results.values()))
    spec.out.mkdir(parents=True, exist_ok=True)
    atomic_write(spec.out / "bench.json", json.dumps({"cells": results, "table": table}, indent=2))
    stopped = {run: r["stopped"] for run, r in results.items() if r.get("stopped")}
    atomic_write(spec.out / "bench.md", markdown(table, spec, stopped))
    from gome.view.plots import best_score_plot

    several = len({r.get("model") for r in results.values()}) > 1
    for task_name in {r["task"] for r in results.values()}:
        task_cells = [r for r in results.values() if r["task"] == task_name]
        curves = {f"{r['model'] + ' ' if several else ''}{r['variant']} s{r['seed']}": r["curve"] for r in task_cells}
        task_lower = any(r.get("lower_is_better", False) for r in task_cells)
        atomic_write(spec.out / f"{task_name}.svg", best_score_plot(task_name, curves, task_lower))
    return {"cells": results, "table": table}


def _mean_se(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return statistics.fmean(values), se


def bench_table(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task, model and variant: mean ± SE over seeds of score, normalised score, tokens, wall time."""
    rows = []
    for key in sorted({(c["task"], c.get("model", ""), c["variant"]) for c in cells}):
        group = [c for c in cells if (c["task"], c.get("model", ""), c["variant"]) == key]
        row: dict[str, Any] = {"task": key[0], "model": key[1], "variant": key[2], "seeds": len(group)}
        for name in ("score", "normalized", "tokens", "wall_s", "ensemble_gain"):
            row[name] = _mean_se([float(c[name]) for c in group if c.get(name) is not None])
        for flag in ("valid", "medal", "above_median"):
            row[f"{flag}_rate"] = sum(c[flag] for c in group) / len(group)
        directed = sum(c.get("directed", 0) for c in group)
        row["directed"] = directed
        row["improvement_rate"] = sum(c.get("improved", 0) for c in group) / directed if directed else None
        row["noop_rate"] = sum(c.get("noops", 0) for c in group) / directed if directed else None
        rows.append(row)
    return rows


def _fmt(pair: tuple[float | None, float | None], digits: int = 4) -> str:
    mean, se = pair
    return "–" if mean is None else f"{mean:.{digits}g} ± {se:.2g}"


def _count(pair: tuple[float | None, float | None]) -> str:
    """Tokens and seconds: whole numbers with thousands separators ('31,900 ± 3,362'), not '31900 ± 3.4e+03'."""
    mean, se = pair
    return "–" if mean is None else f"{mean:,.0f} ± {se or 0:,.0f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def markdown(rows: list[dict[str, Any]], spec: BenchSpec, stopped: dict[str, str] | None = None) -> str:
    """The table, and under it the cells whose run an error ended before its budget was spent (`stopped`: run → reason):
    their figures are in the table, so a reader has to know."""
    head = ("| task | model | variant | seeds | score | normalised | valid | medal | ≥ median | directed updates | "
            "improvement rate | no-op rate | ensemble gain | tokens | wall s |\n" + "|---" * 15 + "|\n")
    body = "".join(
        f"| {r['task']} | {r['model']} | {r['variant']} | {r['seeds']} | {_fmt(r['score'])} | {_fmt(r['normalized'], 3)} | "
        f"{r['valid_rate']:.0%} | {r['medal_rate']:.0%} | {r['above_median_rate']:.0%} | {r.get('directed', 0)} | "
        f"{_rate(r.get('improvement_rate'))} | {_rate(r.get('noop_rate'))} | {_fmt(r.get('ensemble_gain', (None, None)), 3)} | "
        f"{_count(r['tokens'])} | {_count(r['wall_s'])} |\n" for r in rows)
    notes = "".join(f"- {run}: {reason[:200]}\n" for run, reason in sorted((stopped or {}).items()))
    notes = f"\nStopped by an error before their budget was spent (in the table as they are):\n{notes}" if notes else ""
    return f"Last model: {spec.model_label}; settings: {json.dumps(spec.base, default=str)}\n\n{head}{body}{notes}"
