"""The bundled `penguins` task: species from Palmer penguins measurements, scored by accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins
from sklearn.base import ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from gome.tasks.bundled import TaskFiles
from gome.tasks.task import TaskConfig

__all__ = ["build_penguins", "SEED"]

SEED = 7
TARGET = "species"
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]

DESCRIPTION = """# Palmer penguins: predict the species

Each row is one penguin observed on islands of the Palmer Archipelago, Antarctica (2007-2009).
Predict its `species`: one of `Adelie`, `Chinstrap`, `Gentoo`.

## Files
- `train.csv`: penguins with their species.
- `test.csv`: penguins whose species you must predict (same columns, without `species`).
- `sample_submission.csv`: a valid submission in the required format.

## Columns
- `id`: a random identifier (8 hexadecimal characters); it carries no information.
- `island`: Biscoe, Dream or Torgersen.
- `bill_length_mm`, `bill_depth_mm`: bill (culmen) length and depth in millimetres.
- `flipper_length_mm`: flipper length in millimetres.
- `body_mass_g`: body mass in grams.
- `sex`: male or female.
- `year`: year of the observation.
Some measurements and some `sex` values are missing (empty cells).

## Metric
Accuracy: the fraction of test penguins whose species is predicted exactly (higher is better).

## Submission format
A CSV file `submission.csv` with a header and one row per test id:
```
id,species
0a1b2c3d,Adelie
```
"""


def _reference_models() -> dict[str, tuple[list[str], ClassifierMixin]]:
    """Reference teams: (feature columns, estimator), each deterministic."""
    num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    cat = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    both = ColumnTransformer([("num", num, NUMERIC + ["year"]), ("cat", cat, CATEGORICAL)])
    only_num = ColumnTransformer([("num", num, NUMERIC)])
    return {
        "majority-class": (NUMERIC, DummyClassifier(strategy="most_frequent")),
        "stump-flipper-length": (["flipper_length_mm"], make_pipeline(
            SimpleImputer(strategy="median"), DecisionTreeClassifier(max_depth=1, random_state=0))),
        "knn-bill-length": (["bill_length_mm"], make_pipeline(
            SimpleImputer(strategy="median"), KNeighborsClassifier(n_neighbors=15))),
        "naive-bayes-numeric": (NUMERIC, Pipeline([("prep", only_num), ("nb", GaussianNB())])),
        "tree-depth2-numeric": (NUMERIC, Pipeline([
            ("prep", only_num), ("tree", DecisionTreeClassifier(max_depth=2, random_state=0))])),
        "logreg-numeric": (NUMERIC, Pipeline([("prep", only_num), ("lr", LogisticRegression(max_iter=1000))])),
        "random-forest-onehot": (NUMERIC + ["year"] + CATEGORICAL, Pipeline([
            ("prep", both), ("rf", RandomForestClassifier(n_estimators=200, random_state=0))])),
        "gradient-boosting-onehot": (NUMERIC + ["year"] + CATEGORICAL, Pipeline([
            ("prep", both), ("gb", GradientBoostingClassifier(random_state=0))])),
    }


def reference_leaderboard(train: pd.DataFrame, test: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Train each reference model on train, score accuracy on test; best first."""
    truth = answers[TARGET].to_numpy()
    rows = []
    for team, (columns, model) in _reference_models().items():
        fitted = clone(model).fit(train[columns], train[TARGET])
        accuracy = float(np.mean(fitted.predict(test[columns]) == truth))
        rows.append({"teamName": team, "score": round(accuracy, 5)})
    board = pd.DataFrame(rows)
    return board.sort_values(["score", "teamName"], ascending=[False, True]).reset_index(drop=True)


def _with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    ids = rng.choice(16**8, size=len(frame), replace=False)
    out = frame.copy()
    out.insert(0, "id", [f"{int(i):08x}" for i in ids])
    return out


def build_penguins() -> TaskFiles:
    """The penguins task: seeded random ids, a 30% stratified test split, honest reference leaderboard."""
    data = _with_ids(load_penguins())
    train, test_full = train_test_split(data, test_size=0.3, random_state=SEED, stratify=data[TARGET])
    train, test_full = train.reset_index(drop=True), test_full.reset_index(drop=True)
    answers = test_full[["id", TARGET]]
    test = test_full.drop(columns=[TARGET])
    sample = pd.DataFrame({"id": test["id"], TARGET: "Adelie"})
    config = TaskConfig(name="penguins", metric="accuracy", id_column="id", target_columns=(TARGET,), seed=SEED)
    return TaskFiles(
        config=config,
        description=DESCRIPTION,
        train=train,
        test=test,
        sample_submission=sample,
        answers=answers,
        leaderboard=reference_leaderboard(train, test, answers),
    )
