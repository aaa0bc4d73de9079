"""Strategies in the same harness: AIDE-style tree search, and the adaptive hybrid that shifts effort
away from directed updates when the diagnoses mislead, and stays directed when they help."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path

import pytest

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import AgentMessage, Attempt, OptimizerStep
from gome.tasks import prepare_task
from gome.optim import Strategy, tree_pick
from scripted_model import agent_of

CORRUPTED = '''import pandas as pd
from sklearn.ensemble import RandomForestClassifier
CORRUPT = {k}
train, test = pd.read_csv("input/train.csv"), pd.read_csv("input/test.csv")
cols = [c for c in train.columns if c not in ("id", "species")]
both = pd.get_dummies(pd.concat([train[cols], test[cols]]), dummy_na=True).fillna(0)
model = RandomForestClassifier(n_estimators=50, random_state=0).fit(both[: len(train)], train["species"])
pred = list(model.predict(both[len(train):]))
classes = sorted(train["species"].unique())
for i in range(min(CORRUPT, len(pred))):
    pred[i] = classes[(classes.index(pred[i]) + 1) % len(classes)]
pd.DataFrame({{"id": test["id"], "species": pred}}).to_csv("submission.csv", index=False)
'''


def _a(id: str, kind: str, status: str, score: float | None, parent: str | None = None, mode: str = "directed") -> Attempt:
    return Attempt(id=id, trace=0, step=int(id.split("-")[1]), parent_id=parent, kind=kind, score=score,
                   status=status, accepted=False, mode=mode)


def test_tree_policy() -> None:
    rng = random.Random(0)
    drafts = [_a("0-001", "draft", "ok", 0.5), _a("0-002", "draft", "crashed", None)]
    assert tree_pick(drafts, False, rng, 3, 0.5, 3) == ("draft", None)
    journal = drafts + [_a("0-003", "draft", "ok", 0.7)]
    assert tree_pick(journal, False, rng, 3, 0.0, 3) == ("improve", "0-003")
    assert tree_pick(journal, True, rng, 3, 0.0, 3) == ("improve", "0-001")
    assert tree_pick(journal, False, rng, 3, 1.0, 3) == ("debug", "0-002")
    deep = journal + [_a("0-004", "debug", "crashed", None, "0-002"), _a("0-005", "debug", "crashed", None, "0-004")]
    assert tree_pick(deep, False, rng, 3, 1.0, 2) == ("improve", "0-003")  # the buggy leaf is too deep


def test_hybrid_reliability_estimate() -> None:
    strategy = Strategy("hybrid")
    for accepted in (False, False, False):
        strategy.observe(_a("0-002", "improve", "ok", 0.1).model_copy(update={"accepted": accepted}))
    assert strategy.trials == 3 and strategy.reliability == pytest.approx(1 / 5)
    strategy.observe(_a("0-003", "improve", "ok", 0.1, mode="explore"))  # exploration does not count
    assert strategy.trials == 3


def corrupted_model(misleading: bool, first: int = 24):
    """Scripts that flip the first CORRUPT of the dev rows' predictions: a draft `first`, a directed update 6 more
    (misleading) or 4 fewer, an exploratory one 2 fewer."""
    def reply(texts: list[str]) -> str:
        user, agent = texts[-1], agent_of(texts)
        if not agent:
            return "OK"
        if agent == "diagnostician":
            return json.dumps({"summary": "ran", "direction": "reduce CORRUPT"})
        if agent == "memory_keeper":
            return json.dumps({"direction": "reduce CORRUPT", "step_size": "targeted"})
        found = re.search(r"CORRUPT = (\d+)", user)
        if found is None:  # a draft
            k = first
        elif "Direction:" in user:  # a directed update, following the plan
            k = int(found.group(1)) + (6 if misleading else -4)
        else:  # an exploratory update with scalar feedback
            k = max(0, int(found.group(1)) - 2)
        return "```python\n" + CORRUPTED.format(k=max(0, k)) + "```"

    return reply


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")


def _steps(task: Path, runs: Path, strategy: str, reply, steps: int) -> list:
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    # accept_z 0: a scripted update moves 4 of penguins' 48 dev rows, about two paired standard errors;
    # these tests are about choosing between directed and exploratory steps, not about acceptance; no moves:
    # gome's own edit of the model would carry a directed step whatever the (corrupted) diagnosis said
    config = RunConfig(task_dir=task, runs_dir=runs, steps=steps, strategy=strategy, exec_timeout_s=120,
                       final_seeds=0, num_drafts=2, accept_z=0.0, moves=False,
                       ensemble_after=1.0)  # no ensemble stage, whose steps are all directed
    result = asyncio.run(run(config, client=client))
    assert result.grade is not None and result.grade.valid_submission
    return list(read_events(result.run_dir / "events.jsonl"))


def test_tree_search_uses_scalar_feedback_only(penguins: Path, tmp_path: Path) -> None:
    prompts: list[str] = []
    inner = corrupted_model(False)

    def reply(texts: list[str]) -> str:
        prompts.append(texts[-1])
        return inner(texts)

    events = _steps(penguins, tmp_path, "tree", reply, 5)
    assert "- 0-001: RandomForestClassifier" in prompts[1]  # the second draft is told what the first used
    assert {e.source for e in events if isinstance(e, AgentMessage)} == {"user", "coder", "executor"}
    steps = [e for e in events if isinstance(e, OptimizerStep)]
    assert [s.attempt.kind for s in steps[:2]] == ["draft", "draft"]
    assert all(s.attempt.kind == "improve" and s.mode == "explore" for s in steps[2:])
    assert steps[-1].best_score > steps[0].attempt.score  # greedy improvement of the best node


def test_hybrid_shifts_to_exploration_when_diagnoses_mislead(penguins: Path, tmp_path: Path) -> None:
    misled = [e for e in _steps(penguins, tmp_path / "a", "hybrid", corrupted_model(True), 10)
              if isinstance(e, OptimizerStep)]
    helped = [e for e in _steps(penguins, tmp_path / "b", "hybrid", corrupted_model(False, first=40), 10)  # room to help
              if isinstance(e, OptimizerStep)]
    explore_misled = sum(s.attempt.mode == "explore" for s in misled[-6:])  # the modes of the last six steps taken
    explore_helped = sum(s.attempt.mode == "explore" for s in helped[-6:])
    assert misled[-1].reliability < 0.35 < 0.7 < helped[-1].reliability
    assert explore_misled >= 4 and explore_helped <= 2, (explore_misled, explore_helped)
