"""A starter script for a task: reads the data, builds plain features, fits a placeholder model and writes a
valid submission. The Coder drafts from it, so a small model spends its effort on the model, not on the
submission format. Its placeholder (a prior / mean predictor) scores like the task's dummy level."""

from __future__ import annotations

import ast

import pandas as pd

from gome.tasks.errors import TaskError
from gome.tasks.metrics import as_labels, positive_label, prediction_columns
from gome.tasks.task import Task

__all__ = ["starter_script", "strip_placeholder", "keeps_placeholder", "split_starter_tail"]

PLACEHOLDER_NOTE = "  # placeholder: replace with a real model"

# the metric as sklearn code on (y_va, pred); pred is a label, a number or the submission's probability columns
_VALIDATION = {
    "accuracy": ("accuracy_score", "accuracy_score(y_va, pred)"),
    "macro_f1": ("f1_score", 'f1_score(y_va, pred, average="macro")'),
    "qwk": ("cohen_kappa_score", 'cohen_kappa_score(y_va, pred, weights="quadratic")'),
    "roc_auc": ("roc_auc_score", "roc_auc_score(y_va.astype(str) == POSITIVE, pred[COLUMNS[0]])"),
    "log_loss": ("log_loss", "log_loss(y_va.astype(str), pred[COLUMNS].to_numpy(), labels=CLASSES)"),
    "rmse": ("mean_squared_error", "mean_squared_error(y_va, pred) ** 0.5"),
    "rmsle": ("mean_squared_log_error", "mean_squared_log_error(np.expm1(y_va), pred) ** 0.5"),
    "mae": ("mean_absolute_error", "mean_absolute_error(y_va, pred)"),
}

_PREDICT = {
    "label": "def predict(model, X):\n    return model.predict(X)\n",
    "regression": "def predict(model, X):\n    return model.predict(X)\n",
    "log_regression": "def predict(model, X):\n    return np.expm1(model.predict(X)).clip(LOW, HIGH)\n",
    "probability": (
        "def predict(model, X):\n"
        "    \"\"\"The submission's probability columns, one per class it names.\"\"\"\n"
        "    proba = pd.DataFrame(model.predict_proba(X), columns=[str(c) for c in model.classes_], index=X.index)\n"
        "    return pd.DataFrame({column: proba[cls] for column, cls in zip(COLUMNS, CLASSES)})\n"
    ),
}

_TEMPLATE = '''\
import numpy as np
import pandas as pd
from sklearn.dummy import {placeholder}
from sklearn.metrics import {metric_import}
from sklearn.model_selection import train_test_split

ID, TARGET = {id!r}, {target!r}
{constants}
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")


def features(train, test):
    """Numeric columns, plus one-hot columns of text columns with few distinct values."""
    both = pd.concat([train.drop(columns=[ID, TARGET]), test.drop(columns=[ID])], keys=["train", "test"])
    few = [c for c in both.select_dtypes(exclude="number").columns if both[c].nunique() <= 30]
    keep = list(both.select_dtypes("number").columns) + few
    if not keep:  # nothing usable yet: build features from the other columns
        keep, both["constant"] = ["constant"], 0.0
    both = pd.get_dummies(both[keep], columns=few, dtype=float)
    both = both.fillna(both.median()).fillna(0)
    return both.loc["train"], both.loc["test"]


def make_model():
    return {placeholder_call}{note}


{predict}

X, X_test = features(train, test)
y = {y}
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, random_state=0)
fitted = make_model().fit(X_tr, y_tr)
pred = predict(fitted, X_va)
print("validation_score:", {validation})
pred = predict(fitted, X_tr[: len(X_va)])  # as many rows it was fit on: far better than validation_score means overfitting
print("train_score:", {train})

model = make_model().fit(X, y)
submission = pd.DataFrame({{ID: test[ID].to_numpy()}})
{write}
submission.to_csv("submission.csv", index=False)
'''


def starter_script(task: Task, train: pd.DataFrame | None = None) -> str:
    """The starter script of `task`, or "" where the layout has no single target column in train.csv."""
    if len(task.target_columns) != 1 or task.validation != "holdout":
        return ""
    target, kind = task.target_columns[0], task.metric_spec.kind
    if train is None:
        train = pd.read_csv(task.public_dir / "train.csv", usecols=[target])
    if target not in train.columns:
        return ""
    columns = prediction_columns(task)
    values: dict[str, str] = dict(id=task.id_column, target=target, constants="", y="train[TARGET]")
    if kind == "probability":
        classes = sorted(set(as_labels(train[target].dropna())))
        try:
            chosen = [positive_label(task, c, classes) for c in columns]
        except TaskError:
            return ""
        values["constants"] = f"COLUMNS = {columns!r}\nCLASSES = {chosen!r}  # the class each column holds\n"
        if len(columns) == 1:
            values["constants"] += f"POSITIVE = {chosen[0]!r}\n"
        values["y"] = "pd.Series(train[TARGET].astype(str).to_numpy(), index=train.index)"
        values["write"] = "submission = pd.concat([submission, predict(model, X_test).reset_index(drop=True)], axis=1)"
        placeholder, call = "DummyClassifier", 'DummyClassifier(strategy="prior")'
    else:
        values["write"] = "submission[TARGET] = predict(model, X_test)"
        if kind == "label":
            placeholder, call = "DummyClassifier", 'DummyClassifier(strategy="most_frequent")'
        else:
            placeholder, call = "DummyRegressor", 'DummyRegressor(strategy="mean")'
            if task.metric == "rmsle":  # fit log1p(target), which RMSLE scores, and never predict far outside it
                low, high = float(train[target].min()), float(train[target].max())
                values["constants"] = f"LOW, HIGH = {low!r}, {high!r}  # the range of the training target\n"
                values["y"] = "np.log1p(train[TARGET])  # RMSLE is the RMSE of log1p: the model fits log1p(target)"
    metric_import, validation = _VALIDATION[task.metric]
    return _TEMPLATE.format(
        **values, placeholder=placeholder, placeholder_call=call, metric_import=metric_import, note=PLACEHOLDER_NOTE,
        validation=validation, train=validation.replace("y_va", "y_tr[: len(X_va)]"),
        predict=_PREDICT["log_regression" if task.metric == "rmsle" else kind],
    )


def keeps_placeholder(code: str) -> bool:
    """Whether make_model() still returns the starter's placeholder (a dummy model that fits no feature)."""
    return any(line.endswith(PLACEHOLDER_NOTE) and "Dummy" in line for line in code.splitlines())


def strip_placeholder(code: str) -> str:
    """Once make_model() no longer returns the placeholder, its note and the unused dummy import go, so
    nothing stale tells a reader that the script still fits a placeholder."""
    if PLACEHOLDER_NOTE not in code and "from sklearn.dummy import" not in code:
        return code
    kept: list[str] = []
    for line in code.splitlines():
        if line.endswith(PLACEHOLDER_NOTE) and "Dummy" not in line:
            line = line[: -len(PLACEHOLDER_NOTE)]
        if line.startswith("from sklearn.dummy import "):
            names = [n.strip() for n in line.split("import", 1)[1].split(",")]
            rest = "\n".join(kept) + code[code.find(line) + len(line):]
            if not any(n in rest for n in names):
                continue
        kept.append(line)
    return "\n".join(kept) + ("\n" if code.endswith("\n") else "")


def _after_make_model(code: str) -> int | None:
    """The line index just after make_model()'s body, or None (no make_model(), or not Python)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    make = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_model"), None)
    return make.end_lineno if make is not None else None


def split_starter_tail(code: str, starter: str) -> tuple[str, bool]:
    """The script up to the end of make_model(), and True, where everything after it is the starter's code
    unchanged (its predict(), validation and submission): a reader who knows the starter can skip it.
    Otherwise the whole script and False."""
    end, start_end = _after_make_model(code), _after_make_model(starter) if starter else None
    if end is None or start_end is None:
        return code, False
    lines, starter_lines = code.splitlines(keepends=True), starter.splitlines(keepends=True)
    if "".join(lines[end:]).strip() != "".join(starter_lines[start_end:]).strip():
        return code, False
    return "".join(lines[:end]), True
