"""Extra dev folds: more held-out rows for a close call.

A gain within the noise of one dev split may be real and too small for that split's rows, or noise; a
gain just above it may belong to that split alone (the bootstrap resamples its rows, not the fit of the
models on other rows: two of eight such gains in the benchmark's cells at 1dc8c8a, 2.0-2.5 standard
errors on the dev split, were lost on the selection's extra splits). An update whose gain over the best
is positive and under `z` standard errors of the dev split's paired estimate runs again, with the best,
on extra folds whose held-out rows are disjoint from the dev split's and from each other; the gains of
all splits are pooled (gome.tasks.evidence.pooled_gain) and the acceptance test decides on the pooled
gain. Each attempt runs once per fold: the best's runs are kept and reused by the next close call. A close
call gets only as many folds as its runs fit in `time_s` (estimated from the two scripts' run times on the
dev split): a slow script is measured on fewer folds, or on none, instead of stalling the search.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from gome.sandbox import SandboxLimits
from gome.tasks import DevSplit, Task, score_dev
from gome.tasks.evidence import fold_gain, pooled_gain
from gome.tools.harness import run_attempt

__all__ = ["Folds"]


@dataclass(frozen=True)
class Folds:
    task: Task
    splits: list[DevSplit]  # the extra folds (DevSplit.fold 1, 2, ...)
    root: Path  # runs on fold k of attempt A are kept in root/A/fold<k>/
    limits: SandboxLimits
    time_s: float = float("inf")  # what the fold runs of one close call may take (wall time, estimated)
    parallel: int = 1  # runs at once (the CPU budget's execution slots)
    z: float = 4.0  # a positive gain under this many standard errors of the dev split's estimate is measured here

    def wanted(self, gain: float, se: float, margin: float) -> bool:
        """Whether a gain over the best (with its dev split's standard error, and the acceptance margin) is
        measured again on the folds: positive, and within the margin or under `z` standard errors."""
        return 0 < gain and (gain <= margin or gain < self.z * se)

    def _out(self, attempt_id: str, split: DevSplit) -> Path:
        return self.root / attempt_id / f"fold{split.fold}"

    def count(self, new_s: float, best_id: str, best_s: float) -> int:
        """How many folds a close call gets: the most whose runs (the new script's, and the best's where not
        kept from an earlier close call), `parallel` at a time, are estimated to fit in `time_s`."""
        spent = 0.0
        for k, split in enumerate(self.splits):
            cached = (self._out(best_id, split) / "score.txt").is_file()
            spent += (new_s + (0.0 if cached else best_s)) / self.parallel
            if spent > self.time_s:
                return k
        return len(self.splits)

    def _run(self, attempt_id: str, code: str, split: DevSplit) -> Path | None:
        """The attempt's submission on a fold (run once, then reused); None when the run gave no valid one."""
        out = self._out(attempt_id, split)
        if (out / "score.txt").is_file():
            return out / "submission.csv"
        report, _ = run_attempt(attempt_id, code, split.input_dir, out, lambda path: score_dev(self.task, split, path),
                                self.limits)
        if report.score is None:
            return None
        (out / "score.txt").write_text(repr(report.score))
        return out / "submission.csv"

    async def gain(self, new: tuple[str, str], best: tuple[str, str], first: tuple[float, float],
                   slots: asyncio.Semaphore, folds: int) -> tuple[float, float] | None:
        """The gain of `new` over `best` (each: attempt id, code) pooled over the dev split (`first`: its gain
        and standard error) and the first `folds` folds, with its standard error; None when a run on a fold
        failed."""
        async def run(attempt: tuple[str, str], split: DevSplit) -> Path | None:
            async with slots:
                return await asyncio.to_thread(self._run, *attempt, split)

        splits = self.splits[:folds]
        subs = await asyncio.gather(*(run(a, s) for s in splits for a in (new, best)))
        gains, ses = [first[0]], [first[1]]
        for split, ours, theirs in zip(splits, subs[::2], subs[1::2]):
            measured = None if ours is None or theirs is None else await asyncio.to_thread(
                fold_gain, self.task, split, ours, theirs)
            if measured is None:
                return None
            gains.append(measured[0])
            ses.append(measured[1])
        return pooled_gain(gains, ses)
