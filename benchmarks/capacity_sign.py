"""Does the gradient's sign pick better tunes? For each script: its fit's sign as the harness reads it
(gome.agents.views.fit_capacity: less where its train_score beats its own validation score by more than the
noise, else more), and the gain over it of the first regularising tune, the first capacity tune and the first
tune of the catalogue's order (what a diagnosis without a sign, or the no-diagnosis ablation, gets), each
measured on the dev split and pooled over extra folds as a close call is (gome.tools.folds). Swaps to a stronger
family are left out: they come before tunes in every order.

The scripts: the first working draft of each run folder given (its validation block brought up to the current
starter's, which prints train_score) and that draft with its first swap made; or, with --families, the starter of
each task folder given with its placeholder swapped for each family of the move catalogue and a linear model.
Scripts with the same model call on the same task are measured once. No model is called.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/capacity_sign.py [--folds 4] [--json OUT] RUN_DIR [RUN_DIR ...]
       OMP_WAIT_POLICY=PASSIVE python benchmarks/capacity_sign.py --families [--folds 2] TASK_DIR [TASK_DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
from pathlib import Path

import yaml

from gome.agents.views import fit_capacity
from gome.assemble import limits_of
from gome.config import RunConfig
from gome.roles import load_messages
from gome.schema import Move
from gome.tasks import Task, load_task, make_dev_split, score_dev
from gome.tasks.evidence import submission_evidence
from gome.tasks.metrics import get_metric
from gome.tasks.starter import starter_script
from gome.tools.estimators import calls_text
from gome.tools.folds import Folds
from gome.tools.harness import run_attempt
from gome.tools.hints import add_missing_imports, find_module_of
from gome.tools.moves import apply_move, offer

# the validation block of the starter before it printed train_score, and of the current one
_OLD_BLOCK = re.compile(r"pred = predict\(make_model\(\)\.fit\(X_tr, y_tr\), X_va\)\nprint\(\"validation_score:\", .*\)\n")
_NEW_BLOCK = re.compile(r"fitted = make_model\(\)\.fit\(X_tr, y_tr\)\n(?:.*\n){3}print\(\"train_score:\", .*\)\n")


def _draft(run_dir: Path) -> str | None:
    """The run's first working draft script, or None."""
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        attempt = event.get("attempt") if event.get("kind") == "optimizer_step" else None
        if attempt and attempt["kind"] == "draft" and attempt["status"] == "ok" and attempt["code"]:
            return str(attempt["code"])
    return None


def _retailed(code: str, starter: str) -> str | None:
    """The script with the current starter's validation block (train_score too); None where it has neither."""
    block = _NEW_BLOCK.search(starter)
    if block is None or _NEW_BLOCK.search(code):
        return code if block else None
    return _OLD_BLOCK.sub(lambda _: block.group(), code, count=1) if _OLD_BLOCK.search(code) else None


# linear models beside the catalogue's families, where a sign of "more" is expected
_LINEAR = {"classifiers": "LogisticRegression(max_iter=2000)", "regressors": "Ridge(alpha=1.0)"}


def _family_scripts(task: Task) -> list[tuple[str, str]]:
    """(label, script) for the starter with its placeholder swapped for each family of the move catalogue and a
    linear model."""
    starter = starter_script(task)
    kind = "regressors" if get_metric(task.metric).kind == "regression" else "classifiers"
    out = []
    for entry in [*load_messages().items(f"move_{kind}"), _LINEAR[kind]]:
        name = entry.split("(")[0]
        move = Move(key=f"use {name}", old="", new=entry.strip())
        made = apply_move(starter, move)
        if made is not None and (find_module_of(name, "sklearn") or find_module_of(name, "lightgbm")):
            out.append((name, add_missing_imports(made)[0]))
    return out


def _run_scripts(run_dir: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The run's task folder and its first draft (with the current starter's validation block), and the draft
    with its first move made where that is a swap to a stronger family (the script whose tunes come next)."""
    config = RunConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    task = load_task(config.task_dir)
    draft = _draft(run_dir)
    code = _retailed(draft, starter_script(task)) if draft else None
    if code is None:
        return config.task_dir, []
    scripts = [("draft", code)]
    kind = "regressors" if get_metric(task.metric).kind == "regression" else "classifiers"
    swap = next(iter(offer(code, load_messages().items(f"move_{kind}"), [])), None)
    swapped = apply_move(code, swap) if swap is not None and swap.key.startswith("use ") else None
    if swapped is not None:
        scripts.append(("swapped", add_missing_imports(swapped)[0]))
    return config.task_dir, scripts


async def measure(task_dir: Path, scripts: list[tuple[str, str]], folds: int, scratch: Path) -> list[dict]:
    """A row per script: its fit's sign and the pooled gains of the first tune of each order."""
    task, limits = load_task(task_dir), limits_of(RunConfig(task_dir=task_dir, threads=1))
    split = make_dev_split(task, scratch / "dev")
    checker = Folds(task, [make_dev_split(task, scratch / f"fold{k}", fold=k) for k in range(1, folds + 1)],
                    scratch / "folds", limits)
    catalogue = load_messages().items("move_regressors" if get_metric(task.metric).kind == "regression" else "move_classifiers")

    def dev_run(name: str, script: str) -> tuple[Path, float | None, str]:
        report, _ = run_attempt(name, script, split.input_dir, scratch / name, lambda p: score_dev(task, split, p), limits)
        return scratch / name / "submission.csv", report.score, report.stdout_tail

    async def tunes(label: str, base: str) -> dict | None:
        sub, score, stdout = await asyncio.to_thread(dev_run, label, base)
        if score is None:
            return None
        ev = submission_evidence(task, split, sub, {}, stdout)
        firsts: dict[str, str] = {}
        gains: dict[str, dict] = {}
        for order in ("less", "more", "unclear"):
            move = next((m for m in offer(base, catalogue, [], capacity=order, k=50)
                         if not m.key.startswith("use ") and (order == "unclear" or m.capacity == order)), None)
            if move is None:
                continue
            firsts[order] = move.key
            made = apply_move(base, move) if move.key not in gains else None
            if made is None:
                continue
            script, name = add_missing_imports(made)[0], f"{label}-m{len(gains)}"
            path, moved, out = await asyncio.to_thread(dev_run, name, script)
            if moved is None:
                gains[move.key] = {"capacity": move.capacity, "pooled": None}
                continue
            first = submission_evidence(task, split, path, {label: sub}, out, best=label)
            gain = (score - moved) if task.lower_is_better else (moved - score)
            pooled = await checker.gain((name, script), (label, base), (gain, first.gain_se or 0.0), asyncio.Semaphore(1),
                                        len(checker.splits))
            gains[move.key] = {"capacity": move.capacity, "dev": gain, "dev_se": first.gain_se, "pooled": pooled}
        return {"task": task.name, "script": label, "model": calls_text(base)[:60], "score": score,
                "fit_score": ev.fit_score, "self_score": ev.self_score, "noise": ev.noise,
                "sign": fit_capacity(ev, task.lower_is_better), "firsts": firsts, "gains": gains}

    return [row for label, code in scripts if (row := await tunes(label, code)) is not None]


def _cell(row: dict, order: str) -> str:
    key = row["firsts"].get(order)
    if key is None:
        return "–"
    g = row["gains"][key]["pooled"]
    return f"{key}: failed" if g is None else f"{key}: {g[0]:+.4f} ± {g[1]:.4f} ({g[0] / g[1]:+.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="run folders, or with --families task folders")
    parser.add_argument("--families", action="store_true", help="the starter with each family of the catalogue")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows, seen = [], set()
    print("| task | script | dev score (train_score) | sign | first tune less | first tune more | first tune, no sign |")
    print("|---|---|---|---|---|---|---|")
    for folder in args.dirs:
        task_dir, scripts = (folder, _family_scripts(load_task(folder))) if args.families else _run_scripts(folder)
        scripts = [(label, code) for label, code in scripts if (task_dir, calls_text(code)) not in seen]
        seen |= {(task_dir, calls_text(code)) for _, code in scripts}
        with tempfile.TemporaryDirectory(prefix="gome-sign-") as scratch:
            found = asyncio.run(measure(task_dir, scripts, args.folds, Path(scratch)))
        for row in found:
            rows.append(row)
            fit = "–" if row["fit_score"] is None else f"{row['fit_score']:.4f}"
            print(f"| {row['task']} | {row['model']} | {row['score']:.4f} ({fit}) | {row['sign']} | "
                  f"{_cell(row, 'less')} | {_cell(row, 'more')} | {_cell(row, 'unclear')} |", flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
