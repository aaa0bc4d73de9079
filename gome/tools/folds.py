"""Extra dev folds: more held-out rows for a close call.

A gain within the noise of one dev split may be real and too small for that split's rows, or noise. An
update whose gain over the best is positive but within the acceptance margin runs again, with the best,
on extra folds whose held-out rows are disjoint from the dev split's and from each other; the gains of
all splits are pooled (gome.tasks.evidence.pooled_gain) and the acceptance test decides on the pooled
gain. Each attempt runs once per fold: the best's runs are kept and reused by the next close call.
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

    def _run(self, attempt_id: str, code: str, split: DevSplit) -> Path | None:
        """The attempt's submission on a fold (run once, then reused); None when the run gave no valid one."""
        out = self.root / attempt_id / f"fold{split.fold}"
        if (out / "score.txt").is_file():
            return out / "submission.csv"
        report, _ = run_attempt(attempt_id, code, split.input_dir, out, lambda path: score_dev(self.task, split, path),
                                self.limits)
        if report.score is None:
            return None
        (out / "score.txt").write_text(repr(report.score))
        return out / "submission.csv"

    async def gain(self, new: tuple[str, str], best: tuple[str, str], first: tuple[float, float],
                   slots: asyncio.Semaphore) -> tuple[float, float] | None:
        """The gain of `new` over `best` (each: attempt id, code) pooled over the dev split (`first`: its gain
        and standard error) and the folds, with its standard error; None when a run on a fold failed."""
        async def run(attempt: tuple[str, str], split: DevSplit) -> Path | None:
            async with slots:
                return await asyncio.to_thread(self._run, *attempt, split)

        subs = await asyncio.gather(*(run(a, s) for s in self.splits for a in (new, best)))
        gains, ses = [first[0]], [first[1]]
        for split, ours, theirs in zip(self.splits, subs[::2], subs[1::2]):
            measured = None if ours is None or theirs is None else await asyncio.to_thread(
                fold_gain, self.task, split, ours, theirs)
            if measured is None:
                return None
            gains.append(measured[0])
            ses.append(measured[1])
        return pooled_gain(gains, ses)
