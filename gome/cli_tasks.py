"""`gome tasks …` and `gome grade`: bundled tasks and grading from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "dispatch"]


def register(sub: argparse._SubParsersAction) -> None:
    """Adds the `tasks` and `grade` commands to the top-level parser."""
    tasks = sub.add_parser("tasks", help="bundled tasks")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True)
    prepare = tasks_sub.add_parser("prepare", help="write a bundled task folder")
    prepare.add_argument("name")
    prepare.add_argument("--out", type=Path, default=Path("tasks"), help="parent folder (default ./tasks)")
    tasks_sub.add_parser("list", help="list bundled tasks")
    grade = sub.add_parser("grade", help="grade a submission against a task's private answers")
    grade.add_argument("task_dir", type=Path)
    grade.add_argument("submission", type=Path)


def dispatch(args: argparse.Namespace) -> int:
    """Runs a `tasks` or `grade` command; returns the exit status."""
    from gome import tasks

    if args.command == "grade":
        report = tasks.grade_submission(tasks.load_task(args.task_dir), args.submission)
        print(report.model_dump_json(indent=2))
        return 0 if report.valid_submission else 1
    if args.tasks_command == "list":
        print("\n".join(sorted(tasks.BUNDLED)))
        return 0
    path = tasks.prepare_task(args.name, args.out / args.name)
    print(f"prepared {args.name} in {path}")
    return 0
