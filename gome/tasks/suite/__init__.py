"""The offline task suite: tasks built from datasets that installed packages ship, with reference ladders."""

from gome.tasks.suite.catalog import SUITE, PrepareResult, get_spec, prepare_suite_task, reference_submission, stored_ladder
from gome.tasks.suite.ladder import LEVELS, Ladder, LevelResult, bootstrap_scores, ladder_leaderboard, make_ladder
from gome.tasks.suite.spec import SourceData, TaskSpec

__all__ = [
    "LEVELS",
    "Ladder",
    "LevelResult",
    "PrepareResult",
    "SUITE",
    "SourceData",
    "TaskSpec",
    "bootstrap_scores",
    "get_spec",
    "ladder_leaderboard",
    "make_ladder",
    "prepare_suite_task",
    "reference_submission",
    "stored_ladder",
]
