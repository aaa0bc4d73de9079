"""The `gome` command line: run and resume (here), logs and report (cli_view), tasks and grade (cli_tasks)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from gome import cli_bench, cli_roles, cli_tasks, cli_view
from gome.llm import ModelConfig

__all__ = ["main"]


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", default=None,
                        help="OpenAI-compatible endpoint (default: the embedded local model, no network or key needed)")
    parser.add_argument("--model", default="gpt-4o-mini", help="model name at --base-url")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    parser.add_argument("--structured", default="json_object",
                        choices=["json_schema", "json_object_schema", "json_object", "none"],
                        help="the strongest JSON response_format --base-url accepts (default json_object)")
    parser.add_argument("--no-json-mode", action="store_true", help="same as --structured none")
    parser.add_argument("--max-tokens", type=int, default=4096,
                        help="completion-token limit of one model reply (default 4096; small steps ask for less)")
    parser.add_argument("--local-size", default="1.5b", choices=["1.5b", "0.5b"],
                        help="embedded model used without --base-url: 1.5b (default) or 0.5b (fast, weaker)")


def _run_arguments(run: argparse.ArgumentParser) -> None:
    add = run.add_argument
    add("task_dir", type=Path)
    add("--steps", type=int, default=6, help="executed attempts per trace, debug rounds included (default 6)")
    add("--traces", type=int, default=1, help="trace teams optimising in parallel (default 1)")
    add("--cpus", type=int, default=None, help="CPU budget of all executions (default: all cores)")
    add("--threads", type=int, default=None, help="CPU threads per execution (default cpus // traces)")
    add("--strategy", default="gradient", choices=["gradient", "tree", "hybrid"])
    add("--num-drafts", type=int, default=3, help="tree search: drafts before improving")
    add("--no-diagnosis", action="store_true", help="ablation: scalar feedback instead of a structured diagnosis")
    add("--no-memory", action="store_true", help="ablation: no success memory")
    add("--no-starter", action="store_true", help="drafts start from scratch, not from the starter script")
    add("--sync-patience", type=int, default=3, help="steps a trace may trail the global best before adopting it")
    add("--sync-margin", type=float, default=0.0, help="how far it may trail, in metric units")
    add("--final-top-k", type=int, default=3, help="candidates re-scored in the final selection")
    add("--final-seeds", type=int, default=2, help="extra dev splits per candidate in the final selection")
    add("--accept-z", type=float, default=2.0,
        help="accept an update when its dev gain exceeds this many paired standard errors (default 2; 0: any gain)")
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
    _model_arguments(run)
    resume = sub.add_parser("resume", help="continue an interrupted run from its folder")
    resume.add_argument("run_dir", type=Path)
    _model_arguments(cli_bench.register(sub))
    cli_view.register(sub)
    cli_roles.register(sub)
    cli_tasks.register(sub)
    return parser


def _config(args: argparse.Namespace, model: ModelConfig, local: bool) -> Any:
    from gome.config import RunConfig
    from gome.tools.accounting import Prices

    extra = {"cpus": args.cpus} if args.cpus else {}
    return RunConfig(
        task_dir=args.task_dir, runs_dir=args.runs_dir, model=model, local_size=args.local_size if local else None,
        steps=args.steps, traces=args.traces, threads=args.threads, strategy=args.strategy,
        num_drafts=args.num_drafts, diagnosis=not args.no_diagnosis, memory=not args.no_memory,
        starter=not args.no_starter,
        sync_patience=args.sync_patience, sync_margin=args.sync_margin, final_top_k=args.final_top_k,
        final_seeds=args.final_seeds, accept_z=args.accept_z, time_budget_s=args.time_budget, token_budget=args.token_budget,
        cost_budget=args.cost_budget, prices=Prices(input_per_mtok=args.price_in, output_per_mtok=args.price_out),
        exec_timeout_s=args.exec_timeout, memory_mb=args.memory_mb, seed=args.seed, roles_dir=args.roles,
        backend=args.backend, ray_address=args.ray_address, gpus_per_trace=args.gpus_per_trace,
        replay_from=args.replay, record_llm=not args.no_record, **extra,
    )


@contextmanager
def _endpoint(base_url: str | None, local_size: str | None, args: argparse.Namespace) -> Iterator[ModelConfig | None]:
    """The model endpoint for the command: the given one, the embedded server, or none (replay)."""
    from gome.llm.local_server import model_endpoint

    if base_url is not None or local_size is None:
        yield (ModelConfig(model=args.model, base_url=base_url, api_key_env=args.api_key_env,
                           structured="none" if args.no_json_mode else args.structured) if base_url else None)
        return
    print(f"gome: starting the embedded {local_size} model", file=sys.stderr)
    with model_endpoint(None, local_size) as model:  # the local server stops here, also on errors
        yield model


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


def _run(args: argparse.Namespace) -> int:
    from gome.roles import load_roles
    from gome.runner import run
    from gome.tasks import load_task

    load_task(args.task_dir), load_roles(args.roles)  # bad input fails before a model server starts
    local = args.base_url is None and args.replay is None
    with _endpoint(args.base_url, args.local_size if local else None, args) as model:
        config = _config(args, (model or ModelConfig()).model_copy(update={"max_tokens": args.max_tokens}), local)
        return _finish(lambda view: run(config, listeners=(view,)))


def _resume(args: argparse.Namespace) -> int:
    import yaml

    from gome.config import RunConfig
    from gome.llm import make_client
    from gome.runner import resume

    config_file = args.run_dir / "config.yaml"
    if not config_file.is_file():
        from gome.errors import GomeUserError

        raise GomeUserError(f"{args.run_dir}: not a gome run folder (no config.yaml)")
    config = RunConfig.model_validate(yaml.safe_load(config_file.read_text()))
    if config.local_size is None:
        return _finish(lambda view: resume(args.run_dir, listeners=(view,)))
    from gome.llm.local_server import model_endpoint

    with model_endpoint(None, config.local_size) as model:  # the embedded model gets a new port
        return _finish(lambda view: resume(args.run_dir, client=make_client(model), listeners=(view,)))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "resume":
        return _resume(args)
    if args.command == "bench":
        plan = cli_bench.check(args)
        with _endpoint(args.base_url, args.local_size if args.base_url is None else None, args) as model:
            label = args.model if args.base_url else f"embedded-{args.local_size}"
            return cli_bench.dispatch(args, plan, model, label)
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


if __name__ == "__main__":
    sys.exit(main())
