"""What a suite task is made of: its source data (`SourceData`) and its recipe (`TaskSpec`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Featurize", "SourceData", "TaskSpec", "spec_seed"]

Featurize = Callable[[pd.DataFrame, Path], pd.DataFrame]


class SourceData(BaseModel):
    """All rows of a task (target included, no id), which rows are test rows, and extra public files."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    frame: pd.DataFrame
    test_mask: np.ndarray
    extra_tables: dict[str, pd.DataFrame] = {}
    extra_files: dict[str, bytes] = {}


class TaskSpec(BaseModel):
    """A suite task: where its data comes from, how it is split, scored, described and solved by references."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    title: str
    source: str
    metric: str
    target: str
    build: Callable[["TaskSpec"], SourceData] = Field(exclude=True, repr=False)
    about: str
    columns: str
    removed: str = "none"
    kind: Literal["tabular", "text", "image"] = "tabular"
    test_share: float = 0.3
    split: Literal["random", "time"] = "random"
    time_column: str = ""
    text_column: str = ""
    image_column: str = ""
    positive_class: str = ""
    featurize: Featurize | None = Field(default=None, exclude=True, repr=False)


def spec_seed(name: str) -> int:
    """A stable seed derived from the task name (ids, shuffles and splits use it)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
