"""Final selection: the top candidates across traces are re-scored on extra dev splits (in parallel within the
CPU budget); the best mean wins. The extra splits are the dev split's first extra folds (held-out rows disjoint
from the dev split's, which chose the candidates, and from each other's; a run a close call made there is
reused), or, where there are none (a time-ordered split), dev splits drawn with other seeds. A blend competes
too: its members run on each split and their submissions are blended with the blend's weights. Where there are
extra splits, a blend is ranked by its scores there only: its dev score is out of fold, the score of weights
searched on half the dev rows, below the blend it submits (weights searched on all of them) by as much as 0.024
AUC on lending-club, whose dev split has few positives (BENCHMARKS.md, stop 27)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
from collections.abc import Callable
from pathlib import Path

from gome.coordinator import Candidate
from gome.ensemble import blend_submissions
from gome.sandbox import SandboxLimits
from gome.schema import Selection
from gome.tasks import DevSplit, SubmissionError, Task, score_dev
from gome.tasks._io import read_table
from gome.tools.harness import run_attempt

__all__ = ["select_final", "Kept"]

# a run kept from the search: (attempt id, split label) -> its folder with submission.csv and score.txt, or None
Kept = Callable[[str, str], "Path | None"]


def _never(attempt: str, label: str) -> Path | None:
    return None


async def _rescore(task: Task, candidate: Candidate, split: DevSplit, out: Path, limits: SandboxLimits,
                   slots: asyncio.Semaphore) -> float | None:
    async with slots:
        report, _ = await asyncio.to_thread(run_attempt, candidate.attempt, candidate.code, split.input_dir, out,
                                            lambda path: score_dev(task, split, path), limits)
    return report.score


def _blend_score(task: Task, blend: Candidate, split: DevSplit, folder: Callable[[str], Path], out: Path) -> float | None:
    """The blend's score on another split, from its members' runs there; None when a member failed."""
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    paths = [folder(m.attempt) / "submission.csv" for m in blend.members]
    with contextlib.suppress(SubmissionError):
        return score_dev(task, split, blend_submissions(task, answers, paths, blend.weights, out / "submission.csv"))
    return None


async def select_final(task: Task, candidates: list[Candidate], splits: dict[str, DevSplit], root: Path,
                       limits: SandboxLimits, slots: asyncio.Semaphore, kept: Kept = _never) -> tuple[Candidate, Selection]:
    """Returns the candidate with the best mean dev score over its original split and `splits` (label -> split;
    runs go to root/<attempt>/<label>/ unless `kept` has one); a blend's over `splits` only, where there are any.

    A run that fails on any split counts as the worst score, so a fragile script cannot win."""
    scores: dict[str, list[float | None]] = {c.attempt: [c.score] for c in candidates}
    if len(candidates) > 1 and splits:
        scripts = {m.attempt: m for c in candidates for m in (c.members or (c,))}  # each script runs once per split
        reused = {(a, label): path for a in scripts for label in splits if (path := kept(a, label)) is not None}

        def folder(attempt: str, label: str) -> Path:
            return reused.get((attempt, label), root / attempt / label)

        jobs = [(s, label) for s in scripts.values() for label in splits if (s.attempt, label) not in reused]
        results = await asyncio.gather(*(
            _rescore(task, s, splits[label], folder(s.attempt, label), limits, slots) for s, label in jobs))
        runs = {(s.attempt, label): score for (s, label), score in zip(jobs, results)}
        runs |= {key: float((path / "score.txt").read_text()) for key, path in reused.items()}
        for candidate in candidates:
            for label, split in splits.items():
                scores[candidate.attempt].append(
                    await asyncio.to_thread(_blend_score, task, candidate, split, lambda a: folder(a, label),
                                            root / candidate.attempt / label) if candidate.members
                    else runs[(candidate.attempt, label)])
    worst = float("inf") if task.lower_is_better else float("-inf")

    def mean(candidate: Candidate) -> float:
        values = scores[candidate.attempt]
        values = values[1:] if candidate.members and len(values) > 1 else values
        return worst if any(v is None for v in values) else statistics.fmean(v for v in values if v is not None)

    means = {c.attempt: mean(c) for c in candidates}
    ranked = sorted(candidates, key=lambda c: means[c.attempt], reverse=not task.lower_is_better)
    return ranked[0], Selection(candidates=scores, chosen=ranked[0].attempt,
                                means={k: v if math.isfinite(v) else None for k, v in means.items()})
