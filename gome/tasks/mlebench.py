"""MLE-bench interop: adopt a prepared MLE-bench competition folder, and grade with mlebench when installed.

An MLE-bench competition folder (`<data>/<competition-id>/prepared/{public,private}`) already has gome's
layout; it lacks `config.yaml` (metric, id and target columns) and `leaderboard.csv`, which `adopt_mlebench`
adds in a new task folder (the prepared files are hard-linked where possible, else copied)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from gome.tasks.errors import TaskError
from gome.tasks.task import Task, TaskConfig, load_task
from gome.tasks.verify import write_checksums

__all__ = ["adopt_mlebench", "mlebench_grade"]


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _leaderboard(competition_id: str, given: Path | None) -> Path:
    if given is not None:
        if not Path(given).is_file():
            raise TaskError(f"{given}: leaderboard file not found")
        return Path(given)
    try:
        import mlebench
    except ImportError:
        raise TaskError("pass --leaderboard (MLE-bench's competitions/<id>/leaderboard.csv), "
                        "or install mlebench so that its copy is found") from None
    path = Path(mlebench.__file__).parent / "competitions" / competition_id / "leaderboard.csv"
    if not path.is_file():
        raise TaskError(f"{path}: mlebench has no leaderboard for {competition_id!r}")
    return path


def adopt_mlebench(competition_dir: Path, out_dir: Path, metric: str, target: str, id_column: str = "id",
                   leaderboard: Path | None = None, answers: str = "answers.csv") -> Task:
    """Make a gome task folder from a prepared MLE-bench competition; grading uses mlebench when installed."""
    src = Path(competition_dir)
    prepared = src / "prepared" if (src / "prepared").is_dir() else src
    if not (prepared / "public").is_dir() or not (prepared / "private" / answers).is_file():
        raise TaskError(f"{src}: expected prepared/public/ and prepared/private/{answers} (MLE-bench layout)")
    competition_id = src.name if prepared != src else src.parent.name
    board = _leaderboard(competition_id, leaderboard)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise TaskError(f"{out}: exists and is not empty; choose another --out")
    shutil.copytree(prepared / "public", out / "prepared" / "public", copy_function=_link_or_copy)
    (out / "prepared" / "private").mkdir(parents=True)
    os.chmod(out / "prepared" / "private", 0o700)
    _link_or_copy(str(prepared / "private" / answers), str(out / "prepared" / "private" / "answers.csv"))
    shutil.copy2(board, out / "leaderboard.csv")
    config = TaskConfig(name=competition_id, metric=metric, id_column=id_column, target_columns=(target,),
                        mlebench_id=competition_id)
    data = {k: v for k, v in config.model_dump(mode="json").items() if v not in ("", {}, False) or k == "seed"}
    (out / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    write_checksums(out)
    return load_task(out)


def mlebench_grade(task: Task, submission_path: Path) -> dict | None:
    """mlebench's own grade report for an adopted competition, or None when mlebench is not installed."""
    if not task.mlebench_id:
        return None
    try:
        from mlebench.grade import grade_csv
        from mlebench.registry import registry
    except ImportError:
        return None
    report = grade_csv(Path(submission_path), registry.get_competition(task.mlebench_id))
    return report.to_dict() if hasattr(report, "to_dict") else dict(report)
