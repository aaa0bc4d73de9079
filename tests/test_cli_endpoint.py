"""Which endpoint a run uses (the OpenAI conventions), its first line, and the sandbox check before it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from gome.cli import main
from gome.cli_endpoint import OPENAI_API, Endpoint, announce, check_reachable, model_arguments, resolve
from gome.errors import GomeUserError
from gome.sandbox import ALLOW_ROOT_ENV
from gome.tasks import prepare_task
from openai_server import serve

REJECT = (401, '{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}')


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("penguins", tmp_path_factory.mktemp("t") / "penguins")


@pytest.fixture(autouse=True)
def _no_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard, not a fake: none of these runs may start the embedded model's server."""
    import gome.llm.local_server as local_server

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedded model was started")

    monkeypatch.setattr(local_server, "model_endpoint", refuse)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", ALLOW_ROOT_ENV):
        monkeypatch.setenv(name, "")  # restored afterwards, also when the CLI itself sets it
        monkeypatch.delenv(name)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    model_arguments(parser)
    return parser.parse_args(list(argv))


def _stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err.strip().splitlines()


def test_model_alone_uses_openai_base_url(task: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GOME_TEST_KEY", "sk-test")
    with serve(lambda texts: REJECT) as (base_url, requests):
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        code = main(["run", str(task), "--model", "scripted", "--api-key-env", "GOME_TEST_KEY", "--steps", "1",
                     "--runs-dir", str(tmp_path / "runs")])
    lines = _stderr_lines(capsys)
    assert code == 2 and requests, lines  # the configured endpoint was called (and refused the key)
    assert requests[0]["body"]["model"] == "scripted" and requests[0]["auth"] == "Bearer sk-test"
    assert lines[0] == f"gome: endpoint {base_url} ($OPENAI_BASE_URL), model scripted, key from $GOME_TEST_KEY"
    assert "embedded" not in "\n".join(lines)


def test_model_alone_without_base_url_is_the_openai_api(task: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    argv = ["run", str(task), "--model", "gpt-4o-mini", "--steps", "1", "--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 2  # no key: one line, before anything starts
    (line,) = _stderr_lines(capsys)
    assert "$OPENAI_API_KEY" in line and OPENAI_API in line
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(argv) == 2  # tests block real endpoints: the OpenAI API was the one about to be called
    lines = _stderr_lines(capsys)
    assert lines[0] == (f"gome: endpoint {OPENAI_API} (the OpenAI API, $OPENAI_BASE_URL unset), model gpt-4o-mini, "
                        "key from $OPENAI_API_KEY")
    assert "blocked in tests" in lines[-1] and not (tmp_path / "runs").exists()


def test_resolution_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(_args()) == Endpoint(local_size="1.5b")  # nothing named: the embedded model
    assert resolve(_args("--local-size", "0.5b")) == Endpoint(local_size="0.5b")
    explicit = resolve(_args("--base-url", "http://127.0.0.1:1/v1"))
    assert (explicit.base_url, explicit.model, explicit.source) == ("http://127.0.0.1:1/v1", "gpt-4o-mini", "--base-url")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    assert resolve(_args("--model", "m")).base_url == "http://127.0.0.1:2/v1"
    assert resolve(_args("--model", "m", "--base-url", "http://127.0.0.1:3/v1")).base_url == "http://127.0.0.1:3/v1"
    assert resolve(_args()).local_size == "1.5b"  # $OPENAI_BASE_URL alone names no model
    with pytest.raises(GomeUserError, match="--local-size"):
        resolve(_args("--model", "m", "--local-size", "0.5b"))
    assert resolve(_args("--model", "m"), replay=Path("runs/x")) == Endpoint(replay=Path("runs/x"))


def test_first_line_names_the_embedded_model() -> None:
    line = announce(Endpoint(local_size="0.5b"))
    assert line.startswith("gome: endpoint the embedded local model") and "qwen2.5-coder-0.5b" in line
    assert "replayed from runs/x" in announce(Endpoint(replay=Path("runs/x")))


def test_run_refuses_before_the_first_model_call(task: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """As root with an interpreter nobody cannot run (even behind masks): one line, no model call."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "python").symlink_to(os.path.realpath(sys.executable))
    monkeypatch.setattr(sys, "executable", str(closed / "python"))
    with serve(lambda texts: REJECT) as (base_url, requests):
        argv = ["run", str(task), "--base-url", base_url, "--steps", "1", "--runs-dir", str(tmp_path / "runs")]
        assert main(argv) == 2
        (line,) = _stderr_lines(capsys)
        assert requests == [] and not (tmp_path / "runs").exists()
        assert line.startswith("gome: error: generated code would run as root:") and "--allow-root-sandbox" in line
        assert main([*argv, "--allow-root-sandbox"]) == 2  # allowed: the run starts (and the key is refused)
        lines = _stderr_lines(capsys)
        assert len(requests) == 1 and lines[0].startswith(f"gome: endpoint {base_url} (--base-url)")
        assert lines[1].startswith("gome: WARNING: generated code runs as ROOT (--allow-root-sandbox)")
        assert os.environ[ALLOW_ROOT_ENV] == "1"


def test_the_embedded_model_on_a_remote_ray_cluster_is_refused_before_anything_starts(task: Path, tmp_path: Path,
                                                                                     capsys) -> None:
    argv = ["run", str(task), "--backend", "ray", "--ray-address", "10.1.2.3:6379", "--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 2
    (line,) = _stderr_lines(capsys)
    assert line.startswith("gome: error: --ray-address 10.1.2.3:6379: the embedded model listens on 127.0.0.1")
    assert not (tmp_path / "runs").exists()
    for address in ("127.0.0.1:6379", "ray://localhost:10001"):  # a cluster on this machine can reach it
        check_reachable(Endpoint(local_size="1.5b"), "ray", address)
    check_reachable(Endpoint(base_url="http://10.0.0.9:8000/v1", model="m"), "ray", "10.1.2.3:6379")
