"""The run folder on disk: paths and atomic writes (a crash never leaves a half-written file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel

__all__ = ["RunDir", "atomic_write"]


def atomic_write(path: Path, data: str | bytes) -> None:
    """Writes via a temporary file in the same folder and renames it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunDir:
    """runs/<run-id>/: config.yaml, events.jsonl, traces/<k>/<step>/, best/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def best(self) -> Path:
        return self.root / "best"

    def step_dir(self, trace: int, step: int) -> Path:
        path = self.root / "traces" / str(trace) / f"{step:03d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_model(self, path: Path, model: BaseModel) -> None:
        atomic_write(path, model.model_dump_json(indent=2))
