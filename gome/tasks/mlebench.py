"""MLE-bench interop: adopt what `mlebench prepare` wrote, and grade with the competition's own function.

A prepared competition (`DATA/<id>/prepared/{public,private}`) has gome's layout already. Its registry
folder (`mlebench/competitions/<id>/`: config.yaml, description.md, leaderboard.csv, grade.py) names
the grader, the answers file and the sample submission. `adopt_mlebench` builds a task folder from
both (prepared files hard-linked where possible, else copied) in a temporary folder beside the target
and renames it into place only when it loads: a failed adopt leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from gome.tasks._io import read_header
from gome.tasks.errors import GomeUserError, TaskError
from gome.tasks.metrics import METRICS
from gome.tasks.shape import split_shape
from gome.tasks.task import Task, TaskConfig, load_task
from gome.tasks.verify import write_checksums

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

__all__ = ["GRADERS", "adopt_all", "adopt_mlebench", "mlebench_importable", "mlebench_score", "read_ids"]

# mlebench's grader names (config.yaml `grader.name`) whose metric gome computes the same way
GRADERS = {
    "accuracy": "accuracy", "multi-class-classification-accuracy": "accuracy",
    "auc-roc": "roc_auc", "roc-auc": "roc_auc",
    "log-loss": "log_loss", "multi-class-log-loss": "log_loss",
    "macro-f1-score": "macro_f1", "quadratic-weighted-kappa": "qwk",
    "root-mean-squared-error": "rmse", "root_mean_squared_error": "rmse", "rmse": "rmse",
    "mean-column-wise-rmsle": "rmsle", "root-mean-squared-log-error": "rmsle",
    "mean-absolute-error": "mae", "mae": "mae",
}


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def mlebench_importable() -> bool:
    """Whether `import mlebench` would work here."""
    try:
        return importlib.util.find_spec("mlebench") is not None
    except (ImportError, ValueError):  # a module object without a spec
        return "mlebench" in sys.modules


def _registry_folder(competition_id: str, registry: Path | None, leaderboard: Path | None) -> Path | None:
    """The competition's registry folder: under or at --registry, beside --leaderboard, or mlebench's."""
    candidates = []
    if registry is not None:
        candidates += [Path(registry) / competition_id, Path(registry)]
    if leaderboard is not None:
        candidates.append(Path(leaderboard).parent)
    if registry is None and mlebench_importable():
        spec = importlib.util.find_spec("mlebench")
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / "competitions" / competition_id)
    found = next((c for c in candidates if (c / "config.yaml").is_file()), None)
    if registry is not None and found is None:
        raise TaskError(f"{registry}: no config.yaml for {competition_id!r} there or in {competition_id}/")
    return found


def _registry_config(folder: Path | None) -> dict:
    if folder is None:
        return {}
    try:
        data = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaskError(f"{folder / 'config.yaml'}: invalid YAML ({exc})") from None
    return data if isinstance(data, dict) else {}


def _data_file(src: Path, competition_id: str, value: str, default: Path) -> Path:
    """A `dataset` path of config.yaml (relative to mlebench's data folder: `<id>/prepared/...`)."""
    if not value:
        return default
    parts = Path(value).parts
    return src.joinpath(*parts[1:]) if parts and parts[0] == competition_id else src / value


def _metric(given: str, cfg: dict) -> str:
    if given:
        return given
    grader = str((cfg.get("grader") or {}).get("name", ""))
    if not grader:
        raise TaskError("no grader named (no registry config.yaml found): pass --metric, or --registry")
    if grader not in GRADERS:
        raise TaskError(f"grader {grader!r} is not one gome knows; pass --metric (one of {', '.join(sorted(METRICS))})")
    return GRADERS[grader]


def _columns(public: Path, sample: Path, id_column: str, target: str) -> tuple[str, tuple[str, ...]]:
    """The id and target columns: as given, else the sample submission's (its first column is the id;
    the rest are the targets when train has them, else the one train column that test lacks)."""
    columns = read_header(sample)
    train, test = read_header(public / "train.csv"), read_header(public / "test.csv")
    ident = id_column or columns[0]
    if target:
        return ident, (target,)
    preds = [c for c in columns if c != ident]
    if preds and all(c in train for c in preds):
        return ident, tuple(preds)
    labels = [c for c in train if c not in test and c != ident]
    if len(labels) != 1:
        raise TaskError(f"{sample}: cannot tell the target column from {preds[:5]}; pass --target")
    return ident, (labels[0],)


def _answers(src: Path, private: Path, competition_id: str, cfg: dict, given: str) -> Path:
    if given:
        return private / given
    default = private / "answers.csv" if (private / "answers.csv").is_file() else private / "test.csv"
    path = _data_file(src, competition_id, str((cfg.get("dataset") or {}).get("answers", "")), default)
    if not path.is_file() or path.parent != private:
        raise TaskError(f"{path}: the answers file must be a CSV in prepared/private/; pass --answers NAME")
    return path


def _sample(src: Path, public: Path, competition_id: str, cfg: dict) -> Path:
    path = _data_file(src, competition_id, str((cfg.get("dataset") or {}).get("sample_submission", "")),
                      public / "sample_submission.csv")
    if not path.is_file():
        raise TaskError(f"{path}: sample submission not found")
    if path.parent != public:
        raise TaskError(f"{path}: the sample submission lies outside prepared/public/, which is all agents see")
    return path


def _leaderboard(folder: Path | None, given: Path | None, competition_id: str) -> Path:
    path = Path(given) if given is not None else (folder / "leaderboard.csv" if folder else None)
    if path is None:
        raise TaskError(f"no leaderboard for {competition_id!r}: pass --registry (mlebench/competitions) or "
                        "--leaderboard, or install mlebench")
    if not path.is_file():
        raise TaskError(f"{path}: leaderboard file not found")
    return path


class _Sources(BaseModel):
    """What a task folder is made of: files of the prepared competition and its registry, and the config."""

    model_config = ConfigDict(frozen=True)

    public: Path
    sample: Path
    description: Path
    answers: Path
    board: Path
    config: TaskConfig


def _description(public: Path, folder: Path | None) -> Path:
    for path in (public / "description.md", *([folder / "description.md"] if folder else [])):
        if path.is_file():
            return path
    raise TaskError(f"{public}: no description.md, and no registry folder holds one (pass --registry)")


def _sources(prepared: Path, metric: str, target: str, id_column: str, leaderboard: Path | None, answers: str,
             registry: Path | None, time_column: str | None, group_column: str | None) -> _Sources:
    base, public = prepared.parent, prepared / "public"
    competition_id = base.name
    folder = _registry_folder(competition_id, registry, leaderboard)
    cfg = _registry_config(folder)
    sample = _sample(base, public, competition_id, cfg)
    ident, targets = _columns(public, sample, id_column, target)
    train, test = pd.read_csv(public / "train.csv"), pd.read_csv(public / "test.csv")
    shape = split_shape(train, test, (ident, *targets), time_column, group_column)
    config = TaskConfig(name=competition_id, metric=_metric(metric, cfg), id_column=ident, target_columns=targets,
                        mlebench_id=competition_id, grade_fn=str((cfg.get("grader") or {}).get("grade_fn", "")),
                        time_column=shape.time_column, group_column=shape.group_column, split_note=shape.note)
    return _Sources(public=public, sample=sample, description=_description(public, folder),
                    answers=_answers(base, prepared / "private", competition_id, cfg, answers),
                    board=_leaderboard(folder, leaderboard, competition_id), config=config)


def _prepared(competition_dir: Path) -> Path:
    src = Path(competition_dir)
    prepared = src / "prepared" if (src / "prepared").is_dir() else src
    if not (prepared / "public").is_dir() or not (prepared / "private").is_dir():
        raise TaskError(f"{src}: expected prepared/public/ and prepared/private/ (MLE-bench layout)")
    for name in ("train.csv", "test.csv"):
        if not (prepared / "public" / name).is_file():
            raise TaskError(f"{prepared / 'public' / name}: not found (gome adopts competitions with train.csv "
                            "and test.csv)")
    return prepared


def adopt_mlebench(competition_dir: Path, out_dir: Path, metric: str = "", target: str = "", id_column: str = "",
                   leaderboard: Path | None = None, answers: str = "", *, registry: Path | None = None,
                   time_column: str | None = None, group_column: str | None = None) -> Task:
    """A gome task folder at `out_dir` from a prepared MLE-bench competition (see the module docstring).

    Every option defaults to what the competition says; `time_column`/`group_column`: a name, "none",
    or None to detect the test split's shape (said in the task's `split_note`)."""
    prepared = _prepared(competition_dir)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TaskError(f"{out}: exists and is not empty; choose another --out")
    sources = _sources(prepared, metric, target, id_column, leaderboard, answers, registry, time_column,
                       group_column)
    made = [d for d in (out.parent, *out.parent.parents) if not d.exists()]  # folders this adopt creates
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.adopting-", dir=out.parent))
    try:
        _write(tmp, sources)
        load_task(tmp)  # refuses what gome cannot use, before anything is in place
        if out.is_dir():
            out.rmdir()  # empty: checked before the work began
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in made:  # innermost first; each is empty unless something else wrote there meanwhile
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return load_task(out)


def _write(root: Path, src: _Sources) -> None:
    public = root / "prepared" / "public"
    shutil.copytree(src.public, public, copy_function=_link_or_copy)
    if src.sample.name != "sample_submission.csv":
        _link_or_copy(str(src.sample), str(public / "sample_submission.csv"))
    if not (public / "description.md").is_file():
        shutil.copy2(src.description, public / "description.md")
    (root / "prepared" / "private").mkdir()
    os.chmod(root / "prepared" / "private", 0o700)
    _link_or_copy(str(src.answers), str(root / "prepared" / "private" / "answers.csv"))
    shutil.copy2(src.board, root / "leaderboard.csv")
    data = {k: v for k, v in src.config.model_dump(mode="json").items() if v not in ("", {}, False) or k == "seed"}
    (root / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    write_checksums(root)


def read_ids(path: Path) -> list[str]:
    """Competition ids, one a line (blank lines and `#` comments skipped), as MLE-bench's split lists."""
    if not Path(path).is_file():
        raise TaskError(f"{path}: file not found")
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


class AdoptOptions(TypedDict, total=False):
    """The keyword arguments of adopt_mlebench that adopt_all passes on to it."""

    metric: str
    target: str
    id_column: str
    leaderboard: Path | None
    answers: str
    time_column: str | None
    group_column: str | None


def adopt_all(data_dir: Path, out_dir: Path, registry: Path, ids: list[str] | None = None,
              **options: Unpack[AdoptOptions]) -> tuple[list[Task], list[tuple[str, str]]]:
    """Adopt `ids` (default: every prepared competition under `data_dir`) into `out_dir/<id>`; returns
    the tasks adopted and (id, why) for each one that could not be."""
    data = Path(data_dir)
    if not data.is_dir():
        raise TaskError(f"{data}: folder not found")
    if ids is None:
        ids = sorted(p.name for p in data.iterdir() if (p / "prepared").is_dir())
    adopted, failed = [], []
    for competition_id in ids:
        src = data / competition_id
        if not (src / "prepared").is_dir():
            failed.append((competition_id, f"not prepared under {data} (no {src / 'prepared'})"))
            continue
        try:
            adopted.append(adopt_mlebench(src, Path(out_dir) / competition_id, registry=registry, **options))
        except GomeUserError as exc:
            failed.append((competition_id, str(exc)))
    return adopted, failed


def mlebench_score(task: Task, submission: Path) -> tuple[float | None, str, str] | None:
    """(score, error, grade function) by the competition's own grade function, or None when mlebench (or
    that function) cannot be imported here. A submission the function rejects scores None with its error."""
    grade_fn = task.grade_fn or (f"mlebench.competitions.{task.mlebench_id}.grade:grade" if task.mlebench_id else "")
    if not grade_fn or not mlebench_importable():
        return None
    module_name, _, name = grade_fn.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return None
    if not submission.is_file() or submission.suffix.lower() != ".csv":
        return None, f"{submission}: submission file not found", grade_fn
    answers = pd.read_csv(task.answers_path)
    try:
        score = fn(pd.read_csv(submission), answers)
        return round(float(score), 5), "", grade_fn
    except Exception as exc:  # noqa: BLE001 - mlebench's grader, too, turns any failure into an invalid submission
        return None, f"{type(exc).__name__}: {exc}", grade_fn
