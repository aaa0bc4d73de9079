"""Does the gradient's sign pick better tunes? The first tune offered in the order of the fit's sign, against the
first tune of the catalogue's order (what a diagnosis without a sign, or the no-diagnosis ablation, gets) and the
first tune the other way (swaps to a stronger family come before tunes in every order).

For the first working draft of each run given (deduplicated by script), the script's validation block is brought
up to the current starter's (which prints train_score), it runs on the run's dev split, and the harness reads its
fit (gome.agents.views.fit_capacity: less where it overfits, else more). The first tune of each order
(gome.tools.moves.offer with capacity less, more, unclear) is made on the script, and each distinct tune's gain
over the draft is measured on the dev split and pooled over the extra folds, as a close call is
(gome.tools.folds). The same for the draft with its first swap made, where its first move is one. No model is
called: the moves are the harness's exact edits.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/capacity_sign.py [--folds 4] [--json OUT] RUN_DIR [RUN_DIR ...]
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
from gome.tasks import load_task, make_dev_split, score_dev
from gome.tasks.evidence import submission_evidence
from gome.tasks.metrics import get_metric
from gome.tasks.starter import starter_script
from gome.tools.estimators import calls_text
from gome.tools.folds import Folds
from gome.tools.harness import run_attempt
from gome.tools.hints import add_missing_imports
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


async def measure(run_dir: Path, folds: int, scratch: Path) -> list[dict]:
    """Rows for the run's first draft and, where its first move is a swap to a stronger family, for the draft
    with that swap made (the script whose tunes a trace tries next)."""
    config = RunConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    task, limits = load_task(config.task_dir), limits_of(config.model_copy(update={"threads": 1}))
    draft = _draft(run_dir)
    code = _retailed(draft, starter_script(task)) if draft else None
    if code is None:
        return []
    split = make_dev_split(task, scratch / "dev", seed=config.seed, holdout=config.holdout)
    splits = [make_dev_split(task, scratch / f"fold{k}", seed=config.seed, holdout=config.holdout, fold=k)
              for k in range(1, folds + 1)]
    checker = Folds(task, splits, scratch / "folds", limits)
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
                         if not m.key.startswith("use ")), None)
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
            pooled = await checker.gain((name, script), (label, base), (gain, first.gain_se or 0.0), asyncio.Semaphore(1), folds)
            gains[move.key] = {"capacity": move.capacity, "dev": gain, "dev_se": first.gain_se, "pooled": pooled}
        return {"run": run_dir.name, "task": task.name, "script": label, "model": calls_text(base)[:60],
                "score": score, "fit_score": ev.fit_score, "self_score": ev.self_score, "noise": ev.noise,
                "sign": fit_capacity(ev, task.lower_is_better), "firsts": firsts, "gains": gains}

    rows = [await tunes("draft", code)]
    swap = next(iter(offer(code, catalogue, [])), None)
    swapped = apply_move(code, swap) if swap is not None and swap.key.startswith("use ") else None
    if swapped is not None:
        rows.append(await tunes("swapped", add_missing_imports(swapped)[0]))
    return [r for r in rows if r is not None]


def _cell(row: dict, order: str) -> str:
    key = row["firsts"].get(order)
    if key is None:
        return "–"
    g = row["gains"][key]["pooled"]
    return f"{key}: failed" if g is None else f"{key}: {g[0]:+.4f} ± {g[1]:.4f} ({g[0] / g[1]:+.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows, seen = [], set()
    print("| run | script | model | dev score (train_score) | sign | first tune, the sign's way | first tune, no sign | "
          "first tune, the other way |")
    print("|---|---|---|---|---|---|---|---|")
    for run_dir in args.runs:
        draft = _draft(run_dir)
        if draft is None or draft in seen:
            continue
        seen.add(draft)
        with tempfile.TemporaryDirectory(prefix="gome-sign-") as scratch:
            found = asyncio.run(measure(run_dir, args.folds, Path(scratch)))
        for row in found:
            rows.append(row)
            other = {"less": "more", "more": "less"}.get(row["sign"], "unclear")
            fit = "–" if row["fit_score"] is None else f"{row['fit_score']:.4f}"
            print(f"| {row['run']} | {row['script']} | {row['model']} | {row['score']:.4f} ({fit}) | {row['sign']} | "
                  f"{_cell(row, row['sign'])} | {_cell(row, 'unclear')} | {_cell(row, other)} |", flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
