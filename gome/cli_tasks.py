"""`gome tasks …` and `gome grade`: the task suite, references, your own data, and grading."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["register", "dispatch"]


def _add_tasks_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("tasks"), help="folder of task folders (default ./tasks)")


def _add_split_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time-column", default=None, metavar="COL|none",
                        help="a forecast: the dev split holds out train's latest rows by COL (default: detected)")
    parser.add_argument("--group-column", default=None, metavar="COL|none",
                        help="repeated entities: the dev split holds out whole groups of COL (default: detected)")


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
    _add_split_options(new)
    adopt = tasks_sub.add_parser("adopt", help="make task folders from prepared MLE-bench competitions")
    adopt.add_argument("competition_dir", type=Path,
                       help="<mle-bench data>/<competition-id>; with --all, the data folder itself")
    adopt.add_argument("--all", action="store_true",
                       help="adopt every competition under the data folder (or those --ids lists)")
    adopt.add_argument("--ids", type=Path, default=None,
                       help="with --all: a file of competition ids, one a line (e.g. MLE-bench Lite's low.txt)")
    adopt.add_argument("--registry", type=Path, default=None,
                       help="mlebench's competitions folder (or one competition's): config.yaml, leaderboard.csv, "
                       "description.md; default: beside --leaderboard, or the installed mlebench's")
    adopt.add_argument("--metric", default="", help="default: from the grader named in config.yaml")
    adopt.add_argument("--target", default="", help="default: the sample submission's prediction columns")
    adopt.add_argument("--id", dest="id_column", default="", help="default: the sample submission's first column")
    adopt.add_argument("--leaderboard", type=Path, default=None, help="default: the registry folder's")
    adopt.add_argument("--answers", default="", help="answers file name in prepared/private/ (default: config.yaml's)")
    adopt.add_argument("--out", type=Path, default=None,
                       help="task folder (default ./tasks/<id>); with --all, the folder of task folders (./tasks)")
    _add_split_options(adopt)
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
                          id_column=args.id_column, ladder=not args.no_ladder, time_column=args.time_column,
                          group_column=args.group_column)
    task = tasks.load_task(path)
    print(f"made task {task.name} in {path}; edit {task.public_dir / 'description.md'} to describe the data")
    print(task.split_note)
    if task.reference_scores:
        print("reference scores: " + ", ".join(f"{k} {v}" for k, v in task.reference_scores.items())
              + (" (crowded)" if task.crowded else ""))
    return 0


def _adopt(args: argparse.Namespace) -> int:
    from gome.errors import GomeUserError
    from gome.tasks.mlebench import adopt_all, adopt_mlebench, mlebench_importable, read_ids

    options = {"metric": args.metric, "target": args.target, "id_column": args.id_column,
               "leaderboard": args.leaderboard, "answers": args.answers, "time_column": args.time_column,
               "group_column": args.group_column}
    if not args.all:
        if args.ids is not None:
            raise GomeUserError("--ids goes with --all")
        src = args.competition_dir.resolve()
        out = args.out or Path("tasks") / (src.parent.name if src.name == "prepared" else src.name)
        task = adopt_mlebench(args.competition_dir, out, registry=args.registry, **options)
        print(f"adopted MLE-bench competition {task.name} as {task.root} (metric {task.metric}, id {task.id_column}, "
              f"target {', '.join(task.target_columns)})")
        print(task.split_note)
        return 0
    if args.registry is None and not mlebench_importable():
        raise GomeUserError("--all needs --registry (mlebench's competitions folder), or mlebench installed")
    ids = read_ids(args.ids) if args.ids is not None else None
    adopted, failed = adopt_all(args.competition_dir, args.out or Path("tasks"), args.registry, ids, **options)
    for task in adopted:
        print(f"adopted {task.name} as {task.root}: {task.split_note}")
    for competition_id, why in failed:
        print(f"not adopted {competition_id}: {why}")
    print(f"adopted {len(adopted)} of {len(adopted) + len(failed)} competitions")
    return 0 if adopted and not failed else 1


def _grade(args: argparse.Namespace) -> int:
    import sys

    from gome import tasks

    task = tasks.load_task(args.task_dir)
    report = tasks.grade_submission(task, args.submission)
    if report.grader.startswith("mlebench:"):
        print(f"gome: graded by the competition's own grade function ({report.grader[len('mlebench:'):]}, "
              "mlebench is installed)", file=sys.stderr)
    elif task.mlebench_id:
        print(f"gome: graded by gome's {task.metric} (mlebench is not installed here)", file=sys.stderr)
    print(report.model_dump_json(indent=2))
    return 0 if report.valid_submission else 1


def dispatch(args: argparse.Namespace) -> int:
    """Runs a `tasks` or `grade` command; returns the exit status."""
    from gome import tasks

    if args.command == "grade":
        return _grade(args)
    if args.tasks_command == "list":
        for name in sorted(tasks.BUNDLED):
            print(f"{name:18s} bundled")
        for name, spec in sorted(tasks.SUITE.items()):
            print(f"{name:18s} {spec.metric:9s} {spec.kind:8s} {spec.title}")
        return 0
    commands = {"prepare": _prepare, "verify": _verify, "reference": _reference, "new": _new, "adopt": _adopt}
    return commands[args.tasks_command](args)
