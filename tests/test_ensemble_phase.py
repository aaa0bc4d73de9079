"""The schedule over the budget: after 70 % of the steps a directed step drafts another kind of model for
the blend (no plan, no Memory Keeper), and after the search the ensemble stage blends the pool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import AgentMessage, Blended, OptimizerStep, Selection
from gome.tasks import load_task, make_dev_split, prepare_task
from gome.tools.moves import apply_move
from scripted_model import agent_of, policy

KNN = '''```python
from sklearn.neighbors import KNeighborsClassifier


def make_model():
    return KNeighborsClassifier(n_neighbors=7)
```
'''


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory: pytest.TempPathFactory):
    prompts: list[str] = []

    def reply(texts: list[str]) -> str:
        if agent_of(texts) == "coder" and "Ensemble stage" in texts[-1]:
            prompts.append(texts[-1])
            return KNN
        return policy(texts)

    task = prepare_task("penguins", tmp_path_factory.mktemp("tasks") / "penguins")
    roles = tmp_path_factory.mktemp("roles")  # the families to propose, in order (the forest is used already)
    (roles / "messages.yaml").write_text('ensemble_classifiers: ["RandomForestClassifier", "ExtraTreesClassifier"]\n')
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    # without moves, the Coder writes the ensemble stage's draft (with them gome makes it: test_agents.py)
    config = RunConfig(task_dir=task, runs_dir=tmp_path_factory.mktemp("runs"), steps=4, exec_timeout_s=120,
                       final_seeds=1, roles_dir=roles, moves=False)
    result = asyncio.run(run(config, client=client))
    return list(read_events(result.run_dir / "events.jsonl")), prompts


def test_the_last_part_of_the_budget_drafts_another_model(ensemble_run) -> None:
    events, prompts = ensemble_run
    attempts = [e.attempt for e in events if isinstance(e, OptimizerStep)]
    assert [(a.kind, a.status) for a in attempts] == [("draft", "crashed"), ("debug", "ok"), ("improve", "ok"), ("draft", "ok")]
    last = attempts[-1]
    assert last.plan is None and last.parent_id is None and "KNeighborsClassifier" in last.code
    assert len(prompts) == 1 and "0-003" in prompts[0] and "RandomForestClassifier" in prompts[0]  # names the best's model
    # proposes the first model family of messages.yaml's list that no script of the trace used
    assert "Use ExtraTreesClassifier (`from sklearn.ensemble import ExtraTreesClassifier`)" in prompts[0]
    plans = [e for e in events if isinstance(e, AgentMessage) and e.source == "memory_keeper"]
    assert [p.step for p in plans] == [2]  # asked for the improvement's plan only
    assert ("diagnostician", "coder") in {(e.source, e.target) for e in events if isinstance(e, AgentMessage)}


def test_the_ensemble_stage_blends_the_pool_and_the_verdict_decides_the_candidates(ensemble_run) -> None:
    events, _ = ensemble_run
    blended = next(e for e in events if isinstance(e, Blended))
    assert blended.tried[0] == "0-003" and "0-004" in blended.tried  # the best first, the draft among them
    assert blended.reason and (blended.accepted == bool(blended.weights and len(blended.weights) > 1 and blended.gain
                                                         and blended.gain > 2 * (blended.gain_se or 0)))
    # the selection re-scores on an extra split (final_seeds=1): a blend within the noise (or above it) competes there
    assert blended.contender == (len(blended.weights) > 1 and (blended.gain or 0) > -2 * (blended.gain_se or 0))
    selection = next(e for e in events if isinstance(e, Selection))
    assert ("blend" in selection.candidates) == blended.contender


def test_the_phase_follows_the_spent_share_of_steps_or_time(tmp_path: Path) -> None:
    from gome.assemble import build_trace
    from gome.schema import Attempt
    from gome.tools.rundir import RunDir

    task = prepare_task("penguins", tmp_path / "penguins")
    spent = [0.0]
    config = RunConfig(task_dir=task, runs_dir=tmp_path, steps=10, time_budget_s=100)
    ctx, _ = build_trace(config, load_task(task), 0, RunDir(tmp_path / "run"), make_dev_split(load_task(task), tmp_path / "dev"),
                         ScriptedChatCompletionClient(lambda messages: "OK"), lambda event: None, time_share=lambda: spent[0])
    assert not ctx.ensemble_phase()  # no best yet: nothing to blend with
    ctx.state.journal.add(Attempt(id="0-001", trace=0, step=1, parent_id=None, kind="draft", score=0.9, status="ok",
                                  accepted=True, outcome="accepted", code=ctx.starter))
    ctx.state.best_id, ctx.state.step = "0-001", 1
    assert not ctx.ensemble_phase()
    spent[0] = 0.75  # 75 % of the time budget
    assert ctx.ensemble_phase()
    spent[0], ctx.state.step = 0.0, 7  # 70 % of the steps
    assert ctx.ensemble_phase()
    ctx.state.mode = "explore"  # a tree-search step is not steered, though it is in the stage (a hybrid's is made directed)
    assert not ctx.ensemble_phase() and ctx.ensemble_stage() and ctx.state.ensembling is not None and ctx.state.ensembling()
    ctx.state.mode, built = "directed", 1
    while (member := ctx.member()) is not None:  # every family of the catalogue built: the directed steps go on
        built += 1
        ctx.state.journal.add(Attempt(id=f"0-00{built}", trace=0, step=built, parent_id="0-001", kind="draft", score=0.8,
                                      status="ok", accepted=False, outcome="worse", code=apply_move(ctx.starter, member)))
    assert built > 2 and not ctx.ensemble_phase()
    ctx.offer_moves = False  # without moves the Coder drafts the members
    assert ctx.ensemble_phase()
