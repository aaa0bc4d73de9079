"""The `gome` command line: run and resume (here), logs and report (cli_view), tasks and grade (cli_tasks)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from gome import cli_bench, cli_roles, cli_tasks, cli_view
from gome.cli_endpoint import (
    Endpoint,
    announce,
    check_reachable,
    check_sandbox,
    model_arguments,
    open_endpoint,
    resolve,
    sandbox_argument,
)
from gome.llm import ModelConfig
from gome.llm.embedded import LocalSize

__all__ = ["main"]


def _run_arguments(run: argparse.ArgumentParser) -> None:
    add = run.add_argument
    add("task_dir", type=Path)
    add("--steps", type=int, default=6, help="executed attempts per trace, debug rounds included (default 6)")
    add("--traces", type=int, default=1, help="trace teams optimising in parallel (default 1)")
    add("--cpus", type=int, default=None, help="CPU budget of all executions (default: all cores)")
    add("--threads", type=int, default=None, help="CPU threads per execution (default cpus // traces)")
    add("--strategy", default="gradient", choices=["gradient", "tree", "hybrid"])
    add("--num-drafts", type=int, default=3, help="tree search: drafts before improving (the hybrid explores from its one directed draft)")
    add("--no-diagnosis", action="store_true", help="ablation: scalar feedback instead of a structured diagnosis")
    add("--no-memory", action="store_true", help="ablation: no success memory")
    add("--no-starter", action="store_true", help="drafts start from scratch, not from the starter script")
    add("--no-moves", action="store_true", help="ablation: no exact edits of the model call offered or made")
    add("--sync-patience", type=int, default=3, help="steps a trace may trail the global best before adopting it")
    add("--sync-margin", type=float, default=0.0, help="how far it may trail, in metric units")
    add("--final-top-k", type=int, default=3, help="candidates re-scored in the final selection")
    add("--final-seeds", type=int, default=2,
        help="extra dev splits per candidate in the final selection: the first extra folds (default 2)")
    add("--blend-size", type=int, default=6,
        help="ensemble stage: blend up to this many of the best valid attempts at the end (0: no blend)")
    add("--ensemble-after", type=float, default=0.7,
        help="share of the budget after which directed steps draft other models for the blend (1: never)")
    add("--accept-z", type=float, default=2.0,
        help="accept an update when its dev gain exceeds this many paired standard errors (default 2; 0: any gain)")
    add("--confirm-folds", type=int, default=4,
        help="measure a gain within the noise again on this many extra dev folds and pool them (default 4, as many as fit; 0: never)")
    add("--confirm-z", type=float, default=4.0,
        help="measure a gain above the margin but under this many standard errors on the extra folds too (default 4)")
    add("--confirm-time", type=float, default=300.0,
        help="the fold runs of one close call may take this many seconds, estimated from the scripts' run times (default 300)")
    add("--noop-redos", type=int, default=1,
        help="give a directed update that changed nothing back to the Coder this many times (default 1; 0: never)")
    add("--time-budget", type=float, default=None, help="wall-clock budget of the search in seconds")
    add("--token-budget", type=int, default=None, help="prompt + completion tokens of the whole run")
    add("--cost-budget", type=float, default=None, help="cost of the run, by --price-in/--price-out")
    add("--price-in", type=float, default=0.0, help="price per million prompt tokens")
    add("--price-out", type=float, default=0.0, help="price per million completion tokens")
    add("--exec-timeout", type=float, default=600.0, help="seconds per script execution")
    add("--memory-mb", type=int, default=4096, help="memory limit of generated code")
    add("--seed", type=int, default=0)
    add("--roles", type=Path, default=None, help="folder of role prompt files overriding the defaults")
    add("--runs-dir", type=Path, default=Path("runs"))
    add("--backend", default="local", choices=["local", "ray"], help="ray: trace teams as Ray tasks")
    add("--ray-address", default=None, help="a Ray cluster to join (default: start a local one)")
    add("--gpus-per-trace", type=float, default=0.0)
    add("--replay", type=Path, default=None, metavar="RUN", help="answer model calls from an earlier run, offline")
    add("--no-record", action="store_true", help="do not keep model replies in llm_calls.jsonl")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gome", description="An MLE agent: reasoning as gradient.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="optimise a solution for a task folder")
    _run_arguments(run)
    model_arguments(run)
    sandbox_argument(run)
    resume = sub.add_parser("resume", help="continue an interrupted run from its folder")
    resume.add_argument("run_dir", type=Path)
    sandbox_argument(resume)
    bench = cli_bench.register(sub)
    model_arguments(bench)
    sandbox_argument(bench)
    cli_view.register(sub)
    cli_roles.register(sub)
    cli_tasks.register(sub)
    return parser


def _config(args: argparse.Namespace, model: ModelConfig, local_size: LocalSize | None) -> Any:
    from pydantic import ValidationError

    from gome.config import RunConfig
    from gome.errors import invalid_option
    from gome.tools.accounting import Prices

    extra = {"cpus": args.cpus} if args.cpus else {}
    try:
        return RunConfig(
            task_dir=args.task_dir, runs_dir=args.runs_dir, model=model, local_size=local_size,
            steps=args.steps, traces=args.traces, threads=args.threads, strategy=args.strategy,
            num_drafts=args.num_drafts, diagnosis=not args.no_diagnosis, memory=not args.no_memory,
            starter=not args.no_starter, moves=not args.no_moves,
            sync_patience=args.sync_patience, sync_margin=args.sync_margin, final_top_k=args.final_top_k,
            final_seeds=args.final_seeds, accept_z=args.accept_z, confirm_folds=args.confirm_folds, confirm_z=args.confirm_z,
            confirm_time_s=args.confirm_time,
            blend_size=args.blend_size,
            noop_redos=args.noop_redos, ensemble_after=args.ensemble_after, time_budget_s=args.time_budget, token_budget=args.token_budget,
            cost_budget=args.cost_budget, prices=Prices(input_per_mtok=args.price_in, output_per_mtok=args.price_out),
            exec_timeout_s=args.exec_timeout, memory_mb=args.memory_mb, seed=args.seed, roles_dir=args.roles,
            backend=args.backend, ray_address=args.ray_address, gpus_per_trace=args.gpus_per_trace,
            replay_from=args.replay, record_llm=not args.no_record, **extra,
        )
    except ValidationError as exc:
        raise invalid_option(exc) from None


def _finish(coro: Any) -> int:
    from gome.view import make_view

    view = make_view(sys.stderr)
    try:
        result = asyncio.run(coro(view))
    finally:
        view.close()
    print(f"run folder: {result.run_dir}")
    if result.grade is None:
        print(f"no valid solution was found ({result.reason})")
        return 1
    print(result.grade.model_dump_json(indent=2))
    return 0


def _start(endpoint: Endpoint, warning: str, api_key_env: str = "OPENAI_API_KEY") -> None:
    """The first line of a run names its endpoint and model; a root warning follows it."""
    print(announce(endpoint, api_key_env), file=sys.stderr, flush=True)
    if warning:
        print(warning, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from gome.roles import load_roles
    from gome.runner import run
    from gome.tasks import load_task

    load_task(args.task_dir), load_roles(args.roles)  # bad input fails before a model server starts
    endpoint = resolve(args, args.replay)
    _config(args, ModelConfig(), endpoint.local_size)  # so do bad option values
    check_reachable(endpoint, args.backend, args.ray_address)
    warning = check_sandbox(args)  # refuses (one line) before the first model call
    _start(endpoint, warning, args.api_key_env)
    with open_endpoint(endpoint, args) as model:
        config = _config(args, (model or ModelConfig()).model_copy(update={"max_tokens": args.max_tokens}),
                         endpoint.local_size)
        return _finish(lambda view: run(config, listeners=(view,)))


def _resume(args: argparse.Namespace) -> int:
    import yaml

    from gome.config import RunConfig
    from gome.llm import make_client
    from gome.runner import resumable, resume

    resumable(args.run_dir)  # refuses before a model server starts
    config = RunConfig.model_validate(yaml.safe_load((args.run_dir / "config.yaml").read_text()))
    warning = check_sandbox(args)
    if config.replay_from is not None:
        endpoint = Endpoint(replay=config.replay_from)
    elif config.local_size is not None:
        endpoint = Endpoint(local_size=config.local_size)
    else:
        endpoint = Endpoint(base_url=config.model.base_url, model=config.model.model, source="the run's config.yaml")
    _start(endpoint, warning, config.model.api_key_env)
    if config.local_size is None:
        return _finish(lambda view: resume(args.run_dir, listeners=(view,)))
    from gome.llm.local_server import model_endpoint

    with model_endpoint(None, config.local_size) as model:  # the embedded model gets a new port
        return _finish(lambda view: resume(args.run_dir, client=make_client(model), listeners=(view,)))


def _bench(args: argparse.Namespace) -> int:
    plan = cli_bench.check(args)
    endpoint = resolve(args)
    label = endpoint.model if endpoint.local_size is None else f"embedded-{endpoint.local_size}"
    if args.table:
        return cli_bench.table(args, plan, label)
    warning = check_sandbox(args)
    _start(endpoint, warning, args.api_key_env)
    if endpoint.local_size is not None:  # a new server for each cell: see gome.bench.CellClient
        return cli_bench.dispatch(args, plan, None, label, local_size=endpoint.local_size)
    with open_endpoint(endpoint, args) as model:
        return cli_bench.dispatch(args, plan, model, label)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "resume":
        return _resume(args)
    if args.command == "bench":
        return _bench(args)
    if args.command in cli_view.COMMANDS:
        return cli_view.dispatch(args)
    if args.command == "roles":
        return cli_roles.dispatch(args)
    return cli_tasks.dispatch(args)


def main(argv: list[str] | None = None) -> int:
    from gome.errors import GomeUserError

    logging.getLogger("autogen_core").setLevel(logging.CRITICAL)  # agent errors reach the user as events
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except GomeUserError as exc:
        print(f"gome: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gome: interrupted; continue with `gome resume RUN_DIR`", file=sys.stderr)
        return 130
    except SystemExit as exc:
        if exc.code != 128 + signal.SIGTERM:  # the embedded server's SIGTERM handler (gome.llm.local_server)
            raise
        print("gome: stopped (SIGTERM); continue with `gome resume RUN_DIR`", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
