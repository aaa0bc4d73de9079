"""Run a gome team session from a script: a bundled task, a model client, a role override, two traces;
then inspect the result and the agents' conversation.

The model here is scripted (a function of the conversation), so the example runs offline in seconds.
For a real model, drop `client=` and set `model=gome.ModelConfig(base_url=..., model=...)`.
Run: python examples/scripted_session.py [WORKDIR]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import gome

FOREST = """import pandas as pd
from sklearn.ensemble import RandomForestClassifier
train, test = pd.read_csv("input/train.csv"), pd.read_csv("input/test.csv")
cols = [c for c in train.columns if c not in ("id", "species")]
both = pd.get_dummies(pd.concat([train[cols], test[cols]]), dummy_na=True).fillna(0)
model = RandomForestClassifier(n_estimators={trees}, random_state=0).fit(both[: len(train)], train["species"])
pd.DataFrame({{"id": test["id"], "species": model.predict(both[len(train):])}}).to_csv("submission.csv", index=False)
"""


def model(messages) -> str:
    """Replies by role: the Coder writes forests that grow, the others answer in JSON."""
    system, user = str(messages[0].content), str(messages[-1].content)
    if "You write Python for" in system:  # our overriding Coder prompt, see roles/coder.md below
        trees = 5 if "Write a first" in user else 50
        return "```python\n" + FOREST.format(trees=trees) + "```"
    if "Diagnostician" in system:
        return json.dumps({"summary": "it ran", "direction": "use more trees"})
    return json.dumps({"direction": "use more trees", "step_size": "targeted", "changes": ["n_estimators=50"]})


def main(workdir: Path) -> gome.RunResult:
    task = gome.prepare_task("penguins", workdir / "tasks" / "penguins")
    roles = workdir / "roles"  # override one role by file; the others stay the packaged defaults
    roles.mkdir(parents=True, exist_ok=True)
    default = gome.load_roles()["coder"].path.read_text()
    (roles / "coder.md").write_text(default.replace("You are the Coder of a machine-learning engineering team.",
                                                    "You write Python for a machine-learning team."))
    config = gome.RunConfig(task_dir=task, runs_dir=workdir / "runs", steps=3, traces=2, roles_dir=roles,
                            final_seeds=0)
    result = gome.run_sync(config, client=gome.ScriptedChatCompletionClient(model))
    print(f"best attempt {result.best_attempt}, dev score {result.dev_score}, final score {result.grade.score}")
    for event in gome.read_events(result.run_dir / "events.jsonl"):
        if event.kind == "agent_message" and event.source != "user":
            print(f"trace {event.trace} step {event.step}: {event.source} -> {event.target}")
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gome-example-")))
