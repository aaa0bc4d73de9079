"""Benchmark the optimiser's updates: `gome run --steps N` on a few tasks with the embedded model, one checkout
("before") against another ("after"), in one table.

    python benchmarks/bench_optimiser.py run --label before --src ../gome-main \\
        --tasks lending-club,diamonds-cut,food-delivery --steps 8 --out bench-optim
    python benchmarks/bench_optimiser.py run --label after --src . \\
        --tasks lending-club,diamonds-cut,food-delivery --steps 8 --out bench-optim
    python benchmarks/bench_optimiser.py table --out bench-optim --md BENCHMARKS.md

`run` prepares each task once into OUT/tasks/<task>, runs the checkout at --src on it (same interpreter,
PYTHONPATH=<src>, OMP_WAIT_POLICY=PASSIVE) with its run folder under OUT/runs/<label>/<task>/, its output in
OUT/logs/<label>-<task>.log, and records the cell in OUT/cells.json; a cell that finished (exit 0: graded,
1: no valid solution) is skipped when `run` is called again. `table` reads every cell's run folder as plain
JSON (runs of older code have other event schemas) and writes OUT/table.md and OUT/table.json.

Definitions (per run; an attempt is the last `optimizer_step` event of its id, since a veto re-emits it):
- directed update: an attempt of kind `improve` (whose mode is `directed` where the attempt records a mode).
- no-op update: a directed update whose dev predictions are identical to its parent's (both `submission.csv`
  files read as strings and sorted by their first column; same ids, same columns, numeric values equal
  within 1e-9 relative, other values equal), or whose recorded outcome is `no-op`. A missing or invalid
  submission is not a no-op.
- repeated failed direction: a directed update whose plan direction (the plan the attempt records where it
  does, else `traces/<k>/<step-1>/plan.json`, the plan made after the attempt before it) has a word-Jaccard
  of at least 0.5 (lower-cased words matching `[a-z][a-z0-9_]{2,}`) with the direction of an earlier
  directed update of the same trace that was not accepted (accepted: as below, a debug round included).
- accepted directed update: a directed update whose accepted flag is true, or one of whose debug rounds (the
  `debug` attempts descending from it through crashed parents, which carry its plan) was accepted.
- first-draft normalised dev: (score - dummy) / (expert - dummy) of the run's first draft's dev score, with
  the task's `reference_scores`; "–" without them or without a score.
- final normalised test: `normalized_score` of the run's final grade (`run_finished`, else
  `best/grade.json`; normalised from its score when that field is null).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np  # pandas' own dependency
import pandas as pd
from md_section import write_section as replace_section  # benchmarks/ is on sys.path when a script here runs

FINISHED = (0, 1)  # gome run: 0 graded, 1 no valid solution; an error, interrupt or kill runs again
WORD = re.compile(r"[a-z][a-z0-9_]{2,}")
BEGIN, END = "<!-- optimiser:begin -->", "<!-- optimiser:end -->"
BOOT = ("import sys, gome; print('gome from ' + gome.__file__, file=sys.stderr, flush=True); "
        "from gome.cli import main; sys.exit(main())")
COLUMNS = ["task", "label", "commit", "attempts", "directed updates", "no-op updates", "repeated failed directions",
           "accepted directed updates", "first-draft normalised dev", "final normalised test", "wall min"]


# ---- run -----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Serialises cells.json updates and task preparation between `run` calls sharing OUT."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cells.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_cells(out: Path) -> list[dict[str, Any]]:
    path = out / "cells.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _record(out: Path, cell: dict[str, Any]) -> None:
    with _locked(out):
        cells = [c for c in load_cells(out) if (c["label"], c["task"]) != (cell["label"], cell["task"])]
        tmp = out / "cells.json.tmp"
        tmp.write_text(json.dumps([*cells, cell], indent=1) + "\n", encoding="utf-8")
        tmp.replace(out / "cells.json")


def _commit(src: Path) -> str:
    git = ["git", "-C", str(src)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return (commit or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "OMP_WAIT_POLICY": "PASSIVE"}


def _prepare(task: str, out: Path, src: Path) -> Path:
    """OUT/tasks/<task>, written by the checkout's `gome tasks prepare` unless it is there already."""
    task_dir = out / "tasks" / task
    with _locked(out):
        if not (task_dir / "config.yaml").is_file():
            (out / "logs").mkdir(parents=True, exist_ok=True)
            with open(out / "logs" / f"prepare-{task}.log", "w", encoding="utf-8") as log:
                argv = [sys.executable, "-c", BOOT, "tasks", "prepare", task, "--out", str(out / "tasks")]
                done = subprocess.run(argv, cwd=out, env=_env(src), stdout=log, stderr=subprocess.STDOUT)
            if done.returncode != 0 or not (task_dir / "config.yaml").is_file():
                raise SystemExit(f"preparing {task} failed: see {out / 'logs' / f'prepare-{task}.log'}")
    return task_dir


def _run_folder(log_text: str, runs_dir: Path, before: set[Path]) -> Path | None:
    """The run folder gome printed, else the one folder that appeared under runs_dir during the run."""
    printed = re.findall(r"^run folder: (.+)$", log_text, flags=re.M)
    if printed and Path(printed[-1]).is_dir():
        return Path(printed[-1]).resolve()
    new = sorted(p for p in runs_dir.iterdir() if p.is_dir() and p not in before) if runs_dir.is_dir() else []
    return new[-1].resolve() if new else None


def _gome_args(args: argparse.Namespace, task_dir: Path, runs_dir: Path) -> list[str]:
    extra = ["--time-budget", str(args.time_budget)] if args.time_budget else []
    return ["run", str(task_dir), "--steps", str(args.steps), "--runs-dir", str(runs_dir),
            "--local-size", args.local_size, *extra, *shlex.split(args.gome_args)]


def run_cell(args: argparse.Namespace, task: str, task_dir: Path, out: Path, src: Path) -> dict[str, Any]:
    """One `gome run` of the checkout at src on task_dir; its cells.json entry."""
    runs_dir, commit = out / "runs" / args.label / task, _commit(src)
    runs_dir.mkdir(parents=True, exist_ok=True)
    before = {p for p in runs_dir.iterdir() if p.is_dir()}
    argv = _gome_args(args, task_dir, runs_dir)
    log_path = out / "logs" / f"{args.label}-{task}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start, interrupted = time.monotonic(), False
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"$ PYTHONPATH={src} gome {shlex.join(argv)}\n")
        log.flush()
        proc = subprocess.Popen([sys.executable, "-c", BOOT, *argv], cwd=out, env=_env(src),
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # the child got the same SIGINT: let it stop its model server
            interrupted = True
            try:
                code = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.terminate()
                code = proc.wait()
    wall = time.monotonic() - start
    text = log_path.read_text(encoding="utf-8", errors="replace")
    gome_file = (re.findall(r"^gome from (.+)$", text, flags=re.M) or [""])[0]
    run_dir = _run_folder(text, runs_dir, before)
    cell = {"label": args.label, "commit": commit, "src": str(src), "task": task, "task_dir": str(task_dir),
            "run_dir": str(run_dir) if run_dir else None, "wall_s": round(wall, 1), "exit_code": code,
            "steps": args.steps, "local_size": args.local_size, "time_budget": args.time_budget,
            "gome_file": gome_file, "log": str(log_path), "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    _record(out, cell)
    if interrupted:
        raise KeyboardInterrupt
    return cell


def cmd_run(args: argparse.Namespace) -> int:
    out, src = args.out.resolve(), args.src.resolve()
    tasks = [t for t in args.tasks.split(",") if t]
    codes = []
    for i, task in enumerate(tasks, 1):
        head = f"[{i}/{len(tasks)}] {args.label} {task}:"
        done = next((c for c in load_cells(out) if (c["label"], c["task"]) == (args.label, task)), None)
        if done and done["exit_code"] in FINISHED:
            print(f"{head} finished earlier (exit {done['exit_code']}, {done['wall_s'] / 60:.1f} min), skipped",
                  flush=True)
            codes.append(done["exit_code"])
            continue
        print(f"{head} running (log {out / 'logs' / f'{args.label}-{task}.log'})", flush=True)
        cell = run_cell(args, task, _prepare(task, out, src), out, src)
        where = ("" if cell["gome_file"].startswith(str(src))
                 else f"; WARNING: gome imported from {cell['gome_file'] or '?'}")
        print(f"{head} exit {cell['exit_code']} in {cell['wall_s'] / 60:.1f} min, commit {cell['commit']}, "
              f"run {cell['run_dir']}{where}", flush=True)
        codes.append(cell["exit_code"])
    return 0 if all(c in FINISHED for c in codes) else 1


# ---- table ---------------------------------------------------------------------------------------------

def read_attempts(run_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """Attempts by id (the last optimizer_step event of each id wins, first-seen order) and the final grade."""
    attempts: dict[str, dict[str, Any]] = {}
    grade = None
    path = run_dir / "events.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn last line of a killed run
        if not isinstance(event, dict):
            continue
        attempt = event.get("attempt")
        if event.get("kind") == "optimizer_step" and isinstance(attempt, dict) and "id" in attempt:
            attempts[str(attempt["id"])] = attempt
        elif event.get("kind") == "run_finished" and isinstance(event.get("grade"), dict):
            grade = event["grade"]
    return attempts, grade


def _location(attempt_id: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)-(\d+)", attempt_id)
    return (int(match[1]), int(match[2])) if match else None


def _attempt_dir(run_dir: Path, attempt_id: str) -> Path | None:
    loc = _location(attempt_id)
    return run_dir / "traces" / str(loc[0]) / f"{loc[1]:03d}" if loc else None


def is_directed(attempt: dict[str, Any]) -> bool:
    return attempt.get("kind") == "improve" and attempt.get("mode", "directed") == "directed"


def _read_submission(path: Path | None) -> pd.DataFrame | None:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False) if path else None
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    if frame is None or frame.empty or len(frame.columns) < 2:
        return None
    return frame.sort_values(frame.columns[0], kind="stable").reset_index(drop=True)


def same_predictions(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b) or not a.iloc[:, 0].equals(b.iloc[:, 0]):
        return False
    for column in a.columns[1:]:
        x, y = pd.to_numeric(a[column], errors="coerce"), pd.to_numeric(b[column], errors="coerce")
        numeric = x.notna() & y.notna()
        if not (a[column][~numeric] == b[column][~numeric]).all():
            return False
        x, y = x[numeric].to_numpy(float), y[numeric].to_numpy(float)
        if not (np.abs(x - y) <= 1e-9 * np.maximum(np.abs(x), np.abs(y))).all():
            return False
    return True


def is_noop(run_dir: Path, attempt: dict[str, Any], attempts: dict[str, dict[str, Any]]) -> bool:
    if attempt.get("outcome") == "no-op":
        return True
    parent_id = attempt.get("parent_id")
    parent = attempts.get(str(parent_id), {})
    if not parent_id or attempt.get("status", "ok") != "ok" or parent.get("status", "ok") != "ok":
        return False
    mine, theirs = (_read_submission(folder / "submission.csv" if folder else None)
                    for folder in (_attempt_dir(run_dir, str(attempt["id"])), _attempt_dir(run_dir, str(parent_id))))
    return mine is not None and theirs is not None and same_predictions(mine, theirs)


def direction(run_dir: Path, attempt: dict[str, Any]) -> str | None:
    """The direction of the plan that led to the attempt: the plan the attempt records (newer runs), else
    traces/<k>/<step-1>/plan.json, the plan written after the step before it in the same trace."""
    plan = attempt.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("direction"), str):
        return plan["direction"]
    loc = _location(str(attempt["id"]))
    path = run_dir / "traces" / str(loc[0]) / f"{loc[1] - 1:03d}" / "plan.json" if loc else None
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get("direction") if path else None
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def words(text: str | None) -> set[str]:
    return set(WORD.findall(text.lower())) if text else set()


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def repeated_failures(run_dir: Path, directed: list[dict[str, Any]], failed: set[str]) -> list[str]:
    """Ids of directed updates whose direction repeats that of an earlier failed one (`failed`: not
    accepted, nor fixed by an accepted debug round) of the same trace."""
    located = sorted(((_location(str(a["id"])), a) for a in directed if _location(str(a["id"]))), key=lambda p: p[0])
    bags = {str(a["id"]): words(direction(run_dir, a)) for _, a in located}
    repeated = []
    for loc, a in located:
        earlier = [b for loc_b, b in located
                   if loc_b[0] == loc[0] and loc_b[1] < loc[1] and str(b["id"]) in failed]
        mine = bags[str(a["id"])]
        if mine and any(jaccard(mine, bags[str(b["id"])]) >= 0.5 for b in earlier):
            repeated.append(str(a["id"]))
    return repeated


def reference_scores(task_dir: Path) -> dict[str, float]:
    """reference_scores of a task's config.yaml (PyYAML when installed, else the block read line by line)."""
    path = task_dir / "config.yaml"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        import yaml

        refs = (yaml.safe_load(text) or {}).get("reference_scores") or {}
    except ImportError:
        block = re.search(r"^reference_scores:\s*\n((?:[ \t]+\S.*\n?)*)", text, flags=re.M)
        refs = dict(re.findall(r"^\s+([\w-]+):\s*(\S+)", block[1], flags=re.M)) if block else {}
    try:
        return {str(k): float(v) for k, v in refs.items()}
    except (TypeError, ValueError):
        return {}


def normalise(score: Any, refs: dict[str, float]) -> float | None:
    if not isinstance(score, (int, float)) or "dummy" not in refs or "expert" not in refs:
        return None
    if refs["expert"] == refs["dummy"]:
        return None
    return (score - refs["dummy"]) / (refs["expert"] - refs["dummy"])


def _final_grade(run_dir: Path, grade: dict[str, Any] | None) -> dict[str, Any] | None:
    if grade is None and (run_dir / "best" / "grade.json").is_file():
        with contextlib.suppress(ValueError):
            grade = json.loads((run_dir / "best" / "grade.json").read_text(encoding="utf-8"))
    return grade if isinstance(grade, dict) else None


def _fixed_by_debug(update: dict[str, Any], attempts: dict[str, dict[str, Any]]) -> bool:
    """Whether a debug round descending from this (crashed) update was accepted."""
    for attempt in attempts.values():
        node = attempt
        while node.get("kind") == "debug" and node.get("parent_id") in attempts:
            node = attempts[node["parent_id"]]
            if node is update:
                if attempt.get("accepted") is True:
                    return True
                break
    return False


def analyse(run_dir: Path, task_dir: Path) -> dict[str, Any]:
    """The counts and scores of one run folder, with each directed update's verdicts in `updates`."""
    attempts, grade = read_attempts(run_dir)
    refs = reference_scores(task_dir)
    directed = [a for a in attempts.values() if is_directed(a)]
    noops = {str(a["id"]) for a in directed if is_noop(run_dir, a, attempts)}
    accepted = {str(a["id"]) for a in directed if a.get("accepted") is True or _fixed_by_debug(a, attempts)}
    repeated = set(repeated_failures(run_dir, directed, {str(a["id"]) for a in directed} - accepted))
    draft = next((a for a in attempts.values() if a.get("kind") == "draft"), None)
    grade = _final_grade(run_dir, grade)
    final = grade.get("normalized_score") if grade else None
    if final is None and grade:
        final = normalise(grade.get("score"), refs)
    updates = [{"id": str(a["id"]), "parent_id": a.get("parent_id"), "status": a.get("status"),
                "score": a.get("score"), "outcome": a.get("outcome"), "no_op": str(a["id"]) in noops,
                "repeated_failed_direction": str(a["id"]) in repeated, "accepted": str(a["id"]) in accepted,
                "direction": direction(run_dir, a)} for a in directed]
    return {"attempts": len(attempts), "directed updates": len(directed), "no-op updates": len(noops),
            "repeated failed directions": len(repeated), "accepted directed updates": len(accepted),
            "first-draft normalised dev": normalise(draft.get("score"), refs) if draft else None,
            "final normalised test": final, "updates": updates}


def _cell_value(value: Any, column: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if column == "wall min" else f"{value:.3f}"
    return str(value)


def _total(label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per label: counts summed, scores averaged over the tasks that have one (n/m when not all)."""
    total: dict[str, Any] = {"task": f"all ({len(rows)})", "label": label,
                             "commit": ", ".join(sorted({r["commit"] for r in rows}))}
    for column in COLUMNS[3:8]:
        total[column] = sum(r[column] for r in rows if r[column] is not None)
    for column in COLUMNS[8:10]:
        values = [r[column] for r in rows if r[column] is not None]
        mean = f"{sum(values) / len(values):.3f}" if values else "–"
        total[column] = mean if len(values) == len(rows) or not values else f"{mean} ({len(values)}/{len(rows)})"
    total["wall min"] = round(sum(r["wall min"] or 0 for r in rows), 1)
    return total


def build_rows(out: Path) -> list[dict[str, Any]]:
    cells = load_cells(out)
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    labels = list(dict.fromkeys(c["label"] for c in cells))
    rows = []
    for task in tasks:
        for cell in sorted((c for c in cells if c["task"] == task), key=lambda c: labels.index(c["label"])):
            run_dir = Path(cell["run_dir"]) if cell.get("run_dir") else None
            task_dir = Path(cell.get("task_dir") or out / "tasks" / task)
            stats = analyse(run_dir, task_dir) if run_dir and run_dir.is_dir() else \
                {c: None for c in COLUMNS[3:10]} | {"updates": []}
            rows.append({"task": task, "label": cell["label"], "commit": cell.get("commit", "?"), **stats,
                         "wall min": round(cell["wall_s"] / 60, 1) if cell.get("wall_s") is not None else None,
                         "exit_code": cell.get("exit_code"), "run_dir": cell.get("run_dir")})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    labels = list(dict.fromkeys(r["label"] for r in rows))
    totals = ([_total(label, [r for r in rows if r["label"] == label]) for label in labels]
              if len(rows) > len(labels) else [])
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in [*rows, *totals]:
        lines.append("| " + " | ".join(_cell_value(row[c], c) for c in COLUMNS) + " |")
    return "\n".join(lines)


def write_section(path: Path, table: str, out: Path) -> None:
    """Puts the table and the definitions between the optimiser markers of a Markdown file (appended if absent)."""
    cells = load_cells(out)
    setup = "; ".join(dict.fromkeys(f"{c['label']}: commit {c.get('commit')}, `--steps {c.get('steps')}`, "
                                    f"embedded {c.get('local_size')}" for c in cells))
    definitions = __doc__[__doc__.index("Definitions"):].strip()
    section = "\n".join([BEGIN, "## Optimiser updates, before and after", "",
                         f"Produced by `python benchmarks/bench_optimiser.py run …` per label and `… table` "
                         f"({setup}).",
                         "", definitions, "", table, "", END])
    replace_section(path, BEGIN, END, section)


def cmd_table(args: argparse.Namespace) -> int:
    out = args.out.resolve()
    rows = build_rows(out)
    table = markdown(rows)
    (out / "table.md").write_text(table + "\n", encoding="utf-8")
    (out / "table.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    if args.md:
        write_section(args.md, table, out)
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one checkout on the tasks, one cell per task")
    run.add_argument("--label", required=True, help="row label, e.g. before or after")
    run.add_argument("--src", type=Path, required=True, help="the gome checkout to run (put first on PYTHONPATH)")
    run.add_argument("--tasks", default="lending-club,diamonds-cut,food-delivery")
    run.add_argument("--steps", type=int, default=8)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--local-size", default="1.5b", choices=["1.5b", "0.5b"])
    run.add_argument("--time-budget", type=float, default=None, help="gome run --time-budget, seconds")
    run.add_argument("--gome-args", default="", help="more `gome run` options, one shell-quoted string")
    table = sub.add_parser("table", help="analyse every cell's run folder and print the Markdown table")
    table.add_argument("--out", type=Path, required=True)
    table.add_argument("--md", type=Path, default=None, help="also put the table into this Markdown file")
    args = parser.parse_args(argv)
    return cmd_run(args) if args.command == "run" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
