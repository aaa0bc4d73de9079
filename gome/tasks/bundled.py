"""Bundled tasks that are built locally (no download) and the writer of a task folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from gome.tasks._io import write_table
from gome.tasks.errors import TaskError
from gome.tasks.task import TaskConfig
from gome.tasks.verify import write_checksums

__all__ = ["BUNDLED", "TaskFiles", "prepare_task", "write_task"]

_OPTIONAL = ("positive_class", "time_column", "group_column", "split_note", "crowded", "reference_scores",
             "mlebench_id", "grade_fn")


class TaskFiles(BaseModel):
    """The contents of a task folder, ready to be written."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: TaskConfig
    description: str
    train: pd.DataFrame
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    answers: pd.DataFrame
    leaderboard: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame] = {}
    extra_files: dict[str, bytes] = {}


def write_task(files: TaskFiles, out_dir: Path) -> Path:
    """Write config.yaml, prepared/public (plus extra tables and files), prepared/private (mode 0700),
    leaderboard.csv and checksums.sha256."""
    root = Path(out_dir)
    public, private = root / "prepared" / "public", root / "prepared" / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    config = files.config.model_dump(mode="json")
    config["target_columns"] = list(files.config.target_columns)
    config = {k: v for k, v in config.items() if k not in _OPTIONAL or v}
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (public / "description.md").write_text(files.description, encoding="utf-8")
    written = {
        public / "train.csv": files.train,
        public / "test.csv": files.test,
        public / "sample_submission.csv": files.sample_submission,
        private / "answers.csv": files.answers,
        root / "leaderboard.csv": files.leaderboard,
    }
    written.update({public / name: frame for name, frame in files.extra_tables.items()})
    for path, frame in written.items():
        write_table(frame, path)
    for name, data in files.extra_files.items():
        (public / name).parent.mkdir(parents=True, exist_ok=True)
        (public / name).write_bytes(data)
    write_checksums(root)
    return root


def _penguins(out_dir: Path) -> None:
    from gome.tasks.penguins import build_penguins

    write_task(build_penguins(), out_dir)


BUNDLED: dict[str, Callable[[Path], None]] = {"penguins": _penguins}


def prepare_task(name: str, out_dir: Path) -> Path:
    """Build bundled or suite task `name` into `out_dir` (deterministic) and return the task folder."""
    from gome.tasks.suite import SUITE, prepare_suite_task

    if name in SUITE:
        return prepare_suite_task(name, out_dir).path
    if name not in BUNDLED:
        known = ", ".join(sorted([*BUNDLED, *SUITE]))
        raise TaskError(f"unknown task {name!r}; known tasks: {known}")
    root = Path(out_dir)
    BUNDLED[name](root)
    return root
