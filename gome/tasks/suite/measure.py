"""Run every reference level of a prepared task, score it on the test split and build its ladder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from gome.tasks._io import read_table
from gome.tasks.grading import score_submission
from gome.tasks.submission import read_submission, validate_submission
from gome.tasks.suite.catalog import reference_submission
from gome.tasks.suite.ladder import LEVELS, Ladder, LevelResult, bootstrap_scores, make_ladder, pair_errors
from gome.tasks.suite.spec import TaskSpec
from gome.tasks.task import Task
from gome.tasks.verify import file_digest

__all__ = ["ladder_from_submissions", "measure_ladder"]


def measure_ladder(task: Task, work_dir: Path, spec: TaskSpec | None = None,
                   on_level: Callable[[str, float, float], None] | None = None) -> Ladder:
    """Write each level's submission to `work_dir/<level>.csv`, time it, then score and bootstrap them all."""
    seconds = {}
    for level in LEVELS:
        start = time.perf_counter()
        submission = reference_submission(task, level, spec)
        seconds[level] = round(time.perf_counter() - start, 1)
        path = Path(work_dir) / f"{level}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        submission.to_csv(path, index=False, lineterminator="\n")
        if on_level is not None:
            on_level(level, score_submission(task, path, task.answers_path), seconds[level])
    return ladder_from_submissions(task, work_dir, seconds)


def ladder_from_submissions(task: Task, work_dir: Path, seconds: dict[str, float]) -> Ladder:
    """Score the level submissions in `work_dir` and bootstrap them on shared resamples into a ladder."""
    answers = read_table(task.answers_path, task.id_column).reset_index(drop=True)
    paths = {level: Path(work_dir) / f"{level}.csv" for level in LEVELS}
    aligned = {level: validate_submission(task, read_submission(task, p), answers) for level, p in paths.items()}
    boot = bootstrap_scores(task, answers, aligned)
    levels = {
        level: LevelResult(score=round(score_submission(task, paths[level], task.answers_path), 5),
                           se=round(float(boot[level].std(ddof=1)), 5), seconds=seconds[level])
        for level in LEVELS
    }
    return make_ladder(task, levels, pair_errors(boot), file_digest(task.answers_path))
