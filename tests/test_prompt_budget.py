"""Per-role prompt budgets: the longest trimmable sections are cut, the script never."""

from __future__ import annotations

from gome.agents.base import CHARS_PER_TOKEN, fit_budget
from gome.config import RunConfig
from gome.roles import load_roles

CODE = "import pandas as pd\n" + "".join(f"x{i} = {i}\n" for i in range(60))
VALUES = dict(
    task="Predict the species of penguins.", libraries="pandas 2.2", metric="accuracy", direction="higher", attempt="0-031", kind="improve", built="RandomForestClassifier(n_estimators=200)",
    report="status: ok\nstdout (tail):\n" + "".join(f"epoch {i} loss 0.{i:03d}\n" for i in range(200)),
    evidence="- dev score 0.97", code=CODE, plan="Direction: more trees", parent="0-030", parent_score="0.96",
    diff="".join(f"-x{i} = {i}\n+x{i} = {i + 1}\n" for i in range(80)), note="",
    history="\n".join(f"0-{i:03d} improve ok score=0.9 worse — direction {i}" for i in range(1, 121)),
    failures="(none yet)", moves="(none)", best_score="0.97", schema="{}",
)


def _tokens(system: str, user: str) -> float:
    return (len(system) + len(user)) / CHARS_PER_TOKEN


def test_a_prompt_over_its_budget_loses_old_history_and_long_tails_but_never_the_script() -> None:
    role = load_roles(None)["diagnostician"]
    full = role.render(**VALUES)
    budget = RunConfig(task_dir=".").prompt_budgets["diagnostician"]
    assert _tokens(*full) > budget  # the case the budget exists for
    system, user = fit_budget(role, budget, dict(VALUES))
    assert _tokens(system, user) <= budget
    assert CODE in user and "Direction: more trees" in user  # the script and the plan are whole
    assert "direction 120" in user and "direction 1\n" not in user  # the newest history stays, the oldest goes
    assert "epoch 199 loss" in user and "epoch 0 loss" not in user  # the output keeps its tail
    assert "lines cut to fit the prompt budget" in user
    assert fit_budget(role, None, dict(VALUES)) == full  # no budget: nothing is cut


def test_the_change_against_the_parent_is_cut_only_when_nothing_else_can_be() -> None:
    """A long diff loses its end only after every other section is down to its floor, and keeps 12 lines; a
    short diff, or a run's last lines, are never cut (they say more than the tokens they cost)."""
    role = load_roles(None)["diagnostician"]
    diff = "".join(f"-    x{i} = feature('column {i}')\n+    x{i} = feature('column {i + 1}')\n" for i in range(20))
    history = "\n".join(f"0-{i:03d} improve ok score=0.9 worse" for i in range(1, 5))
    report = "status: ok\nstdout (tail):\n" + "".join(f"line {i}\n" for i in range(20))
    values = {**VALUES, "diff": diff, "history": history, "report": report}
    full = _tokens(*role.render(**values))
    system, user = fit_budget(role, int(full) - 5, values)  # one cut is enough
    assert diff in user and "line 0\n" not in user  # the run's output was cut, not the diff
    system, user = fit_budget(role, 10, values)
    assert diff not in user and "-    x0 = feature('column 0')" in user and "x5 = feature" in user  # the diff keeps 12 lines
    assert "x6 = feature" not in user and "0-003 improve" in user and "0-002 improve" not in user  # history: its floor
    assert "line 19\n" in user and "line 14\n" in user and "line 13\n" not in user  # the run's last 6 lines stay
    short = {**values, "diff": diff[: diff.index("-    x4")]}  # 8 lines
    assert short["diff"] in fit_budget(role, 10, short)[1]


def test_a_budget_too_small_for_the_script_cuts_what_it_can_and_stops() -> None:
    role = load_roles(None)["diagnostician"]
    system, user = fit_budget(role, 10, dict(VALUES))
    assert CODE in user and _tokens(system, user) > 10


def test_the_agents_send_prompts_within_their_budget(tmp_path) -> None:
    import asyncio

    from gome.llm import ScriptedChatCompletionClient
    from gome.runner import run
    from gome.tasks import prepare_task
    from scripted_model import policy

    penguins = prepare_task("penguins", tmp_path / "penguins")
    sent: dict[int, list[str]] = {}
    for budget in (None, 250):
        client = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
        budgets = {} if budget is None else {"diagnostician": budget}
        config = RunConfig(task_dir=penguins, runs_dir=tmp_path / f"runs{budget}", steps=3, exec_timeout_s=120,
                           ensemble_after=1.0, prompt_budgets=budgets)
        asyncio.run(run(config, client=client))
        sent[budget or 0] = ["\n".join(str(m.content) for m in call) for call in client.calls
                             if "You are the Diagnostician" in str(call[0].content)]
    assert len(sent[0]) == len(sent[250]) >= 2
    # a prompt with nothing above its floors is sent whole (its length varies with the run's timings)
    cut = [(small, full) for small, full in zip(sent[250], sent[0]) if "lines cut to fit the prompt budget" in small]
    assert cut and all(len(small) < len(full) for small, full in cut)
    assert not any("lines cut to fit the prompt budget" in full for full in sent[0])
