"""Turn a `TaskSpec` and its `SourceData` into `TaskFiles`: random ids, split, answers, sample, description."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gome.tasks.bundled import TaskFiles
from gome.tasks.metrics import as_labels, get_metric
from gome.tasks.suite.spec import SourceData, TaskSpec, spec_seed
from gome.tasks.task import TaskConfig

__all__ = ["METRIC_TEXT", "assemble", "random_ids", "sample_submission"]

METRIC_TEXT = {
    "accuracy": "Accuracy: the fraction of test rows whose label is predicted exactly (higher is better).",
    "macro_f1": "Macro-averaged F1 over the classes: every class counts equally, rare ones too (higher is better).",
    "qwk": "Quadratic weighted kappa between predicted and true integer grades (higher is better).",
    "roc_auc": "Area under the ROC curve of the predicted probabilities (higher is better).",
    "log_loss": "Multi-class log-loss of the predicted class probabilities; rows are renormalised to sum to 1 "
    "and clipped to [1e-15, 1 - 1e-15] (lower is better).",
    "rmse": "Root mean squared error (lower is better).",
    "rmsle": "Root mean squared logarithmic error, on log(1 + y); predictions must be >= 0 (lower is better).",
    "mae": "Mean absolute error (lower is better).",
}


def random_ids(n: int, seed: int) -> list[str]:
    """`n` distinct random 8-hex-digit ids."""
    ids = np.random.default_rng(seed).choice(16**8, size=n, replace=False)
    return [f"{int(i):08x}" for i in ids]


def sample_submission(metric_name: str, target: str, positive_class: str, y: pd.Series,
                      ids: pd.Series) -> pd.DataFrame:
    """A valid, uninformed submission: class priors, the majority label, or the train mean/median."""
    metric = get_metric(metric_name)
    frame = pd.DataFrame({str(ids.name or "id"): ids.to_numpy()})
    if metric.kind == "probability":
        shares = pd.Series(as_labels(y)).value_counts(normalize=True)
        if positive_class:
            frame[target] = round(float(shares.get(positive_class, 0.0)), 4)
        else:
            for cls in sorted(shares.index):
                frame[cls] = round(float(shares[cls]), 4)
    elif metric.kind == "label":
        frame[target] = pd.Series(as_labels(y)).value_counts().index[0]
    else:
        frame[target] = round(float(y.median() if metric_name == "mae" else y.mean()), 4)
    return frame


def _split_text(spec: TaskSpec, test: pd.DataFrame, share: float) -> str:
    if spec.split == "time":
        start = test[spec.time_column].astype(str).min()
        return (f"Split by time: the last period, from {start} on ({share:.0%} of the rows), is the test set; "
                "train holds everything before it.")
    stratified = " (stratified by class)" if get_metric(spec.metric).kind != "regression" else ""
    return f"A random {share:.0%} of the rows{stratified} form the test set."


def _description(spec: TaskSpec, data: SourceData, train: pd.DataFrame, test: pd.DataFrame,
                 sample: pd.DataFrame) -> str:
    extra = [f"- `{name}`: an extra table; join it yourself (see Columns)." for name in sorted(data.extra_tables)]
    if data.extra_files:
        extra.append(f"- `images/`: {len(data.extra_files)} PNG files; column `{spec.image_column}` names each "
                     "row's file, relative to the data folder.")
    head = sample.head(1).to_csv(index=False, lineterminator="\n").strip()
    parts = [
        f"# {spec.title}\n", spec.about.strip() + "\n",
        f"Source: {spec.source} (shipped inside an installed Python package; nothing is downloaded).\n",
        "## Files",
        f"- `train.csv`: {len(train)} rows with the target `{spec.target}`.",
        f"- `test.csv`: {len(test)} rows without the target; predict it for each `id`.",
        "- `sample_submission.csv`: a valid submission in the required format.", *extra, "",
        "## Columns", "- `id`: a random identifier; it carries no information.", spec.columns.strip(), "",
        f"Removed from the source because they leak the target: {spec.removed}.\n",
        "## Split", _split_text(spec, test, len(test) / (len(train) + len(test))) + "\n",
        "## Metric", METRIC_TEXT[spec.metric] + "\n",
        "## Submission format",
        "A CSV file `submission.csv` with a header and one row per test id, for example:",
        "```", head, "```", "",
    ]
    return "\n".join(parts)


def _order(spec: TaskSpec, data: SourceData) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with ids; shuffled unless the task is split by time (then kept in time order)."""
    seed = spec_seed(spec.name)
    frame = data.frame.reset_index(drop=True)
    frame.insert(0, "id", random_ids(len(frame), seed))
    mask = np.asarray(data.test_mask, dtype=bool)
    if spec.split == "random":
        order = np.random.default_rng(seed + 1).permutation(len(frame))
        frame, mask = frame.iloc[order].reset_index(drop=True), mask[order]
    return frame, mask


def assemble(spec: TaskSpec, data: SourceData, leaderboard: pd.DataFrame,
             reference_scores: dict[str, float], crowded: bool) -> TaskFiles:
    """The task's files; the leaderboard and reference scores come from its ladder."""
    frame, mask = _order(spec, data)
    train, test_full = frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)
    answers = test_full[["id", spec.target]]
    test = test_full.drop(columns=[spec.target])
    sample = sample_submission(spec.metric, spec.target, spec.positive_class, train[spec.target], test["id"])
    config = TaskConfig(
        name=spec.name, metric=spec.metric, id_column="id", target_columns=(spec.target,),
        seed=spec_seed(spec.name), positive_class=spec.positive_class, crowded=crowded,
        time_column=spec.time_column if spec.split == "time" else "",
        reference_scores=reference_scores,
    )
    return TaskFiles(
        config=config, description=_description(spec, data, train, test, sample), train=train, test=test,
        sample_submission=sample, answers=answers, leaderboard=leaderboard,
        extra_tables=data.extra_tables, extra_files=data.extra_files,
    )
