"""Final selection: the top candidates across traces are re-scored on dev splits drawn with other
seeds (in parallel within the CPU budget); the best mean wins."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from gome.coordinator import Candidate
from gome.sandbox import SandboxLimits
from gome.schema import Selection
from gome.tasks import DevSplit, Task, make_dev_split, score_dev
from gome.tools.harness import run_attempt

__all__ = ["select_final"]


async def _rescore(task: Task, candidate: Candidate, split: DevSplit, out: Path, limits: SandboxLimits,
                   slots: asyncio.Semaphore) -> float | None:
    async with slots:
        report, _ = await asyncio.to_thread(run_attempt, candidate.attempt, candidate.code, split.input_dir, out,
                                            lambda path: score_dev(task, split, path), limits)
    return report.score


async def select_final(task: Task, candidates: list[Candidate], seeds: list[int], root: Path,
                       limits: SandboxLimits, slots: asyncio.Semaphore) -> tuple[Candidate, Selection]:
    """Returns the candidate with the best mean dev score over its original split and `seeds`.

    A run that fails on any seed counts as the worst score, so a fragile script cannot win."""
    scores: dict[str, list[float | None]] = {c.attempt: [c.score] for c in candidates}
    if len(candidates) > 1 and seeds:
        splits = {seed: make_dev_split(task, root / f"dev-seed{seed}", seed=seed) for seed in seeds}
        jobs = [(c, seed) for c in candidates for seed in seeds]
        results = await asyncio.gather(*(
            _rescore(task, c, splits[seed], root / c.attempt / f"seed{seed}", limits, slots) for c, seed in jobs
        ))
        for (candidate, _), score in zip(jobs, results):
            scores[candidate.attempt].append(score)
    worst = float("inf") if task.lower_is_better else float("-inf")

    def mean(attempt: str) -> float:
        values = scores[attempt]
        return worst if any(v is None for v in values) else statistics.fmean(v for v in values if v is not None)

    ranked = sorted(candidates, key=lambda c: mean(c.attempt), reverse=not task.lower_is_better)
    return ranked[0], Selection(candidates=scores, chosen=ranked[0].attempt)
