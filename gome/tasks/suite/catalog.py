"""The task suite: specs by name, preparation with the shipped ladders, and reference solutions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from gome.tasks.bundled import TaskFiles, write_task
from gome.tasks.errors import TaskError
from gome.tasks.metrics import get_metric
from gome.tasks.suite.assemble import assemble
from gome.tasks.suite.ladder import LEVELS, Ladder, ladder_leaderboard
from gome.tasks.suite.ladders_data import LADDERS
from gome.tasks.suite.problem import load_problem
from gome.tasks.suite.special import SPECIAL
from gome.tasks.suite.spec import TaskSpec
from gome.tasks.suite.tabular import TABULAR
from gome.tasks.task import Task
from gome.tasks.verify import file_digest

__all__ = ["SUITE", "PrepareResult", "generic_spec", "get_spec", "prepare_suite_task", "reference_submission", "stored_ladder"]

SUITE: dict[str, TaskSpec] = {spec.name: spec for spec in (*TABULAR, *SPECIAL)}


class PrepareResult(BaseModel):
    """A prepared suite task: where, how long it took, and whether its shipped ladder matches its data."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    seconds: float
    ladder: Literal["ok", "missing", "stale"]


def get_spec(name: str) -> TaskSpec:
    """The suite task called `name`; TaskError listing the known ones otherwise."""
    if name not in SUITE:
        raise TaskError(f"unknown suite task {name!r}; known tasks: {', '.join(sorted(SUITE))}")
    return SUITE[name]


def stored_ladder(name: str) -> Ladder | None:
    """The ladder shipped for a suite task, if one was measured."""
    data = LADDERS.get(name)
    return Ladder.model_validate(data) if data else None


def _placeholder(spec: TaskSpec, files: TaskFiles) -> pd.DataFrame:
    """Without a measured ladder: a one-team board holding the sample submission's score."""
    metric = get_metric(spec.metric)
    task = Task(name=spec.name, root=Path("."), public_dir=Path("."), private_dir=Path("."), metric=spec.metric,
                lower_is_better=metric.lower_is_better, id_column="id", target_columns=(spec.target,),
                submission_columns=tuple(files.sample_submission.columns), description="",
                positive_class=spec.positive_class)
    answers = files.answers.reset_index(drop=True)
    sample = files.sample_submission.set_index("id").loc[answers["id"]].reset_index()
    return pd.DataFrame({"teamName": ["sample-submission"], "score": [round(metric.score(answers, sample, task), 5)]})


def _clear(root: Path) -> None:
    """Remove an earlier preparation; refuse to touch a non-empty folder that is not a task folder."""
    if not root.exists():
        return
    if not (root / "config.yaml").is_file() and any(root.iterdir()):
        raise TaskError(f"{root}: exists and is not a task folder; choose another --out")
    shutil.rmtree(root)


def prepare_suite_task(name: str, out_dir: Path | str) -> PrepareResult:
    """Build suite task `name` into `out_dir` deterministically, with the shipped ladder's leaderboard."""
    start = time.perf_counter()
    spec, root = get_spec(name), Path(out_dir)
    ladder = stored_ladder(name)
    data = spec.build(spec)
    if ladder is None:
        files = assemble(spec, data, pd.DataFrame({"teamName": ["x"], "score": [0.0]}), {}, crowded=False)
        files = files.model_copy(update={"leaderboard": _placeholder(spec, files)})
    else:
        board = ladder_leaderboard(ladder.thresholds, ladder.levels["dummy"].score, ladder.lower_is_better)
        files = assemble(spec, data, board, ladder.scores, crowded=ladder.crowded)
    _clear(root)
    write_task(files, root)
    status: Literal["ok", "missing", "stale"] = "missing"
    if ladder is not None:
        digest = file_digest(root / "prepared" / "private" / "answers.csv")
        status = "ok" if digest == ladder.answers_sha256 else "stale"
    return PrepareResult(name=name, path=root, seconds=round(time.perf_counter() - start, 2), ladder=status)


def generic_spec(task: Task) -> TaskSpec:
    """A spec for a task outside the suite: tabular references, split by time when the task has a time column."""
    from gome.tasks.suite.spec import SourceData

    return TaskSpec(name=task.name, title=task.name, source="user data", metric=task.metric,
                    target=task.target_columns[0], about="", columns="", positive_class=task.positive_class,
                    split="time" if task.time_column else "random", time_column=task.time_column,
                    build=lambda spec: SourceData(frame=pd.DataFrame(), test_mask=pd.Series([], dtype=bool).to_numpy()))


def reference_submission(task: Task, level: str, spec: TaskSpec | None = None) -> pd.DataFrame:
    """The submission of reference level `level` (reads only the task's public files).

    `spec` describes the task for tasks outside the suite (bring-your-own-data); suite tasks find theirs."""
    if level not in LEVELS:
        raise TaskError(f"unknown reference level {level!r}; levels: {', '.join(LEVELS)}")
    spec = spec or (get_spec(task.name) if task.name in SUITE else generic_spec(task))
    problem = load_problem(task, spec)
    if spec.kind == "text":
        from gome.tasks.suite.ref_media import text_level as solve
    elif spec.kind == "image":
        from gome.tasks.suite.ref_media import image_level as solve
    else:
        from gome.tasks.suite.ref_tabular import tabular_level as solve
    return problem.submission(problem.test[task.id_column], solve(problem, level))
