"""Final selection: the top candidates across traces are re-scored on dev splits drawn with other
seeds (in parallel within the CPU budget); the best mean wins. A blend competes too: its members run on
each split and their submissions are blended with the blend's weights."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from pathlib import Path

from gome.coordinator import Candidate
from gome.ensemble import blend_submissions
from gome.sandbox import SandboxLimits
from gome.schema import Selection
from gome.tasks import DevSplit, SubmissionError, Task, make_dev_split, score_dev
from gome.tasks._io import read_table
from gome.tools.harness import run_attempt

__all__ = ["select_final"]


async def _rescore(task: Task, candidate: Candidate, split: DevSplit, out: Path, limits: SandboxLimits,
                   slots: asyncio.Semaphore) -> float | None:
    async with slots:
        report, _ = await asyncio.to_thread(run_attempt, candidate.attempt, candidate.code, split.input_dir, out,
                                            lambda path: score_dev(task, split, path), limits)
    return report.score


def _blend_score(task: Task, blend: Candidate, split: DevSplit, root: Path, seed: int) -> float | None:
    """The blend's score on another split, from its members' runs there; None when a member failed."""
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    paths = [root / m.attempt / f"seed{seed}" / "submission.csv" for m in blend.members]
    with contextlib.suppress(SubmissionError):
        out = blend_submissions(task, answers, paths, blend.weights, root / blend.attempt / f"seed{seed}" / "submission.csv")
        return score_dev(task, split, out)
    return None


async def select_final(task: Task, candidates: list[Candidate], seeds: list[int], root: Path,
                       limits: SandboxLimits, slots: asyncio.Semaphore) -> tuple[Candidate, Selection]:
    """Returns the candidate with the best mean dev score over its original split and `seeds`.

    A run that fails on any seed counts as the worst score, so a fragile script cannot win."""
    scores: dict[str, list[float | None]] = {c.attempt: [c.score] for c in candidates}
    if len(candidates) > 1 and seeds:
        splits = {seed: make_dev_split(task, root / f"dev-seed{seed}", seed=seed) for seed in seeds}
        scripts = {m.attempt: m for c in candidates for m in (c.members or (c,))}  # each script runs once per seed
        jobs = [(s, seed) for s in scripts.values() for seed in seeds]
        results = await asyncio.gather(*(
            _rescore(task, s, splits[seed], root / s.attempt / f"seed{seed}", limits, slots) for s, seed in jobs
        ))
        runs = {(s.attempt, seed): score for (s, seed), score in zip(jobs, results)}
        for candidate in candidates:
            for seed in seeds:
                scores[candidate.attempt].append(
                    await asyncio.to_thread(_blend_score, task, candidate, splits[seed], root, seed) if candidate.members
                    else runs[(candidate.attempt, seed)])
    worst = float("inf") if task.lower_is_better else float("-inf")

    def mean(attempt: str) -> float:
        values = scores[attempt]
        return worst if any(v is None for v in values) else statistics.fmean(v for v in values if v is not None)

    ranked = sorted(candidates, key=lambda c: mean(c.attempt), reverse=not task.lower_is_better)
    return ranked[0], Selection(candidates=scores, chosen=ranked[0].attempt)
