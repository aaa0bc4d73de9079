"""Medal ladders from reference levels: bootstrap errors, the gate, thresholds, and a Kaggle-style leaderboard.

Median = default, bronze = tuned, silver = expert, gold = expert improved by one bootstrap SE (at most half
the distance to a perfect score). The leaderboard has 100 teams, placed so that the Kaggle rules that
`medal_thresholds` applies (gold = 10th, silver = 20th, bronze = 40th team, median of all) give exactly these
thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from gome.tasks.grading import MedalThresholds
from gome.tasks.task import Task

__all__ = ["LEVELS", "Ladder", "LevelResult", "bootstrap_scores", "ladder_leaderboard", "make_ladder", "pair_errors"]

LEVELS = ("dummy", "default", "tuned", "expert")
BOOTSTRAP = 200
# rank ranges (1-based, inclusive) of a 100-team board: gold, silver, bronze, median, the rest
_BLOCKS = (("gold", 1, 10), ("expert", 11, 20), ("tuned", 21, 40), ("default", 41, 60), ("dummy", 61, 100))


class LevelResult(BaseModel):
    """One reference level on the test split: score, bootstrap standard error, wall-clock seconds."""

    model_config = ConfigDict(frozen=True)

    score: float
    se: float
    seconds: float


class Ladder(BaseModel):
    """The reference levels of a task, its medal thresholds, and whether adjacent levels are separable."""

    model_config = ConfigDict(frozen=True)

    task: str
    metric: str
    lower_is_better: bool
    answers_sha256: str
    levels: dict[str, LevelResult]
    thresholds: MedalThresholds
    pair_se: dict[str, float] = {}
    gate: dict[str, bool]
    crowded: bool

    @property
    def scores(self) -> dict[str, float]:
        return {name: result.score for name, result in self.levels.items()}


def bootstrap_scores(task: Task, answers: pd.DataFrame, aligned: dict[str, pd.DataFrame],
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Metric scores of each submission on the same BOOTSTRAP resamples of the test rows."""
    rng = np.random.default_rng(seed)
    n = len(answers)
    scores: dict[str, list[float]] = {name: [] for name in aligned}
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, n, size=n)
        truth = answers.iloc[rows].reset_index(drop=True)
        try:
            row = {k: task.metric_spec.score(truth, v.iloc[rows].reset_index(drop=True), task) for k, v in aligned.items()}
        except ValueError:  # a resample without some class
            continue
        for name, value in row.items():
            scores[name].append(value)
    return {name: np.asarray(values, dtype=float) for name, values in scores.items()}


def pair_errors(boot: dict[str, np.ndarray]) -> dict[str, float]:
    """Bootstrap SE of the score difference of each pair of adjacent levels (paired resamples)."""
    return {f"{a}<{b}": round(float(np.std(boot[b] - boot[a], ddof=1)), 5) for a, b in zip(LEVELS, LEVELS[1:])}


def _better(a: float, b: float, lower: bool) -> float:
    return min(a, b) if lower else max(a, b)


def _thresholds(levels: dict[str, LevelResult], metric_best: float, lower: bool) -> MedalThresholds:
    """Monotone thresholds: a level that fails to beat the one below takes the lower level's score."""
    median = levels["default"].score
    bronze = _better(levels["tuned"].score, median, lower)
    silver = _better(levels["expert"].score, bronze, lower)
    room = abs(metric_best - silver) / 2
    step = min(levels["expert"].se, room)
    gold = silver - step if lower else silver + step
    return MedalThresholds(gold=round(gold, 5), silver=round(silver, 5), bronze=round(bronze, 5),
                           median=round(median, 5))


def _gate(levels: dict[str, LevelResult], pair_se: dict[str, float], lower: bool) -> dict[str, bool]:
    """`a<b` passes when b beats a by at least the bootstrap SE of their (paired) difference."""
    gate = {}
    for low, high in zip(LEVELS, LEVELS[1:]):
        a, b = levels[low].score, levels[high].score
        gain = a - b if lower else b - a
        gate[f"{low}<{high}"] = bool(gain > 0 and gain >= pair_se[f"{low}<{high}"])
    return gate


def make_ladder(task: Task, levels: dict[str, LevelResult], pair_se: dict[str, float],
                answers_sha256: str) -> Ladder:
    """A ladder from measured levels (keys: LEVELS) and the paired SEs of adjacent levels."""
    lower = task.lower_is_better
    best = 0.0 if lower else 1.0
    gate = _gate(levels, pair_se, lower)
    return Ladder(task=task.name, metric=task.metric, lower_is_better=lower, answers_sha256=answers_sha256,
                  levels=levels, thresholds=_thresholds(levels, best, lower), pair_se=pair_se, gate=gate,
                  crowded=not all(gate.values()))


def ladder_leaderboard(thresholds: MedalThresholds, dummy: float, lower: bool) -> pd.DataFrame:
    """A 100-team leaderboard whose Kaggle thresholds are exactly `thresholds` (dummy fills the bottom)."""
    dummy = max(dummy, thresholds.median) if lower else min(dummy, thresholds.median)
    value = {"gold": thresholds.gold, "expert": thresholds.silver, "tuned": thresholds.bronze,
             "default": thresholds.median, "dummy": dummy}
    rows = [{"teamName": f"{name}-{rank:03d}", "score": value[name]}
            for name, first, last in _BLOCKS for rank in range(first, last + 1)]
    return pd.DataFrame(rows)
