"""Integration: a run through the real openai client against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gome.cli import main
from gome.events import read_events
from gome.llm import ModelConfig, RealModelBlocked, make_client
from gome.optim import reply_cap
from gome.schema import LLMCall, StepSize
from gome.tasks import load_task, prepare_task
from gome.tasks.starter import starter_script
from openai_server import serve
from scripted_model import policy


def test_cli_run_through_http_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    monkeypatch.setenv("GOME_TEST_KEY", "sk-never-shown-to-code")
    with serve(policy) as (base_url, requests):
        code = main(["run", str(task), "--model", "scripted", "--base-url", base_url, "--api-key-env", "GOME_TEST_KEY",
                     "--steps", "3", "--exec-timeout", "120", "--runs-dir", str(tmp_path / "runs"), "--stop-sequences"])
    assert code == 0
    # the draft's reply is used only for its functions: it may end where the starter's own code begins
    assert [r["body"].get("stop") for r in requests if "stop" in r["body"]][:1] == [["\nX, X_test = features(train, test)"]]
    assert requests and all(r["auth"] == "Bearer sk-never-shown-to-code" for r in requests)
    assert requests[0]["body"]["model"] == "scripted"
    run_dir = next((tmp_path / "runs").iterdir())
    grade = json.loads((run_dir / "best" / "grade.json").read_text())
    assert grade["valid_submission"] and grade["score"] > 0.9
    calls = [e for e in read_events(run_dir / "events.jsonl") if isinstance(e, LLMCall)]
    assert len(calls) == len(requests) - 1 and all(c.ok for c in calls)  # the first request is the endpoint check
    everything = "".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    assert "sk-never-shown-to-code" not in everything
    assert '"valid_submission": true' in capsys.readouterr().out
    assert main(["logs", str(run_dir), "--agent", "coder"]) == 0  # the conversation, from events.jsonl
    logs = capsys.readouterr().out
    assert "coder" in logs and "diagnostician ->" not in logs
    assert main(["report", str(run_dir)]) == 0 and (run_dir / "report.html").stat().st_size > 10_000


def test_real_endpoints_are_blocked_in_tests() -> None:
    with pytest.raises(RealModelBlocked):
        make_client(ModelConfig(base_url="https://api.openai.com/v1"))


def test_unreachable_endpoint_is_one_clear_error(tmp_path: Path, capsys) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    code = main(["run", str(task), "--base-url", "http://127.0.0.1:9/v1", "--steps", "1",
                 "--runs-dir", str(tmp_path / "runs")])
    first, error = capsys.readouterr().err.strip().splitlines()  # the run's first line names its endpoint
    assert first.startswith("gome: endpoint http://127.0.0.1:9/v1 (--base-url), model gpt-4o-mini")
    assert code == 2 and error.startswith("gome: error:") and "cannot connect" in error


def test_bad_api_key_is_one_clear_error(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    monkeypatch.setenv("GOME_TEST_KEY", "sk-wrong")
    reject = lambda texts: (401, '{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}')  # noqa: E731
    with serve(reject) as (base_url, _):
        code = main(["run", str(task), "--base-url", base_url, "--api-key-env", "GOME_TEST_KEY", "--steps", "1",
                     "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "GOME_TEST_KEY was rejected (401)" in err and "Traceback" not in err
    assert "sk-wrong" not in err and not (tmp_path / "runs").exists()


def test_cli_bench_through_http_endpoint(tmp_path: Path, capsys) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    out = tmp_path / "bench"
    args = ["bench", str(task), "--variants", "tree", "--seeds", "1", "--steps", "2", "--exec-timeout", "120",
            "--out", str(out), "--base-url"]
    with serve(policy) as (base_url, requests):
        assert main([*args, base_url, "--model", "scripted"]) == 0
        first = len(requests)
        # one Coder call per step (tree search: no diagnosis, no plan), and one more: the second draft repeated
        # the first's script, which goes back to the Coder once
        assert first == 3 and "already ran" in str(requests[-1]["body"]["messages"][-1])
        starter = starter_script(load_task(task))  # drafts are about the starter: their replies are capped by it
        cap = reply_cap(starter, StepSize.moderate, ModelConfig().max_tokens)  # tree drafts: the starting step size
        assert [r["body"]["max_tokens"] for r in requests] == [cap] * 3 and cap < ModelConfig().max_tokens
        assert main([*args, base_url, "--model", "scripted"]) == 0  # finished cells are read back, not re-run
        assert len(requests) == first
    table = capsys.readouterr().out
    assert "| penguins | scripted | tree | 1 |" in table and (out / "penguins.svg").is_file()
