"""The `Task` model and `load_task`, which validates an MLE-bench style task folder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gome.tasks._io import read_header, read_table
from gome.tasks.errors import TaskError
from gome.tasks.leaderboard import read_leaderboard
from gome.tasks.metrics import Metric, as_labels, get_metric, positive_label

__all__ = ["Task", "TaskConfig", "load_task"]

PUBLIC_FILES = ("description.md", "train.csv", "test.csv", "sample_submission.csv")


class TaskConfig(BaseModel):
    """The contents of `<task>/config.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    metric: str
    id_column: str
    target_columns: tuple[str, ...]
    seed: int = 0
    submission: str = ""
    positive_class: str = ""
    time_column: str = ""  # a forecast: the dev split holds out train's latest rows by this column
    group_column: str = ""  # repeated entities: the dev split holds out whole groups of this column
    split_note: str = ""  # how the dev split is shaped and why (said at adopt / new time)
    crowded: bool = False
    reference_scores: dict[str, float] = {}
    mlebench_id: str = ""
    grade_fn: str = ""  # the competition's own grade function (`module:function`), used when importable
    # holdout: the harness holds back part of train.csv and scores it (the default); self_reported: the
    # layout allows no generic split (e.g. labels outside train.csv), so the script's own printed
    # `validation_score: X` is used during the search, labelled "self-reported" wherever it is shown
    validation: Literal["holdout", "self_reported"] = "holdout"

    @field_validator("target_columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class Task(BaseModel):
    """A validated task folder: paths, metric and column roles."""

    model_config = ConfigDict(frozen=True)

    name: str
    root: Path
    public_dir: Path
    private_dir: Path
    metric: str
    lower_is_better: bool
    id_column: str
    target_columns: tuple[str, ...]
    submission_columns: tuple[str, ...]
    description: str
    seed: int = 0
    submission_note: str = ""
    positive_class: str = ""
    time_column: str = ""
    group_column: str = ""
    split_note: str = ""
    crowded: bool = False
    reference_scores: dict[str, float] = {}
    mlebench_id: str = ""
    grade_fn: str = ""
    validation: Literal["holdout", "self_reported"] = "holdout"

    @property
    def answers_path(self) -> Path:
        return self.private_dir / "answers.csv"

    @property
    def leaderboard_path(self) -> Path:
        return self.root / "leaderboard.csv"

    @property
    def metric_spec(self) -> Metric:
        return get_metric(self.metric)


def _read_config(path: Path) -> TaskConfig:
    if not path.is_file():
        raise TaskError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: expected a mapping of settings")
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise TaskError(f"{path}: {where}: {first['msg']}") from None


def _ids(path: Path, id_column: str) -> pd.Series:
    frame = read_table(path, id_column)
    if id_column not in frame.columns:
        raise TaskError(f"{path}: id column {id_column!r} is missing")
    ids = frame[id_column]
    if ids.isna().any() or ids.duplicated().any():
        raise TaskError(f"{path}: id column {id_column!r} has missing or duplicate values")
    return ids


def _check_columns(root: Path, cfg: TaskConfig, public: Path) -> None:
    train = read_header(public / "train.csv")
    needed = () if cfg.validation == "self_reported" else (cfg.id_column, *cfg.target_columns)
    for col in (*needed, *(c for c in (cfg.time_column, cfg.group_column) if c)):
        if col not in train:
            raise TaskError(f"{public / 'train.csv'}: column {col!r} from config.yaml is missing")
    test = read_header(public / "test.csv")
    if cfg.id_column not in test:
        raise TaskError(f"{public / 'test.csv'}: id column {cfg.id_column!r} is missing")
    leaked = [c for c in cfg.target_columns if c in test]
    if leaked:
        raise TaskError(f"{public / 'test.csv'}: target column {leaked[0]!r} must not be in the test file")
    answers = read_header(root / "prepared" / "private" / "answers.csv")
    for col in (cfg.id_column, *cfg.target_columns):
        if col not in answers:
            raise TaskError(f"{root / 'prepared/private/answers.csv'}: column {col!r} is missing")


def _check_submission_format(cfg: TaskConfig, path: Path, metric: Metric) -> tuple[str, ...]:
    columns = tuple(read_header(path))
    if len(set(columns)) != len(columns) or cfg.id_column not in columns:
        raise TaskError(f"{path}: needs the id column {cfg.id_column!r} and no repeated columns")
    preds = [c for c in columns if c != cfg.id_column]
    if metric.kind == "probability":
        if len(cfg.target_columns) != 1 or not preds:
            raise TaskError(f"{path}: {metric.name} needs one target and at least one probability column")
    elif set(preds) != set(cfg.target_columns):
        raise TaskError(
            f"{path}: columns {list(columns)} must be the id column plus the targets {list(cfg.target_columns)}"
        )
    return columns


def _check_classes(root: Path, cfg: TaskConfig, columns: tuple[str, ...], metric: Metric) -> None:
    """Probability metrics: every answer class has a column, or the single column's class is known."""
    if metric.kind != "probability":
        return
    path = root / "prepared" / "private" / "answers.csv"
    answers = read_table(path, cfg.id_column)
    classes = sorted(set(as_labels(answers[cfg.target_columns[0]])))
    preds = [c for c in columns if c != cfg.id_column]
    if len(preds) == 1:
        try:
            positive_label(cfg, preds[0], classes)  # type: ignore[arg-type]
        except TaskError as exc:
            raise TaskError(f"{path}: {exc}") from None
        return
    unknown = sorted(set(classes) - set(preds))
    if unknown:
        raise TaskError(f"{path}: class {unknown[0]!r} has no probability column in sample_submission.csv")


def _check_ids(root: Path, cfg: TaskConfig) -> None:
    public = root / "prepared" / "public"
    test_ids = set(_ids(public / "test.csv", cfg.id_column))
    for path in (public / "sample_submission.csv", root / "prepared" / "private" / "answers.csv"):
        if set(_ids(path, cfg.id_column)) != test_ids:
            raise TaskError(f"{path}: ids differ from the ids of test.csv")


def _prepare_hint(path: Path) -> str:
    """Where a missing task folder is named like a bundled task: how to write it."""
    from gome.tasks.bundled import BUNDLED
    from gome.tasks.suite import SUITE

    name = path.name
    if name not in BUNDLED and name not in SUITE:
        return ""
    return f"; {name} is a bundled task: write it with `gome tasks prepare {name}`, then use tasks/{name}"


def load_task(path: Path | str) -> Task:
    """Load and validate a task folder; TaskError with one line naming the problem otherwise."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise TaskError(f"{root}: task folder not found{_prepare_hint(Path(path))}")
    cfg = _read_config(root / "config.yaml")
    try:
        metric = get_metric(cfg.metric)
    except TaskError as exc:
        raise TaskError(f"{root / 'config.yaml'}: {exc}") from None
    public, private = root / "prepared" / "public", root / "prepared" / "private"
    for file in [public / f for f in PUBLIC_FILES] + [private / "answers.csv"]:
        if not file.is_file():
            raise TaskError(f"{file}: required file is missing")
    _check_columns(root, cfg, public)
    columns = _check_submission_format(cfg, public / "sample_submission.csv", metric)
    _check_ids(root, cfg)
    _check_classes(root, cfg, columns, metric)
    read_leaderboard(root / "leaderboard.csv")
    return Task(
        name=cfg.name,
        root=root,
        public_dir=public,
        private_dir=private,
        metric=metric.name,
        lower_is_better=metric.lower_is_better,
        id_column=cfg.id_column,
        target_columns=cfg.target_columns,
        submission_columns=columns,
        description=(public / "description.md").read_text(encoding="utf-8"),
        seed=cfg.seed,
        submission_note=cfg.submission,
        positive_class=cfg.positive_class,
        time_column=cfg.time_column,
        group_column=cfg.group_column,
        split_note=cfg.split_note,
        crowded=cfg.crowded,
        reference_scores=dict(cfg.reference_scores),
        mlebench_id=cfg.mlebench_id,
        grade_fn=cfg.grade_fn,
        validation=cfg.validation,
    )
