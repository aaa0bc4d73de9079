"""Reference solutions for tables: dummy, gradient boosting with early stopping, a small search, a blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)

from gome.tasks.suite.problem import Problem, blend_weight, holdout

__all__ = ["SEARCH", "tabular_features", "tabular_level"]

_MAX_CATEGORIES = 200
SEARCH: tuple[dict[str, float], ...] = (
    {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 20, "l2_regularization": 1.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 40, "max_features": 0.5},
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 80, "l2_regularization": 3.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 31, "min_samples_leaf": 20, "max_features": 0.7},
)
_SEARCH_ROWS = 40_000


def _time_features(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    stamp = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    out = frame.drop(columns=[column])
    out["t_year"], out["t_month"], out["t_doy"] = stamp.dt.year, stamp.dt.month, stamp.dt.day_of_year
    out["t_dow"], out["t_hour"] = stamp.dt.day_of_week, stamp.dt.hour + stamp.dt.minute / 60
    out["t_days"] = (stamp - pd.Timestamp("2000-01-01")).dt.days
    return out


def tabular_features(problem: Problem) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test features: joins (spec.featurize), calendar parts of the time column, categories."""
    task, spec = problem.task, problem.spec
    frames = [problem.train.drop(columns=list(task.target_columns)), problem.test]
    frames = [f.drop(columns=[task.id_column]) for f in frames]
    if spec.featurize is not None:
        frames = [spec.featurize(f, task.public_dir) for f in frames]
    if spec.time_column and spec.time_column in frames[0].columns:
        frames = [_time_features(f, spec.time_column) for f in frames]
    train, test = frames
    for col in train.columns:
        if pd.api.types.is_bool_dtype(train[col]):
            train[col], test[col] = train[col].astype(int), test[col].astype(int)
        elif not pd.api.types.is_numeric_dtype(train[col]):
            train[col], test[col] = _encode(train[col], test[col])
    return train, test


def _encode(train: pd.Series, test: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Few values: a pandas category (native in HGB); many: the value's frequency rank in train."""
    counts = train.astype(str).value_counts()
    if len(counts) <= _MAX_CATEGORIES:
        dtype = pd.CategoricalDtype(sorted(counts.index))
        return train.astype(str).astype(dtype), test.astype(str).astype(dtype)
    rank = {v: float(k) for k, v in enumerate(counts.index)}
    return train.astype(str).map(rank), test.astype(str).map(rank).astype(float)


def _target(problem: Problem, rows: np.ndarray | slice) -> np.ndarray:
    y = problem.y[rows]
    return np.log1p(y) if problem.log_target else y


def _out(problem: Problem, pred: np.ndarray) -> np.ndarray:
    return np.expm1(pred) if problem.log_target else pred


def _predict(problem: Problem, model: object, x: pd.DataFrame) -> np.ndarray:
    """Class probabilities in problem.classes order, or values (in model space)."""
    if not problem.classify:
        return model.predict(x)  # type: ignore[attr-defined]
    proba = model.predict_proba(x)  # type: ignore[attr-defined]
    order = [list(model.classes_).index(c) for c in problem.classes]  # type: ignore[attr-defined]
    return proba[:, order]


def _hgb(problem: Problem, params: dict[str, float], seed: int = 0) -> object:
    common = dict(early_stopping=True, validation_fraction=0.1, n_iter_no_change=20, max_iter=2000,
                  categorical_features="from_dtype", random_state=seed, **params)
    if problem.classify:
        return HistGradientBoostingClassifier(**common)
    loss = "absolute_error" if problem.task.metric == "mae" else "squared_error"
    return HistGradientBoostingRegressor(loss=loss, **common)


def _extra_trees(problem: Problem, n_rows: int) -> object:
    share = min(1.0, 50_000 / max(n_rows, 1))
    common = dict(n_estimators=150, min_samples_leaf=2, max_features=0.5, bootstrap=share < 1.0,
                  max_samples=share if share < 1.0 else None, n_jobs=2, random_state=0)
    return ExtraTreesClassifier(**common) if problem.classify else ExtraTreesRegressor(**common)


def _numeric(x: pd.DataFrame) -> pd.DataFrame:
    """Categories as codes and missing values as -999, for models without native support."""
    out = x.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].cat.codes
    return out.astype(float).fillna(-999.0)


def _fit(model: object, problem: Problem, x: pd.DataFrame, rows: np.ndarray | slice) -> object:
    return model.fit(x.iloc[rows] if not isinstance(rows, slice) else x, _target(problem, rows))  # type: ignore[attr-defined]


def _search(problem: Problem, x: pd.DataFrame) -> list[tuple[float, dict[str, float], np.ndarray]]:
    """Each SEARCH config fitted on a holdout split: (validation score, params, validation predictions), best first."""
    fit, val = holdout(problem, limit=_SEARCH_ROWS)
    results = []
    for params in SEARCH:
        pred = _predict(problem, _fit(_hgb(problem, params), problem, x, fit), x.iloc[val])
        results.append((problem.score(problem.y[val], _out(problem, pred)), params, pred))
    results.sort(key=lambda r: r[0], reverse=not problem.task.lower_is_better)
    return results


def _expert(problem: Problem, x: pd.DataFrame, x_test: pd.DataFrame) -> np.ndarray:
    """The two best searched configs blended with extra trees; the weight is chosen on the holdout."""
    ranked = _search(problem, x)
    fit, val = holdout(problem, limit=_SEARCH_ROWS)
    trees_val = _predict(problem, _fit(_extra_trees(problem, len(fit)), problem, _numeric(x), fit),
                         _numeric(x.iloc[val]))
    boost_val = (ranked[0][2] + ranked[1][2]) / 2
    w = blend_weight(problem, problem.y[val], _out(problem, boost_val), _out(problem, trees_val))
    everything = slice(None)
    boosts = [_predict(problem, _fit(_hgb(problem, p), problem, x, everything), x_test) for _, p, _ in ranked[:2]]
    pred = w * np.mean(boosts, axis=0)
    if w < 1:
        trees = _fit(_extra_trees(problem, len(x)), problem, _numeric(x), everything)
        pred = pred + (1 - w) * _predict(problem, trees, _numeric(x_test))
    return pred


def tabular_level(problem: Problem, level: str) -> np.ndarray:
    """Test predictions of one reference level (probabilities or values, ready for `Problem.submission`)."""
    x, x_test = tabular_features(problem)
    everything = slice(None)
    if level == "dummy":
        if problem.classify:
            model = DummyClassifier(strategy="prior")
        else:
            model = DummyRegressor(strategy="median" if problem.task.metric == "mae" else "mean")
        return _out(problem, _predict(problem, _fit(model, problem, x, everything), x_test))
    if level == "default":
        return _out(problem, _predict(problem, _fit(_hgb(problem, {}), problem, x, everything), x_test))
    if level == "tuned":
        params = _search(problem, x)[0][1]
        return _out(problem, _predict(problem, _fit(_hgb(problem, params), problem, x, everything), x_test))
    return _out(problem, _expert(problem, x, x_test))
