"""`gome bench`: strategies x seeds on a task with the scripted model; resumable; tables and plots."""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from pathlib import Path

from scripted_model import policy

from gome.bench import BenchSpec, finished_cells, run_bench
from gome.llm import ScriptedChatCompletionClient
from gome.tasks import prepare_task


def test_bench_runs_cells_and_resumes(tmp_path: Path) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    calls = []

    def factory() -> nullcontext[tuple[ScriptedChatCompletionClient, None]]:
        calls.append(1)
        return nullcontext((ScriptedChatCompletionClient(lambda messages: policy([str(m.content) for m in messages])), None))

    spec = BenchSpec(tasks=[task], variants=["gradient", "tree"], seeds=2, out=tmp_path / "bench",
                     base={"steps": 3, "final_seeds": 0, "exec_timeout_s": 120, "num_drafts": 1}, parallel=2)
    tables: list[int] = []  # cells in bench.json each time a cell finishes: an interrupted bench keeps its table
    steps: list[str] = []  # and a line for each step of a cell, indented

    def progress(line: str) -> None:
        if line.startswith("  "):
            steps.append(line)
        else:
            tables.append(len(json.loads((tmp_path / "bench" / "bench.json").read_text())["cells"]))

    result = asyncio.run(run_bench(spec, cell_client=factory, progress=progress))
    assert len(result["cells"]) == 4 and len(calls) == 4 and tables == [1, 2, 3, 4]
    cell = "penguins--gradient--model--s0"
    assert [line.split(":")[0] for line in steps if cell in line] == [f"  {cell} step {n}/3" for n in (1, 2, 3)]
    assert len(steps) == 12 and f"  {cell} step 1/3: 0-001 draft crash" in "\n".join(steps)
    rows = {r["variant"]: r for r in result["table"]}
    assert set(rows) == {"gradient", "tree"} and all(r["seeds"] == 2 for r in rows.values())
    assert rows["gradient"]["valid_rate"] == 1.0 and rows["gradient"]["score"][0] > 0.9
    # per cell: a crashed draft, its debug round, one directed update (the forest), accepted by the test
    assert rows["gradient"]["directed"] == 2 and rows["gradient"]["improvement_rate"] == 1.0
    assert rows["gradient"]["noop_rate"] == 0.0 and rows["tree"]["improvement_rate"] is None
    assert "| improvement rate | no-op rate | ensemble gain |" in (tmp_path / "bench" / "bench.md").read_text()
    assert json.loads((tmp_path / "bench" / "bench.json").read_text())["table"][0]["task"] == "penguins"
    assert "| penguins | model | gradient | 2 |" in (tmp_path / "bench" / "bench.md").read_text()
    assert (tmp_path / "bench" / "penguins.svg").read_text().count("<path") >= 4
    more = spec.model_copy(update={"seeds": 3})  # `gome bench --table`: only the cells that have finished
    assert set(finished_cells(more)) == set(result["cells"]) and len(calls) == 4
    again = asyncio.run(run_bench(spec, cell_client=factory))  # finished cells are read back, not re-run
    assert again["table"] == result["table"] and len(calls) == 4
    other = spec.model_copy(update={"variants": ["gradient"], "seeds": 1, "model_label": "other"})
    merged = asyncio.run(run_bench(other, cell_client=factory))  # a second model joins the same table
    assert len(calls) == 5 and len(merged["cells"]) == 5
    assert {(r["model"], r["variant"]) for r in merged["table"]} == {("model", "gradient"), ("model", "tree"),
                                                                     ("other", "gradient")}
    assert "| penguins | other | gradient | 1 |" in (tmp_path / "bench" / "bench.md").read_text()


def test_best_score_plot_names_direction_and_runs_without_scores() -> None:
    from gome.view.plots import best_score_plot

    svg = best_score_plot("t", {"tree s0": [(1.5, None), (3.2, 0.5)], "gradient s0": [(2.0, None)]},
                          lower_is_better=True)
    assert "(lower is better)" in svg and "no valid attempt: gradient s0" in svg
    assert svg.count("<circle") == 1  # a run with one scored attempt still shows (as a dot)


def test_a_resumed_cell_counts_the_wall_time_of_its_sessions_not_the_gap_between_them(tmp_path) -> None:
    from gome.bench import cell_result
    from gome.events import EventLog
    from gome.schema import RunFinished, RunStarted

    log = EventLog(tmp_path / "events.jsonl")
    log.emit(RunStarted(ts=1000.0, run_id="r", task="t", config={}))
    log.emit(RunStarted(ts=8200.0, run_id="r", task="t", config={}, resumed=True))  # two hours later
    log.emit(RunFinished(ts=8300.0, best_attempt=None, best_score=None, grade=None, reason="steps done",
                         usage={"wall_s": 160.0, "total_tokens": 10}))
    log.close()
    assert cell_result(tmp_path)["wall_s"] == 160.0


def test_a_cell_that_an_error_stopped_is_named_under_the_table(tmp_path) -> None:
    """A benchmark trace ended at step 5 of 8 on a read timeout (stop 26): its cell was tabulated like the others."""
    from gome.bench import cell_result, write_tables
    from gome.events import EventLog
    from gome.schema import RunFinished, RunStarted

    spec = BenchSpec(tasks=[], out=tmp_path / "bench")
    rows = {}
    for name, reason in (("t--gradient--m--s1", "steps done"), ("t--hybrid--m--s1", "stopped by error: RuntimeError: ReadTimeout")):
        log = EventLog(tmp_path / name / "events.jsonl")
        log.emit(RunStarted(ts=1000.0, run_id=name, task="t", config={}))
        log.emit(RunFinished(ts=1100.0, best_attempt=None, best_score=None, grade=None, reason=reason, usage={}))
        log.close()
        rows[name] = {"task": "t", "model": "m", "variant": name.split("--")[1], "seed": 1, "lower_is_better": False,
                      **cell_result(tmp_path / name)}
    write_tables(spec, rows)
    text = (tmp_path / "bench" / "bench.md").read_text()
    assert text.endswith("Stopped by an error before their budget was spent (in the table as they are):\n"
                         "- t--hybrid--m--s1: stopped by error: RuntimeError: ReadTimeout\n")
    assert "| t | m | hybrid | 1 |" in text and "t--gradient--m--s1:" not in text


def test_the_table_gives_tokens_and_seconds_as_whole_numbers() -> None:
    from gome.bench import bench_table, markdown

    cells = [{"task": "t", "model": "m", "variant": "gradient", "seed": seed, "score": 0.7, "normalized": 1.0,
              "tokens": tokens, "wall_s": wall, "valid": True, "medal": False, "above_median": True}
             for seed, tokens, wall in ((1, 30000, 600.4), (2, 33800, 841.2))]
    text = markdown(bench_table(cells), BenchSpec(tasks=[], out=Path("bench")))
    assert text.rstrip().endswith("| 31,900 ± 1,900 | 721 ± 120 |"), text  # not 31900 ± 1.9e+03


def test_the_embedded_model_gets_a_new_server_for_each_cell(tmp_path: Path, monkeypatch) -> None:
    """Every cell starts from an empty prompt cache (gome.bench.CellClient), and its config records its own server."""
    import argparse
    from contextlib import contextmanager

    import gome.llm.local_server as local_server
    from gome import cli_bench
    import yaml
    from gome.llm import ModelConfig
    from openai_server import serve

    task = prepare_task("penguins", tmp_path / "penguins")
    started: list[str] = []
    with serve(policy) as (base_url, requests):
        @contextmanager
        def fake_endpoint(config: object, local_size: str = "1.5b"):
            started.append(local_size)
            yield ModelConfig(model=f"server-{len(started)}", base_url=base_url, api_key_env="GOME_LOCAL_API_KEY", seeded=True)

        monkeypatch.setattr(local_server, "model_endpoint", fake_endpoint)
        args = argparse.Namespace(steps=2, traces=1, time_budget=None, exec_timeout=120, seeds=1, first_seed=1, out=tmp_path / "bench",
                                  parallel=1)
        assert cli_bench.dispatch(args, ([task], ["gradient", "tree"]), None, "embedded-0.5b", local_size="0.5b") == 0
    assert started == ["0.5b", "0.5b"]
    models = sorted(yaml.safe_load((d / "config.yaml").read_text())["model"]["model"] for d in (tmp_path / "bench" / "runs").iterdir())
    assert models == ["server-1", "server-2"] and all("seed" in r["body"] for r in requests)
    assert all(d.name.endswith("--s1") for d in (tmp_path / "bench" / "runs").iterdir())  # --first-seed 1


def test_a_tie_accepted_as_the_cheaper_script_is_no_improvement() -> None:
    """An ames-prices cell's `max_leaf_nodes=15` gained +0.0033 ± 0.0020 on five splits, within the noise, and was
    accepted because it ran a fifth faster: the improvement rate counts only gains that passed the test."""
    from gome.bench import _updates
    from gome.schema import Attempt, Evidence, ExecutionReport, OptimizerStep, RunStarted, StepSize

    def step(attempt_id: str, gain: float, se: float) -> OptimizerStep:
        report = ExecutionReport(attempt_id=attempt_id, status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                                 stderr_tail="", score=0.8, evidence=Evidence(vs_best="0-001", gain_se=se))
        attempt = Attempt(id=attempt_id, trace=0, step=2, parent_id="0-001", kind="improve", score=0.8, status="ok",
                          accepted=True, outcome="accepted", gain=gain, report=report, mode="directed")
        return OptimizerStep(attempt=attempt, best_score=0.8, best_attempt=attempt_id, step_size=StepSize.moderate,
                             memory_size=1, debug_round=0)

    events = [RunStarted(run_id="r", task="t", config={"accept_z": 2.0}), step("0-002", 0.1, 0.03), step("0-003", 0.02, 0.03)]
    assert _updates(events) == {"directed": 2, "improved": 1, "noops": 0}
    assert _updates([RunStarted(run_id="r", task="t", config={"accept_z": 0.5}), *events[1:]])["improved"] == 2
