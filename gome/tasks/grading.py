"""Grading against private answers with Kaggle medal thresholds, as `mlebench grade-sample` does."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from gome.tasks._io import read_table
from gome.tasks.errors import SubmissionError
from gome.tasks.leaderboard import read_leaderboard
from gome.tasks.submission import read_submission, validate_submission
from gome.tasks.task import Task

__all__ = ["GradeReport", "MedalThresholds", "grade_submission", "medal_thresholds", "normalized_score", "score_submission"]


class MedalThresholds(BaseModel):
    """Scores needed for each medal and the leaderboard median."""

    model_config = ConfigDict(frozen=True)

    gold: float
    silver: float
    bronze: float
    median: float


class GradeReport(BaseModel):
    """The fields of `mlebench grade-sample`, plus `error` ("" when none) and `normalized_score`."""

    model_config = ConfigDict(frozen=True)

    competition_id: str
    score: float | None
    gold_threshold: float
    silver_threshold: float
    bronze_threshold: float
    median_threshold: float
    any_medal: bool
    gold_medal: bool
    silver_medal: bool
    bronze_medal: bool
    above_median: bool
    submission_exists: bool
    valid_submission: bool
    is_lower_better: bool
    created_at: str
    submission_path: str
    error: str = ""
    normalized_score: float | None = None
    grader: str = "gome"  # or "mlebench:<module>:<function>", the competition's own grade function


def _positions(n: int) -> tuple[int, int, int]:
    """1-based leaderboard positions of the gold, silver and bronze thresholds, as mlebench's
    `Grader.rank_score` takes them (kaggle.com/progression): 1-99, 100-249, 250-999 and 1000+ teams."""
    if n < 1:
        raise ValueError("a leaderboard needs at least one team")
    if n < 100:
        return max(1, int(n * 0.1)), max(1, int(n * 0.2)), max(1, int(n * 0.4))
    if n < 250:
        return 10, max(1, int(n * 0.2)), max(1, int(n * 0.4))
    if n < 1000:
        return 10 + int(n * 0.002), 50, 100
    return 10 + int(n * 0.002), max(1, int(n * 0.05)), max(1, int(n * 0.1))


def medal_thresholds(scores: Sequence[float], lower_is_better: bool) -> MedalThresholds:
    """Medal thresholds of a leaderboard (any order); ranks best first in the metric's direction."""
    ranked = np.sort(np.asarray(scores, dtype=float))
    if not lower_is_better:
        ranked = ranked[::-1]
    gold, silver, bronze = _positions(len(ranked))
    return MedalThresholds(
        gold=float(ranked[gold - 1]),
        silver=float(ranked[silver - 1]),
        bronze=float(ranked[bronze - 1]),
        median=float(np.median(ranked)),
    )


def _medals(score: float | None, t: MedalThresholds, lower: bool) -> dict[str, bool]:
    if score is None:
        return dict(gold_medal=False, silver_medal=False, bronze_medal=False, above_median=False)

    def reaches(threshold: float) -> bool:
        return score <= threshold if lower else score >= threshold

    gold = reaches(t.gold)
    silver = not gold and reaches(t.silver)
    bronze = not gold and not silver and reaches(t.bronze)
    above = score < t.median if lower else score > t.median
    return dict(gold_medal=gold, silver_medal=silver, bronze_medal=bronze, above_median=above)


def normalized_score(task: Task, score: float | None) -> float | None:
    """(score - dummy) / (expert - dummy) from the task's reference scores; None without a ladder."""
    refs = task.reference_scores
    if score is None or "dummy" not in refs or "expert" not in refs or refs["expert"] == refs["dummy"]:
        return None
    return round((score - refs["dummy"]) / (refs["expert"] - refs["dummy"]), 4)


def score_submission(task: Task, submission_path: Path | str, answers_path: Path) -> float:
    """Validate and score a submission file against an answers file; raises SubmissionError."""
    answers = read_table(answers_path, task.id_column).reset_index(drop=True)
    aligned = validate_submission(task, read_submission(task, submission_path), answers)
    return task.metric_spec.score(answers, aligned, task)


def _score(task: Task, path: Path) -> tuple[float | None, str, str]:
    """(score, error, grader): the competition's own grade function when mlebench can run it, else gome's."""
    from gome.tasks.mlebench import mlebench_score

    external = mlebench_score(task, path)
    if external is not None:
        score, error, grade_fn = external
        return score, error, f"mlebench:{grade_fn}"
    try:
        return round(score_submission(task, path, task.answers_path), 5), "", "gome"
    except SubmissionError as exc:
        return None, str(exc), "gome"


def grade_submission(task: Task, submission_path: Path | str) -> GradeReport:
    """Grade a submission against private/answers.csv; an invalid one gives score None, not an error.

    An adopted MLE-bench competition is scored by its own grade function when mlebench is importable
    (`grader` then says `mlebench:<module>:<function>`); medals follow mlebench's rank rules either way."""
    path = Path(submission_path)
    board = read_leaderboard(task.leaderboard_path)
    thresholds = medal_thresholds(board["score"].tolist(), task.lower_is_better)
    score, error, grader = _score(task, path)
    medals = _medals(score, thresholds, task.lower_is_better)
    return GradeReport(
        competition_id=task.name,
        score=score,
        gold_threshold=thresholds.gold,
        silver_threshold=thresholds.silver,
        bronze_threshold=thresholds.bronze,
        median_threshold=thresholds.median,
        any_medal=medals["gold_medal"] or medals["silver_medal"] or medals["bronze_medal"],
        submission_exists=path.is_file(),
        valid_submission=score is not None,
        is_lower_better=task.lower_is_better,
        created_at=datetime.now(timezone.utc).isoformat(),
        submission_path=str(path),
        error=error,
        normalized_score=normalized_score(task, score),
        grader=grader,
        **medals,
    )
