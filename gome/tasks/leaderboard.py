"""A task's leaderboard.csv, in gome's `teamName,score` form or Kaggle's export that mlebench ships
(`scoreNullable,teamId,hasTeamName,submissionDate,score,hasScore`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gome.tasks.errors import TaskError

__all__ = ["read_leaderboard"]


def _flag(series: pd.Series) -> pd.Series:
    """Kaggle's `hasScore` as booleans (True/False, true/false, 1/0)."""
    return series.astype(str).str.strip().str.lower().isin({"true", "1", "1.0", "yes"})


def read_leaderboard(path: Path) -> pd.DataFrame:
    """`teamName` and `score` (float) of every scored team, in the file's order; TaskError otherwise.

    Kaggle's export names teams by `teamId`; its rows without a score (`hasScore` false or an empty
    `score`) are left out."""
    if not Path(path).is_file():
        raise TaskError(f"{path}: file not found")
    try:
        board = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TaskError(f"{path}: cannot be read as CSV ({exc})") from None
    if "score" not in board.columns:
        raise TaskError(f"{path}: needs a score column (teamName,score or Kaggle's "
                        "scoreNullable,teamId,hasTeamName,submissionDate,score,hasScore)")
    if "teamName" in board.columns:
        names = board["teamName"].astype(str)
    elif "teamId" in board.columns:
        names = "team-" + board["teamId"].astype(str)
    else:
        raise TaskError(f"{path}: needs a teamName or teamId column beside score")
    raw = board["score"]
    scores = pd.to_numeric(raw, errors="coerce")
    kept = pd.Series(True, index=board.index)
    if "hasScore" in board.columns:  # Kaggle's export: unscored teams are listed too
        kept = _flag(board["hasScore"]) & raw.notna()
    if scores[kept].isna().any():
        raise TaskError(f"{path}: column 'score' must hold numbers only")
    result = pd.DataFrame({"teamName": names[kept], "score": scores[kept].astype(float)}).reset_index(drop=True)
    if result.empty:
        raise TaskError(f"{path}: needs at least one scored row")
    return result
