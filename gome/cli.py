"""The `gome` command line: run (here), tasks and grade (cli_tasks)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from gome import cli_tasks
from gome.config import RunConfig
from gome.console import ConsoleView
from gome.llm import ModelConfig

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gome", description="An MLE agent: reasoning as gradient.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="optimise a solution for a task folder")
    run.add_argument("task_dir", type=Path)
    run.add_argument("--model", default="gpt-4o-mini", help="model name at the endpoint")
    run.add_argument("--base-url", default="https://api.openai.com/v1", help="OpenAI-compatible endpoint")
    run.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    run.add_argument("--no-json-mode", action="store_true", help="the endpoint rejects response_format json_object")
    run.add_argument("--steps", type=int, default=6, help="executed attempts, debug rounds included (default 6)")
    run.add_argument("--time-budget", type=float, default=None, help="wall-clock budget of the search in seconds")
    run.add_argument("--exec-timeout", type=float, default=600.0, help="seconds per script execution")
    run.add_argument("--memory-mb", type=int, default=4096, help="memory limit of generated code")
    run.add_argument("--threads", type=int, default=1, help="CPU threads for generated code")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--roles", type=Path, default=None, help="folder of role prompt files overriding the defaults")
    run.add_argument("--runs-dir", type=Path, default=Path("runs"))
    cli_tasks.register(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from gome.runner import run

    model = ModelConfig(model=args.model, base_url=args.base_url, api_key_env=args.api_key_env,
                        json_output=not args.no_json_mode)
    config = RunConfig(
        task_dir=args.task_dir, runs_dir=args.runs_dir, model=model, steps=args.steps, time_budget_s=args.time_budget,
        seed=args.seed, exec_timeout_s=args.exec_timeout, memory_mb=args.memory_mb, threads=args.threads,
        roles_dir=args.roles,
    )
    result = asyncio.run(run(config, listeners=(ConsoleView(),)))
    print(f"run folder: {result.run_dir}")
    if result.grade is None:
        print("no valid solution was found")
        return 1
    print(result.grade.model_dump_json(indent=2))
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
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
        print("gome: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
