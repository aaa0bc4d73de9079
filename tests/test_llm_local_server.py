"""The local model server's lifecycle, with a fake server process in place of llama.cpp."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gome.cli import main
from gome.llm import ModelConfig
from gome.llm.local_server import BASELINE, LocalServer, LocalServerError, PortInUse, Runtime, model_endpoint
from gome.tasks import prepare_task

# Answers GET /v1/models like llama.cpp's server; starts a grandchild so that group kills are visible.
FAKE = r"""
import json, os, subprocess, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[2], "w").write(f"{os.getpid()} {child.pid} {os.environ.get('OMP_WAIT_POLICY')}")
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
print("fake server listening", flush=True)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _gone(pid):
        time.sleep(0.05)
    return _gone(pid)


def _fake(tmp_path: Path, **kwargs: object) -> LocalServer:
    return LocalServer(Path("fake.gguf"), "fake-model", command=[sys.executable, "-c", FAKE, "{port}", str(tmp_path / "pids")],
                       startup_timeout_s=20, **kwargs)  # type: ignore[arg-type]


def test_start_stop_restart_kills_the_process_group(tmp_path: Path) -> None:
    server = _fake(tmp_path)
    for _ in range(2):  # restartable
        with server as config:
            assert isinstance(config, ModelConfig) and config.structured == "json_object_schema"
            assert config.model == "fake-model" and config.base_url.startswith("http://127.0.0.1:")
            assert server.healthy() and server.alive()
            leader, child, omp = (tmp_path / "pids").read_text().split()
            assert omp == "PASSIVE"
        assert not server.alive() and not server.healthy()
        assert _wait_gone(int(leader)) and _wait_gone(int(child))


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is in use"):
            _fake(tmp_path, port=port).start()


def test_a_server_that_dies_shows_its_log(tmp_path: Path) -> None:
    server = LocalServer(Path("x.gguf"), "x", command=[sys.executable, "-c", "import sys; print('gguf: bad magic'); sys.exit(3)"])
    with pytest.raises(LocalServerError, match="exited with code 3 while starting: gguf: bad magic") as info:
        server.start()
    assert "\n" not in str(info.value) and not server.alive()
    assert server._log_path is not None and f"full log: {server._log_path}" in str(info.value)
    server._log_path.unlink()  # kept for the user after a failed start


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    server = LocalServer(Path("x.gguf"), "x", startup_timeout_s=1,
                         command=[sys.executable, "-c", "import time; print('loading', flush=True); time.sleep(60)"])
    with pytest.raises(LocalServerError, match="did not answer within 1 s: loading"):
        server.start()
    assert not server.alive() and server._log_path is not None
    server._log_path.unlink()


def test_the_server_dies_with_gome_even_on_sigkill(tmp_path: Path) -> None:
    script = (f"import sys, time; from pathlib import Path; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "from test_llm_local_server import _fake\n"
              f"server = _fake(Path({str(tmp_path)!r})); server.start(); print('up', flush=True); time.sleep(60)\n")
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its server log stays in tmp_path
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
        leader, child, _ = (tmp_path / "pids").read_text().split()
    finally:
        parent.kill()
        parent.wait()
    assert _wait_gone(int(leader)), "the server outlived a SIGKILLed gome"
    os.kill(int(child), signal.SIGKILL)  # a grandchild is not covered; llama.cpp's server has none


def test_default_command_is_gomes_llama_cpp_server() -> None:
    server = LocalServer(Path("/m.gguf"), "alias", threads=3)
    cmd = server.command(8123)
    assert cmd[1:3] == ["-m", "gome.llm.llama_server"]
    assert {"--lookup": "16", "--model": "/m.gguf", "--host": "127.0.0.1", "--port": "8123", "--n_ctx": "8192",
            "--n_threads": "3", "--model_alias": "alias", "--logits_all": "False",
            "--flash_attn": "True"}.items() <= dict(zip(cmd[3::2], cmd[4::2])).items()
    assert server._env()["OMP_WAIT_POLICY"] == "PASSIVE" and server.model_config().stream
    baseline = LocalServer(Path("/m.gguf"), "alias", threads=3, runtime=BASELINE)  # the runtime before issue 14
    assert baseline.command(8123)[1:3] == ["-m", "llama_cpp.server"] and "--logits_all" not in baseline.command(8123)
    assert "--flash_attn" not in baseline.command(8123) and "--grammar-first" not in cmd
    assert "--grammar-first" in LocalServer(Path("/m.gguf"), "alias", runtime=Runtime(grammar_last=False)).command(8123)
    assert not baseline.model_config().stream


def test_a_given_endpoint_passes_through() -> None:
    config = ModelConfig(base_url="http://127.0.0.1:1/v1")
    with model_endpoint(config) as got:
        assert got is config


def test_cli_without_base_url_and_without_the_extra_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    task = prepare_task("penguins", tmp_path / "penguins")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    code = main(["run", str(task), "--steps", "1", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install" in err and "[local]" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")
