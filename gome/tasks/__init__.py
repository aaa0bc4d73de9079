"""Tasks: MLE-bench style task folders, metrics, submission checks, grading, dev splits, bundled tasks."""

from gome.tasks.bundled import BUNDLED, TaskFiles, prepare_task, write_task
from gome.tasks.byod import new_task
from gome.tasks.devsplit import DevSplit, make_dev_split, score_dev
from gome.tasks.errors import GomeUserError, SubmissionError, TaskError
from gome.tasks.grading import (
    GradeReport,
    MedalThresholds,
    grade_submission,
    medal_thresholds,
    normalized_score,
    score_submission,
)
from gome.tasks.leaderboard import read_leaderboard
from gome.tasks.metrics import METRICS, Metric, get_metric, prediction_columns
from gome.tasks.shape import SplitShape, split_shape
from gome.tasks.submission import read_submission, validate_submission
from gome.tasks.suite import LEVELS, SUITE, prepare_suite_task, reference_submission
from gome.tasks.summary import task_description, task_summary
from gome.tasks.task import Task, TaskConfig, load_task
from gome.tasks.verify import ChecksumError, verify_task

__all__ = [
    "BUNDLED",
    "ChecksumError",
    "LEVELS",
    "SUITE",
    "new_task",
    "normalized_score",
    "prepare_suite_task",
    "reference_submission",
    "verify_task",
    "DevSplit",
    "GomeUserError",
    "GradeReport",
    "METRICS",
    "MedalThresholds",
    "Metric",
    "SplitShape",
    "SubmissionError",
    "Task",
    "TaskConfig",
    "TaskError",
    "TaskFiles",
    "get_metric",
    "grade_submission",
    "load_task",
    "make_dev_split",
    "medal_thresholds",
    "prediction_columns",
    "prepare_task",
    "read_leaderboard",
    "read_submission",
    "score_dev",
    "score_submission",
    "split_shape",
    "task_summary",
    "task_description",
    "validate_submission",
    "write_task",
]
