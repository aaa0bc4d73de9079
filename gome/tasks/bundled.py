"""Bundled tasks that are built locally (no download) and the writer of a task folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from gome.tasks._io import write_table
from gome.tasks.errors import TaskError
from gome.tasks.task import TaskConfig

__all__ = ["BUNDLED", "TaskFiles", "prepare_task", "write_task"]

CHECKSUMS = "checksums.sha256"


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


def write_task(files: TaskFiles, out_dir: Path) -> Path:
    """Write config.yaml, prepared/public, prepared/private (mode 0700), leaderboard.csv, checksums."""
    root = Path(out_dir)
    public, private = root / "prepared" / "public", root / "prepared" / "private"
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    config = files.config.model_dump(mode="json")
    config["target_columns"] = list(files.config.target_columns)
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (public / "description.md").write_text(files.description, encoding="utf-8")
    written = {
        public / "train.csv": files.train,
        public / "test.csv": files.test,
        public / "sample_submission.csv": files.sample_submission,
        private / "answers.csv": files.answers,
        root / "leaderboard.csv": files.leaderboard,
    }
    for path, frame in written.items():
        write_table(frame, path)
    _write_checksums(root)
    return root


def _write_checksums(root: Path) -> None:
    """`sha256sum`-style list of every file of the task folder except itself."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != CHECKSUMS):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}\n")
    (root / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def _penguins(out_dir: Path) -> None:
    from gome.tasks.penguins import build_penguins

    write_task(build_penguins(), out_dir)


BUNDLED: dict[str, Callable[[Path], None]] = {"penguins": _penguins}


def prepare_task(name: str, out_dir: Path) -> Path:
    """Build bundled task `name` into `out_dir` (deterministic) and return the task folder."""
    if name not in BUNDLED:
        raise TaskError(f"unknown bundled task {name!r}; known tasks: {', '.join(sorted(BUNDLED))}")
    root = Path(out_dir)
    BUNDLED[name](root)
    return root
