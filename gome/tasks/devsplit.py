"""Dev split: the harness's validation, a held-out slice of train.csv laid out like the real task."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from gome.tasks._io import read_header, read_text_table, write_table
from gome.tasks.errors import TaskError
from gome.tasks.grading import score_submission
from gome.tasks.shape import parse_times
from gome.tasks.task import Task

__all__ = ["DevSplit", "make_dev_split", "score_dev", "folds_possible"]

_REWRITTEN = ("train.csv", "test.csv", "sample_submission.csv")


class DevSplit(BaseModel):
    """Where a dev split lives: `input_dir` for the script, `answers_path` (outside it) for scoring."""

    model_config = ConfigDict(frozen=True)

    input_dir: Path
    answers_path: Path
    seed: int
    holdout: float
    n_train: int
    n_test: int
    stratified: bool
    fold: int = 0  # 0: the dev split; k: the k-th extra fold, its held-out rows disjoint from folds 0..k-1


def _split(task: Task, train: pd.DataFrame, seed: int, holdout: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Row positions of dev train and dev test, shaped like the real test: the latest rows when the task
    has a time column; whole groups when it has a group column; else a random draw, stratified on the
    label when the metric is a classification one."""
    rows = np.arange(len(train))
    if task.time_column:
        times = parse_times(train[task.time_column])
        keys = times.to_numpy() if times.notna().all() else train[task.time_column].to_numpy(dtype=str)
        order = np.argsort(keys, kind="stable")
        cut = int(round(len(rows) * (1 - holdout)))
        return np.sort(order[:cut]), np.sort(order[cut:]), False
    if task.group_column and train[task.group_column].nunique() >= 2:
        splitter = GroupShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
        fit, held = next(splitter.split(rows, groups=train[task.group_column].to_numpy()))
        return np.sort(fit), np.sort(held), False
    classify = task.metric_spec.kind != "regression" and len(task.target_columns) == 1
    if classify:
        try:
            fit, held = train_test_split(
                rows, test_size=holdout, random_state=seed, stratify=train[task.target_columns[0]]
            )
            return np.sort(fit), np.sort(held), True
        except ValueError:
            pass
    fit, held = train_test_split(rows, test_size=holdout, random_state=seed)
    return np.sort(fit), np.sort(held), False


def folds_possible(task: Task, holdout: float, folds: int) -> bool:
    """Extra folds need held-out rows drawn at random (no time order) and room for them: (1 + folds) × holdout ≤ 1."""
    return not task.time_column and (1 + folds) * holdout <= 1.0 + 1e-9


def _fold(task: Task, train: pd.DataFrame, seed: int, holdout: float, fold: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Fold 0 is `_split`'s dev split; fold k holds out as many rows again (whole groups, stratified where
    possible) from the rows that folds 0..k-1 did not hold out, so the folds' held-out rows are disjoint."""
    fit, held, stratified = _split(task, train, seed, holdout)
    used = held
    for k in range(1, fold + 1):
        rest = np.setdiff1d(np.arange(len(train)), used)
        if len(rest) <= len(held):  # the last of folds that cover train.csv: what is left
            held = rest
        else:
            _, inner, stratified = _split(task, train.iloc[rest].reset_index(drop=True), seed + k, len(held) / len(rest))
            held = np.sort(rest[inner])
        used = np.union1d(used, held)
    return np.setdiff1d(np.arange(len(train)), held), held, stratified


def _test_columns(task: Task, train_columns: list[str]) -> list[str]:
    """The real test.csv's columns when train has them all, else train's columns minus the targets."""
    real = read_header(task.public_dir / "test.csv")
    if all(c in train_columns for c in real):
        return real
    return [c for c in train_columns if c not in task.target_columns]


def _sample(task: Task, ids: pd.Series) -> pd.DataFrame:
    """A sample submission for `ids`, repeating the real sample's first row of predictions."""
    real = read_text_table(task.public_dir / "sample_submission.csv")
    frame = pd.DataFrame({c: [real[c].iloc[0]] * len(ids) for c in real.columns})
    frame[task.id_column] = ids.to_numpy()
    return frame[list(real.columns)]


def _copy_other_files(task: Task, input_dir: Path) -> None:
    for entry in sorted(task.public_dir.iterdir()):
        if entry.name in _REWRITTEN:
            continue
        if entry.is_dir():
            shutil.copytree(entry, input_dir / entry.name, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, input_dir / entry.name)


def make_dev_split(task: Task, out_dir: Path, seed: int = 0, holdout: float = 0.2, fold: int = 0) -> "DevSplit":
    """Write `out_dir/input/` (dev train, dev test, sample submission, other files) and `out_dir/answers.csv`;
    `fold` k > 0: the k-th extra fold of the dev split with this seed (see `_fold`)."""
    if not 0.0 < holdout < 1.0:
        raise TaskError(f"dev split holdout must be between 0 and 1, got {holdout}")
    train = read_text_table(task.public_dir / "train.csv")
    if len(train) < 2:
        raise TaskError(f"{task.public_dir / 'train.csv'}: needs at least two rows for a dev split")
    if fold and task.time_column:
        raise TaskError(f"{task.name} has no dev folds: its dev split holds out the latest rows by `{task.time_column}`")
    if fold and not folds_possible(task, holdout, fold):
        raise TaskError(f"{task.name} has no dev fold {fold}: {fold + 1} folds of {holdout:g} of train.csv do not fit")
    fit, held, stratified = _fold(task, train, seed, holdout, fold)
    out_dir = Path(out_dir)
    input_dir = out_dir / "input"
    if input_dir.exists():
        shutil.rmtree(input_dir)
    input_dir.mkdir(parents=True)
    _copy_other_files(task, input_dir)
    dev_test = train.iloc[held].reset_index(drop=True)
    write_table(train.iloc[fit], input_dir / "train.csv")
    write_table(dev_test[_test_columns(task, list(train.columns))], input_dir / "test.csv")
    write_table(_sample(task, dev_test[task.id_column]), input_dir / "sample_submission.csv")
    answers_path = out_dir / "answers.csv"
    write_table(dev_test[[task.id_column, *task.target_columns]], answers_path)
    return DevSplit(
        input_dir=input_dir,
        answers_path=answers_path,
        seed=seed,
        holdout=holdout,
        n_train=len(fit),
        n_test=len(held),
        stratified=stratified,
        fold=fold,
    )


def score_dev(task: Task, split: DevSplit, submission_path: Path | str) -> float:
    """Score a dev-run submission with the task's metric; SubmissionError if it is invalid."""
    return score_submission(task, submission_path, split.answers_path)
