"""A scripted model for the penguins task: replies are a function of the prompt texts.

The Coder's first draft crashes (strings fed to a model), the debug round fixes it with a weak
one-feature tree, the first improvement one-hot encodes everything into a random forest, and later
improvements return a majority-class script that scores worse and must be rejected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from gome.llm.retry import CURRENT_AGENT

DRAFT_BUGGY = '''import pandas as pd
from sklearn.linear_model import LogisticRegression
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
X = train.drop(columns=["id", "species"])
model = LogisticRegression().fit(X, train["species"])
pd.DataFrame({"id": test["id"], "species": model.predict(test.drop(columns=["id"]))}).to_csv("submission.csv", index=False)
'''

DEBUGGED_WEAK = '''import pandas as pd
from sklearn.tree import DecisionTreeClassifier
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
cols = ["bill_length_mm"]
fill = train[cols].median()
model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(train[cols].fillna(fill), train["species"])
print("weak tree fitted")
pd.DataFrame({"id": test["id"], "species": model.predict(test[cols].fillna(fill))}).to_csv("submission.csv", index=False)
'''

IMPROVED_FOREST = '''import pandas as pd
from sklearn.ensemble import RandomForestClassifier
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
features = [c for c in train.columns if c not in ("id", "species")]
both = pd.get_dummies(pd.concat([train[features], test[features]]), dummy_na=True)
both = both.fillna(both.median(numeric_only=True))
X, X_test = both.iloc[: len(train)], both.iloc[len(train):]
model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1).fit(X, train["species"])
print("forest fitted")
pd.DataFrame({"id": test["id"], "species": model.predict(X_test)}).to_csv("submission.csv", index=False)
'''

WORSE_MAJORITY = '''import pandas as pd
train = pd.read_csv("input/train.csv")
test = pd.read_csv("input/test.csv")
pd.DataFrame({"id": test["id"], "species": train["species"].mode()[0]}).to_csv("submission.csv", index=False)
'''


def majority_variant(k: int) -> str:
    """The majority class for every test row but every k-th, which gets the second most common class: a script
    that differs from the majority's in its predictions, not in a comment only (gome ignores comments)."""
    return WORSE_MAJORITY.replace('train["species"].mode()[0]',
                                  f'[train["species"].mode()[0] if i % {k} else train["species"].value_counts().index[1] '
                                  'for i in range(len(test))]')


def stuck_reply(texts: list[str], variants: Iterator[int]) -> str | None:
    """The reply of a trace stuck near the majority class: the draft of the trace that is told what the others
    drafted, then a new variant whenever the Coder starts from such a script (asked again after a repeat too);
    None for every other request."""
    if "Other traces already drafted" in texts[-1]:
        return _fence(WORSE_MAJORITY)
    shown = re.search(r"```python\n(.*?)```", texts[1], re.DOTALL) if agent_of(texts) == "coder" else None
    return _fence(majority_variant(next(variants))) if shown and ".mode()[0]" in shown.group(1) else None


def _fence(code: str) -> str:
    return f"Here is the script.\n```python\n{code}```\n"


def coder_reply(user: str) -> str:
    """Keyed on the data in the prompt (the script it is shown, the error), not on the role's prose."""
    if "could not convert string to float" in user:  # the draft's crash, shown for debugging
        return _fence(DEBUGGED_WEAK)
    shown = re.search(r"```python\n(.*?)```", user, re.DOTALL)
    script = shown.group(1) if shown else user  # the script the Coder is shown, not the plan's edit
    if "RandomForestClassifier(n_estimators" in script:
        return _fence(WORSE_MAJORITY)
    if "DecisionTreeClassifier(max_depth=1" in script:
        return _fence(IMPROVED_FOREST)
    return _fence(DRAFT_BUGGY)


def diagnostician_reply(user: str) -> str:
    crashed = "status: crashed" in user
    return json.dumps({
        "summary": "The script crashed." if crashed else "The script ran and produced a valid submission.",
        "problems": ["string columns reach the model"] if crashed else ["only one feature is used"],
        "evidence": ["ValueError in stderr"] if crashed else ["the tree uses bill_length_mm only"],
        "direction": "encode the categorical columns" if crashed else "use all features with one-hot encoding and a random forest",
        "expected_effect": "higher accuracy",
        "leak_or_overfit": False,
    })


def memory_keeper_reply(texts: list[str]) -> str:
    """The same plan each time; asked again in the same conversation (its plan repeated a failure), another."""
    refs = sorted(set(re.findall(r"\b(m\d+-\d+) \(gain", texts[1])))
    again = len(texts) > 2
    return "```json\n" + json.dumps({
        "direction": "tune the number of trees of the forest" if again else
                     "use all features with one-hot encoding and a random forest",
        "step_size": "moderate",
        "changes": ["set n_estimators to 400"] if again else ["one-hot encode island and sex", "fit a RandomForestClassifier"],
        "memory_refs": refs,
    }) + "\n```"


def agent_of(texts: list[str]) -> str:
    """The agent a request comes from: gome's own record of the speaking agent (in-process), else the
    reply schema the system prompt asks for (over HTTP); "" for the endpoint check."""
    agent = CURRENT_AGENT.get()
    if agent:
        return agent
    if texts == ["Reply with OK."]:
        return ""
    if '"leak_or_overfit"' in texts[0]:
        return "diagnostician"
    if '"memory_refs"' in texts[0]:
        return "memory_keeper"
    return "coder"


REPLIES = {"coder": coder_reply, "diagnostician": diagnostician_reply}


def policy(texts: list[str]) -> str:
    """The reply to a conversation given as the list of its message texts (system first)."""
    if texts == ["Reply with OK."]:  # gome's endpoint check before a run
        return "OK"
    agent = agent_of(texts)
    return memory_keeper_reply(texts) if agent == "memory_keeper" else REPLIES[agent](texts[-1])
