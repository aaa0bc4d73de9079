"""The `gome logs` and `gome report` subcommands: reading a run folder, live or finished."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gome.view.load import AGENTS

__all__ = ["register", "dispatch", "main"]

COMMANDS = ("logs", "report")


def register(sub: argparse._SubParsersAction) -> None:
    """Adds `logs` and `report` to the `gome` subcommands."""
    logs = sub.add_parser("logs", help="show the agents' conversation of a run")
    logs.add_argument("run", help="run folder, or a run id under --runs-dir")
    logs.add_argument("--trace", type=int, default=None, help="only this trace")
    logs.add_argument("--agent", default=None, choices=AGENTS, metavar="AGENT",
                      help=f"only events of this agent ({', '.join(AGENTS)})")
    logs.add_argument("--step", type=int, default=None, help="only this step")
    logs.add_argument("--follow", "-f", action="store_true", help="keep showing new events until the run finishes")
    logs.add_argument("--json", action="store_true", help="print the selected events as JSON lines")
    logs.add_argument("--runs-dir", type=Path, default=Path("runs"))
    report = sub.add_parser("report", help="write a self-contained HTML report of a run")
    report.add_argument("run", help="run folder, or a run id under --runs-dir")
    report.add_argument("--out", type=Path, default=None, help="output file (default RUN/report.html)")
    report.add_argument("--runs-dir", type=Path, default=Path("runs"))


def _logs(args: argparse.Namespace) -> int:
    from gome.view.load import EventFilter, follow_events, load_events, resolve_run
    from gome.view.logs import LogRenderer

    run_dir = resolve_run(args.run, args.runs_dir)
    keep = EventFilter(trace=args.trace, agent=args.agent, step=args.step)
    renderer = LogRenderer(color=not args.json and sys.stdout.isatty())
    events = follow_events(run_dir / "events.jsonl") if args.follow else load_events(run_dir)
    try:
        for event in keep.apply(events):
            lines = [event.model_dump_json()] if args.json else renderer.lines(event)
            if lines:
                print("\n".join(lines), flush=True)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `gome logs RUN | head`
        sys.stderr.close()
        return 0
    if isinstance(events, list) and (missed := keep.missed(events)):
        print(f"gome: {missed}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from gome.view.load import resolve_run
    from gome.view.report import write_report

    run_dir = resolve_run(args.run, args.runs_dir)
    out = write_report(run_dir, args.out)
    print(f"report: {out}")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    """Runs `gome logs` or `gome report`; GomeUserError propagates to the CLI's handler."""
    return _logs(args) if args.command == "logs" else _report(args)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m gome.cli_view logs RUN`), for use before cli.py wires it in."""
    from gome.errors import GomeUserError

    parser = argparse.ArgumentParser(prog="gome")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return dispatch(args)
    except GomeUserError as exc:
        print(f"gome: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
