"""`gome bench`: strategies side by side on tasks, seeds and a model (see gome.bench)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogen_core.models import ChatCompletionClient

    from gome.llm import ModelConfig

__all__ = ["register", "dispatch"]


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    bench = sub.add_parser("bench", help="compare strategies and ablations on tasks x seeds under one budget")
    bench.add_argument("tasks", nargs="+", help="task folders, or names of bundled tasks (prepared under OUT/tasks)")
    bench.add_argument("--variants", default="gradient,tree,hybrid",
                       help="comma-separated: gradient, tree, hybrid, no-diagnosis, no-memory, no-moves, single-trace, no-starter")
    bench.add_argument("--seeds", type=int, default=2, help="how many seeds (default 2)")
    bench.add_argument("--first-seed", type=int, default=0,
                       help="the first seed (default 0): --seeds 2 --first-seed 1 runs seeds 1 and 2, beside earlier cells")
    bench.add_argument("--steps", type=int, default=6)
    bench.add_argument("--traces", type=int, default=1)
    bench.add_argument("--time-budget", type=float, default=None, help="seconds of search per cell")
    bench.add_argument("--exec-timeout", type=float, default=300.0)
    bench.add_argument("--parallel", type=int, default=1, help="cells at once")
    bench.add_argument("--out", type=Path, default=Path("bench"))
    bench.add_argument("--table", action="store_true",
                       help="run nothing: write OUT/bench.md and bench.json from the cells finished so far")
    return bench


def _tasks(names: list[str], out: Path) -> list[Path]:
    from gome.errors import GomeUserError
    from gome.tasks import BUNDLED, SUITE, prepare_task

    paths = []
    for name in names:
        path = Path(name)
        if not path.is_dir() and (name in BUNDLED or name in SUITE):
            path = out / "tasks" / name
            if not (path / "config.yaml").is_file():
                prepare_task(name, path)
        elif not path.is_dir():
            raise GomeUserError(f"{name}: neither a task folder nor a bundled task "
                                f"({', '.join(sorted([*BUNDLED, *SUITE]))})")
        paths.append(path)
    return paths


def check(args: argparse.Namespace) -> tuple[list[Path], list[str]]:
    """Tasks (bundled ones prepared) and variants, checked before any model starts."""
    from pydantic import ValidationError

    from gome.bench import VARIANTS
    from gome.config import RunConfig
    from gome.errors import GomeUserError, invalid_option
    from gome.tasks import load_task

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise GomeUserError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    tasks = _tasks(args.tasks, args.out)
    for task in tasks:
        load_task(task)
    try:  # bad option values fail here too, not in the first cell
        spec = _spec(args, (tasks, variants), None, "")
        RunConfig(task_dir=tasks[0], **spec.base)
    except ValidationError as exc:
        raise invalid_option(exc) from None
    return tasks, variants


def _spec(args: argparse.Namespace, plan: tuple[list[Path], list[str]], model, label: str):
    from gome.bench import BenchSpec

    tasks, variants = plan
    base = {"steps": args.steps, "traces": args.traces, "time_budget_s": args.time_budget,
            "exec_timeout_s": args.exec_timeout}
    return BenchSpec(tasks=tasks, variants=variants, seeds=args.seeds, first_seed=args.first_seed, out=args.out, base=base,
                     model_label=label, parallel=args.parallel, **({"model": model} if model is not None else {}))


def table(args: argparse.Namespace, plan: tuple[list[Path], list[str]], label: str) -> int:
    """Writes the table of the finished cells; prints it, or says that none has finished."""
    from gome.bench import finished_cells, write_tables

    spec = _spec(args, plan, None, label)
    cells = finished_cells(spec)
    if not cells:
        print(f"no finished cell under {args.out / 'runs'} yet", file=sys.stderr)
        return 1
    write_tables(spec, cells)
    print((args.out / "bench.md").read_text())
    return 0


def dispatch(args: argparse.Namespace, plan: tuple[list[Path], list[str]], model, label: str, local_size: str | None = None) -> int:
    """Runs the bench against `model`, or with `local_size` against the embedded model, started anew for each cell."""
    from gome.bench import run_bench
    from gome.llm import make_client

    @contextmanager
    def cell_client() -> Iterator[tuple[ChatCompletionClient | None, ModelConfig | None]]:
        if local_size is None:  # the current endpoint for new and resumed cells alike
            yield make_client(model), None
            return
        from gome.llm.local_server import model_endpoint

        with model_endpoint(None, local_size) as local:
            yield make_client(local), local

    spec = _spec(args, plan, model, label)
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = asyncio.run(run_bench(spec, cell_client=cell_client, progress=progress))
    print((args.out / "bench.md").read_text())
    return 0 if result["cells"] else 1
