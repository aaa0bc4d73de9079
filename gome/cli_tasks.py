"""`gome tasks …` and `gome grade`: the task suite, references, your own data, and grading."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["register", "dispatch"]


def _add_tasks_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("tasks"), help="folder of task folders (default ./tasks)")


def register(sub: argparse._SubParsersAction) -> None:
    """Adds the `tasks` and `grade` commands to the top-level parser."""
    tasks = sub.add_parser("tasks", help="task suite, reference solutions, your own data")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True)
    prepare = tasks_sub.add_parser("prepare", help="write task folders (deterministic, offline)")
    prepare.add_argument("name", nargs="?", help="task name (see `gome tasks list`)")
    prepare.add_argument("--all", action="store_true", help="every task")
    _add_tasks_dir(prepare)
    verify = tasks_sub.add_parser("verify", help="check task folders against their checksums")
    verify.add_argument("name", nargs="?", help="task name or task folder")
    verify.add_argument("--all", action="store_true", help="every task folder under --out")
    _add_tasks_dir(verify)
    tasks_sub.add_parser("list", help="list the tasks")
    ref = tasks_sub.add_parser("reference", help="run a reference solution, write and grade its submission")
    ref.add_argument("name", help="task name or task folder")
    ref.add_argument("--level", required=True, choices=["dummy", "default", "tuned", "expert"])
    ref.add_argument("--submission", type=Path, default=None, help="where to write it (default ./reference-TASK-LEVEL.csv)")
    _add_tasks_dir(ref)
    new = tasks_sub.add_parser("new", help="make a task folder from your own CSV files")
    new.add_argument("--train", type=Path, required=True)
    new.add_argument("--test", type=Path, default=None, help="test CSV; used as the test set if it has the target")
    new.add_argument("--target", required=True)
    new.add_argument("--metric", required=True)
    new.add_argument("--id", dest="id_column", default="", help="id column (default: random ids are added)")
    new.add_argument("--out", type=Path, default=None, help="task folder (default ./tasks/<train file stem>)")
    new.add_argument("--no-ladder", action="store_true", help="skip the reference levels (no meaningful medals)")
    adopt = tasks_sub.add_parser("adopt", help="make a task folder from a prepared MLE-bench competition")
    adopt.add_argument("competition_dir", type=Path, help="<mle-bench data>/<competition-id>")
    adopt.add_argument("--metric", required=True)
    adopt.add_argument("--target", required=True)
    adopt.add_argument("--id", dest="id_column", default="id")
    adopt.add_argument("--leaderboard", type=Path, default=None, help="default: mlebench's copy, if installed")
    adopt.add_argument("--answers", default="answers.csv", help="answers file name in prepared/private/")
    adopt.add_argument("--out", type=Path, required=True)
    grade = sub.add_parser("grade", help="grade a submission against a task's private answers")
    grade.add_argument("task_dir", type=Path)
    grade.add_argument("submission", type=Path)


def _names(args: argparse.Namespace) -> list[str]:
    from gome import tasks
    from gome.errors import GomeUserError

    if args.all:
        return sorted(tasks.BUNDLED) + sorted(tasks.SUITE)
    if not args.name:
        raise GomeUserError("name a task or pass --all")
    return [args.name]


def _prepare(args: argparse.Namespace) -> int:
    from gome import tasks

    start = time.perf_counter()
    for name in _names(args):
        t0 = time.perf_counter()
        path = tasks.prepare_task(name, args.out / name)
        print(f"prepared {name:18s} in {path} ({time.perf_counter() - t0:.1f} s)")
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0


def _task_dir(name: str, out: Path) -> Path:
    return Path(name) if Path(name).is_dir() else out / name


def _verify(args: argparse.Namespace) -> int:
    from gome.errors import GomeUserError
    from gome.tasks.verify import CHECKSUMS, verify_task

    if args.all:
        roots = sorted(p.parent for p in args.out.glob(f"*/{CHECKSUMS}"))
        if not roots:
            raise GomeUserError(f"{args.out}: no task folders found")
    elif args.name:
        roots = [_task_dir(args.name, args.out)]
    else:
        raise GomeUserError("name a task or pass --all")
    for root in roots:
        print(f"ok {root} ({verify_task(root)} files)")
    return 0


def _reference(args: argparse.Namespace) -> int:
    from gome import tasks

    task = tasks.load_task(_task_dir(args.name, args.out))
    start = time.perf_counter()
    submission = tasks.reference_submission(task, args.level)
    seconds = time.perf_counter() - start
    path = args.submission or Path(f"reference-{task.name}-{args.level}.csv")
    submission.to_csv(path, index=False, lineterminator="\n")
    report = tasks.grade_submission(task, path)
    print(f"{task.name} {args.level}: score {report.score} in {seconds:.1f} s; submission {path}")
    print(report.model_dump_json(indent=2))
    return 0 if report.valid_submission else 1


def _new(args: argparse.Namespace) -> int:
    from gome import tasks

    out = args.out or Path("tasks") / args.train.stem
    path = tasks.new_task(args.train, args.target, args.metric, out, test_path=args.test,
                          id_column=args.id_column, ladder=not args.no_ladder)
    task = tasks.load_task(path)
    print(f"made task {task.name} in {path}; edit {task.public_dir / 'description.md'} to describe the data")
    if task.reference_scores:
        print("reference scores: " + ", ".join(f"{k} {v}" for k, v in task.reference_scores.items())
              + (" (crowded)" if task.crowded else ""))
    return 0


def _adopt(args: argparse.Namespace) -> int:
    from gome.tasks.mlebench import adopt_mlebench

    task = adopt_mlebench(args.competition_dir, args.out, args.metric, args.target, args.id_column,
                          args.leaderboard, args.answers)
    print(f"adopted MLE-bench competition {task.name} as {task.root}")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    """Runs a `tasks` or `grade` command; returns the exit status."""
    from gome import tasks

    if args.command == "grade":
        report = tasks.grade_submission(tasks.load_task(args.task_dir), args.submission)
        print(report.model_dump_json(indent=2))
        return 0 if report.valid_submission else 1
    if args.tasks_command == "list":
        for name in sorted(tasks.BUNDLED):
            print(f"{name:18s} bundled")
        for name, spec in sorted(tasks.SUITE.items()):
            print(f"{name:18s} {spec.metric:9s} {spec.kind:8s} {spec.title}")
        return 0
    commands = {"prepare": _prepare, "verify": _verify, "reference": _reference, "new": _new, "adopt": _adopt}
    return commands[args.tasks_command](args)
