"""benchmarks/bench_model.py --record / --replay: the requests a real run makes, and the steps they are timed in."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

from gome.config import RunConfig
from gome.llm import ModelConfig, ScriptedChatCompletionClient
from gome.runner import run
from gome.tasks import load_task, prepare_task
from gome.tasks.starter import starter_script
from scripted_model import policy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location("bench_model", ROOT / "benchmarks" / "bench_model.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_model"] = bench  # its dataclasses look their module up
_spec.loader.exec_module(bench)


def request(agent: str, messages: int = 2, text: str = "x") -> dict:
    return {"agent": agent, "messages": [["UserMessage", text]] * messages}


def improve(messages: int = 2) -> dict:
    return request("coder", messages, "# Plan\n...\nApply the plan to the script. Keep everything else as it is.")


def test_a_step_runs_from_the_diagnosis_to_the_coders_repaired_reply() -> None:
    requests = [request("coder"),  # the draft: not a directed step
                request("diagnostician"), request("memory_keeper"), improve(),
                improve(4),  # the repair of that reply: same step
                request("coder"),  # a debug round after the step's script crashed: not timed
                request("diagnostician"), request("diagnostician", 4), request("memory_keeper"), improve(),
                request("coder"),  # a debug round straight after an unrepaired reply: not timed either
                request("diagnostician"), request("memory_keeper"), request("memory_keeper"),  # gome made the move
                request("coder"),  # so the next Coder call is a debug round: not timed
                request("diagnostician"), request("memory_keeper"),  # a move made without the Coder again
                request("diagnostician"), request("memory_keeper")]  # the next diagnosis opens the next step
    assert bench._steps(requests) == [None, 0, 0, 0, 0, None, 1, 1, 1, 1, None, 2, 2, 2, None, 3, 3, 4, 4]


def test_capture_keeps_every_request_of_a_run_with_its_agent(tmp_path: Path) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    inner = ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages]))
    capture = bench.Capture(inner)
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", steps=3, exec_timeout_s=120, ensemble_after=1.0,
                       model=ModelConfig(structured="json_object_schema"))  # as the embedded model is asked
    asyncio.run(run(config, client=capture))
    agents = [r["agent"] for r in capture.requests]
    assert agents[0] == "coder" and "diagnostician" in agents and "memory_keeper" in agents
    first_diagnosis = capture.requests[agents.index("diagnostician")]
    (kind, system), *_ = first_diagnosis["messages"]
    assert kind == "SystemMessage" and "You are the Diagnostician" in system
    assert first_diagnosis["extra_create_args"]["response_format"]["type"] == "json_object"
    # json_output was not set: a replay must not set it to False, which makes autogen's OpenAI client ask for
    # plain text and so drops the grammar of response_format
    assert bench.replay_args(first_diagnosis)["json_output"] is None
    json.dumps(capture.requests)  # the recording is a JSON file
    timed = [s for s in bench._steps(capture.requests) if s is not None]
    assert timed and timed[0] == 0


def _penguins(tmp_path: Path) -> tuple[str, Path]:
    task = load_task(prepare_task("penguins", tmp_path / "penguins"))
    return starter_script(task), task.public_dir


def test_the_built_in_scenarios_render_every_role_and_get_valid_replies(tmp_path: Path) -> None:
    """The scenarios fill the role prompts themselves: a variable a role gains must reach them too. The Coder
    is asked as in a run: it may reply with the functions it changes, within the step size's line budget."""
    class NoServer:
        _log_path = None

    brief = "Task penguins: metric accuracy (higher is better)."
    starter, _ = _penguins(tmp_path)
    asked: list[list[str]] = []

    def model(messages: list) -> str:
        asked.append([str(m.content) for m in messages])
        return policy(asked[-1])

    for scenario, shape in ((bench.scenarios(starter)[1], starter), (bench.FLAT[0], "")):
        runner = bench.Bench(ModelConfig(base_url="http://127.0.0.1:9/v1"), NoServer(), brief, shape)  # type: ignore[arg-type]
        runner.client = ScriptedChatCompletionClient(model)
        asyncio.run(runner.step(*scenario))
        assert [(c.role, c.ok) for c in runner.calls] == [("diagnostician", True), ("memory_keeper", True), ("coder", True)]
    diagnosed, coded = asked[0][-1], asked[2][-1]
    assert "the rest is the starter script's code" in diagnosed and "submission.to_csv" not in diagnosed
    assert "Reply with only the functions you change (of features, make_model, predict)" in coded
    assert "change at most about 60 lines" in coded
    assert "Reply with only the functions" not in asked[5][-1]  # a flat script has no functions to reply with


def test_a_baseline_without_stop_writes_the_whole_script_where_the_current_one_stops(tmp_path: Path) -> None:
    """`--baseline-without-stop`: the crash in make_model() of a starter-shaped script is fixed by a reply that copies
    the whole script; with `stop` it ends where the script's own code begins (as in a run), without it it runs on."""
    class NoServer:
        _log_path = None

    starter, _ = _penguins(tmp_path)
    name, code, report = bench.scenarios(starter)[0]  # the l1 penalty: a crash, so a debug reply
    fixed, tokens = code.replace('penalty="l1"', 'penalty="l2"'), {}
    for stops in (True, False):
        def model(messages: list) -> str:
            texts = [str(m.content) for m in messages]
            return f"```python\n{fixed}```" if "# Error" in texts[-1] else policy(texts)

        runner = bench.Bench(ModelConfig(base_url="http://127.0.0.1:9/v1"), NoServer(), "Task penguins.", starter,  # type: ignore[arg-type]
                             stops)
        runner.client = ScriptedChatCompletionClient(model)
        asyncio.run(runner.step(name, code, report))
        coder = runner.calls[-1]
        assert coder.role == "coder" and coder.ok
        tokens[stops] = coder.completion_tokens
    assert tokens[True] < 0.7 * tokens[False]


def test_the_built_in_scenarios_report_what_their_scripts_do(tmp_path: Path) -> None:
    """Each scenario's execution report is what its script does when it runs on penguins' public data."""
    starter, public = _penguins(tmp_path)
    for name, code, report in bench.scenarios(starter):
        work = tmp_path / name.replace(" ", "-")
        shutil.copytree(public, work / "input")
        (work / "solution.py").write_text(code)
        done = subprocess.run([sys.executable, "solution.py"], cwd=work, capture_output=True, text=True, timeout=300)
        status = "crashed" if done.returncode else "ok" if (work / "submission.csv").exists() else "no_submission"
        assert status == report.status, name
        if status == "crashed":
            frames = [line.replace(str(work) + "/", "") for line in done.stderr.splitlines() if "solution.py" in line]
            claimed = report.stderr_tail.splitlines()
            assert frames[-(len(claimed) - 2):] == claimed[1:-1] and done.stderr.splitlines()[-1] == claimed[-1], name
        else:
            printed = float(done.stdout.split("validation_score:")[1].split()[0])
            assert report.score in (None, printed), name
