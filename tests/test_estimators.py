"""Reading what model a script builds from its code: the calls, the arguments that restate a default, the
values that would change the model, and the history rows that show them to the agents."""

from __future__ import annotations

from gome.agents.views import history_text
from gome.schema import Attempt
from gome.tools.estimators import calls_text, estimator_calls, other_values

SCRIPT = '''import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingClassifier as GBC, RandomForestClassifier

def make_model():
    SimpleImputer(strategy="median")
    train_test_split([1, 2], test_size=0.5)
    return GBC(n_estimators=100, learning_rate=0.1, max_depth=5, warm_start=False, random_state=0)
'''


def test_model_calls_and_the_arguments_that_restate_defaults() -> None:
    (call,) = estimator_calls(SCRIPT)  # the imputer and the split are not models
    assert call.name == "GradientBoostingClassifier"  # the class behind the alias
    assert call.defaults == (("n_estimators", 100), ("learning_rate", 0.1), ("warm_start", False))  # not max_depth=5
    assert other_values(call) == ["n_estimators=300", "learning_rate=0.05", "warm_start=True"]
    assert calls_text(SCRIPT) == "GBC(n_estimators=100, learning_rate=0.1, max_depth=5, warm_start=False, random_state=0)"
    assert estimator_calls("def broken(:\n") == () and calls_text("print(1)\n") == ""


def test_the_history_shows_what_each_attempt_built() -> None:
    attempt = Attempt(id="0-002", trace=0, step=2, parent_id="0-001", kind="improve", score=0.8, status="ok",
                      accepted=False, outcome="no-op", code=SCRIPT)
    assert history_text([attempt]) == ("0-002 improve ok score=0.8 no-op · built GBC(n_estimators=100, learning_rate=0.1, "
                                       "max_depth=5, warm_start=False, random_state=0)")
