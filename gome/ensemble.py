"""The ensemble stage: the best valid attempts of all traces are blended on the dev split (gome.tasks.blend)
and the blend becomes a candidate when its out-of-fold gain over the best single script passes the same
acceptance test as any update. Where the final selection re-scores on extra splits (`ties`), a blend within
the noise is a candidate too, whatever the sign of its gain: its score is out of fold, while the best single
script's is the best of several on the same dev rows (chosen there, so lucky there), and the members' runs on
the other splits judge both alike (of 13 blends turned away when a positive gain was asked for, 12 scored
better on the test than the script chosen instead: BENCHMARKS.md, stop 27). A blend worse by more than the
margin is rejected. A blend's submission on another split, or on the real test, is the blend of its members'
submissions there."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gome.coordinator import Candidate
from gome.schema import BLEND_ID, Blended
from gome.tasks import DevSplit, Task
from gome.tasks._io import read_table, write_table
from gome.tasks.blend import combine, cross_fitted, search_weights
from gome.tasks.errors import SubmissionError
from gome.tasks.evidence import aligned_predictions, paired_gain, prediction_change
from gome.tools.rundir import atomic_write

__all__ = ["BLEND_ID", "try_blend", "blend_submissions", "ensemble_summary"]


def _aligned(task: Task, ids: pd.DataFrame, path: Path) -> pd.DataFrame | None:
    with contextlib.suppress(SubmissionError):
        return aligned_predictions(task, ids, path)
    return None


def blend_submissions(task: Task, ids: pd.DataFrame, paths: Sequence[Path], weights: Sequence[float], out: Path) -> Path:
    """Writes the blend of the submissions at `paths` (in the id order of `ids`) to `out`; SubmissionError
    when any of them is missing or invalid."""
    frames = [aligned_predictions(task, ids, path) for path in paths]
    write_table(combine(task, frames, weights), out)
    return out


def _distinct(task: Task, answers: pd.DataFrame, pool: Sequence[Candidate],
              submission_of: Callable[[Candidate], Path]) -> tuple[list[Candidate], list[pd.DataFrame]]:
    """The pool's attempts with valid dev predictions that differ from every better attempt's."""
    members: list[Candidate] = []
    frames: list[pd.DataFrame] = []
    for candidate in pool:
        frame = _aligned(task, answers, submission_of(candidate))
        if frame is not None and all(prediction_change(task, frame, other)[0] > 0 for other in frames):
            members.append(candidate)
            frames.append(frame)
    return members, frames


def _verdict(gain: float, se: float, accept_z: float, kept: int, ties: bool) -> tuple[bool, bool, str]:
    """(accepted, a final candidate, why)."""
    if kept < 2:
        return False, False, "the weight search kept only the best script: no blend of these beats it on dev"
    measured = f"{gain:+.4g} ± {se:.2g} out of fold"
    if math.isfinite(se) and gain > 0 and gain > accept_z * se:
        return True, True, f"better by {measured}: accepted"
    if not gain > -accept_z * se:
        return False, False, f"{measured}: worse, rejected"
    if ties and math.isfinite(se):
        return False, True, f"{measured}: within noise (needs > {accept_z:g} SE), a final candidate: the extra splits judge it"
    return False, False, f"{measured}: within noise (needs > {accept_z:g} SE), rejected"


def try_blend(task: Task, split: DevSplit, pool: Sequence[Candidate], submission_of: Callable[[Candidate], Path],
              out: Path, accept_z: float, seed: int = 0, ties: bool = False) -> tuple[Candidate | None, Blended]:
    """Blends the pool's attempts (best first) on the dev split. Returns the blend as a candidate when it
    passed the acceptance test, or with `ties` when its gain is within noise (its dev submission
    and blend.json written to `out`), and the event."""
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    members, frames = _distinct(task, answers, pool, submission_of)
    tried = [m.attempt for m in members]
    best = tried[0] if tried else None
    if len(members) < 2:
        return None, Blended(weights={}, tried=tried, best_single=best, score=None,
                             reason="fewer than two valid scripts with different dev predictions")
    weights = search_weights(task, answers, frames)
    oof = cross_fitted(task, answers, frames, seed)
    gain, se = paired_gain(task, answers, oof, frames[0], seed=seed)
    score = float(task.metric_spec.score(answers, oof, task))
    kept = [(m, float(w)) for m, w in zip(members, weights) if w > 0]
    accepted, contender, reason = _verdict(gain, se, accept_z, len(kept), ties)
    event = Blended(weights={m.attempt: round(w, 4) for m, w in kept}, tried=tried, best_single=best, score=score,
                    gain=gain, gain_se=se if math.isfinite(se) else None, accepted=accepted, contender=contender,
                    reason=reason)
    if not contender:
        return None, event
    out.mkdir(parents=True, exist_ok=True)
    write_table(combine(task, frames, weights), out / "submission.csv")
    atomic_write(out / "blend.json", event.model_dump_json(indent=2))
    blend = Candidate(attempt=BLEND_ID, trace=-1, score=score, code="", members=tuple(m for m, _ in kept),
                      weights=tuple(w for _, w in kept))
    return blend, event


def ensemble_summary(task: Task, blend: Candidate, member_scores: dict[str, float | None], score: float | None,
                     normalized: Callable[[float | None], float | None]) -> dict[str, Any]:
    """What RunFinished records of a chosen blend: members' weights and test scores, and the blend's gain
    over its best member by dev score (the script gome would have submitted without the ensemble stage)."""
    best = blend.members[0].attempt
    sign = -1.0 if task.lower_is_better else 1.0
    base = member_scores.get(best)
    gain = sign * (score - base) if score is not None and base is not None else None
    n_score, n_base = normalized(score), normalized(base)
    return {"members": {m.attempt: {"weight": round(w, 4), "test_score": member_scores.get(m.attempt)}
                        for m, w in zip(blend.members, blend.weights)},
            "best_member": best, "gain": gain,
            "normalized_gain": n_score - n_base if n_score is not None and n_base is not None else None}

