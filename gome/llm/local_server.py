"""Start, health-check and stop llama.cpp's OpenAI-compatible server as a subprocess.

The server runs in its own process group and session (stop kills the whole group), with
`OMP_WAIT_POLICY=PASSIVE` and thread counts from the CPU budget. Used as a context manager it yields
the `ModelConfig` that points gome's ordinary OpenAI-compatible client at it. A server object can be
started again after it was stopped.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from gome.errors import GomeUserError
from gome.llm.client import ModelConfig
from gome.llm.embedded import MODELS, model_path, require_llama_cpp

__all__ = [
    "BASELINE", "CURRENT", "Runtime",
    "LocalServer", "LocalServerError", "PortInUse", "embedded_server", "model_endpoint", "free_port", "cpu_budget",
]

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class LocalServerError(GomeUserError):
    """The local model server did not start or died."""


class PortInUse(LocalServerError):
    """The port asked for is taken by another process."""


def free_port(host: str = HOST) -> int:
    """A port the OS reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def cpu_budget() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class Runtime:
    """How the server generates: the stock llama-cpp-python server, or gome's (`gome.llm.llama_server`)."""

    lookup: int = 16  # at most this many tokens drafted by prompt lookup per step (gome's server only; 0: off)
    gome_server: bool = True  # prompt lookup, cached-token counts, usage in streams
    logits_all: bool = False  # the stock server's default computes and copies logits for every prompt token
    stream: bool = True  # streamed replies (progress in the live view); the stock server sends no usage then
    prompt_cache_mb: int = 1024  # RAM for saved prompt states, so each role's prefix survives the others' calls (0: off)
    grammar_last: bool = True  # gome's server only: a structured reply's grammar checked after sampling (8 -> 10 tok/s)
    flash_attn: bool = True  # llama.cpp's fused attention: prompts read about 12 % faster on this CPU (55 -> 62 tok/s)


# the runtime before issue 14
BASELINE = Runtime(lookup=0, gome_server=False, logits_all=True, stream=False, prompt_cache_mb=0, grammar_last=False,
                   flash_attn=False)
CURRENT = Runtime()


class LocalServer:
    """One llama.cpp server process; `with LocalServer(...) as model_config:` runs it for a block."""

    def __init__(self, model: Path, alias: str, *, port: int | None = None, n_ctx: int = 8192,
                 threads: int | None = None, startup_timeout_s: float = 300.0,
                 command: Sequence[str] | None = None, max_tokens: int = 2048, runtime: Runtime = CURRENT) -> None:
        self.model, self.alias, self.port, self.n_ctx, self.runtime = model, alias, port, n_ctx, runtime
        self.threads = threads or cpu_budget()
        self.startup_timeout_s, self.max_tokens = startup_timeout_s, max_tokens
        self._command = list(command) if command is not None else None  # tests pass a fake server
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._bound = port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._bound}/v1"

    def command(self, port: int) -> list[str]:
        """The server's command line; `{port}` in a custom command is replaced."""
        if self._command is not None:
            return [part.replace("{port}", str(port)) for part in self._command]
        rt = self.runtime
        head = (["gome.llm.llama_server", "--lookup", str(rt.lookup), *([] if rt.grammar_last else ["--grammar-first"])]
                if rt.gome_server else ["llama_cpp.server"])
        return [sys.executable, "-m", *head, "--model", str(self.model), "--model_alias", self.alias,
                "--host", HOST, "--port", str(port), "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads),
                "--n_threads_batch", str(self.threads), *([] if rt.logits_all else ["--logits_all", "False"]),
                *(["--flash_attn", "True"] if rt.flash_attn else []),
                *(["--cache", "True", "--cache_type", "ram", "--cache_size", str(rt.prompt_cache_mb << 20)]
                  if rt.prompt_cache_mb else [])]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(self.threads), PYTHONUNBUFFERED="1")
        return env

    def start(self) -> ModelConfig:
        """Starts the server and waits until it answers; returns the config that points at it."""
        if self._proc is not None:
            raise LocalServerError("the local model server is already running")
        port = self.port or free_port()
        if _port_taken(HOST, port):
            raise PortInUse(f"port {port} on {HOST} is in use; choose another port for the local model server")
        fd, name = tempfile.mkstemp(prefix="gome-llama-server-", suffix=".log")
        self._log_path, self._bound = Path(name), port
        with os.fdopen(fd, "wb") as sink:
            self._proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=sink,
                                          stderr=subprocess.STDOUT, env=self._env(), start_new_session=True,
                                          preexec_fn=_die_with_parent if _in_main_thread() else None)
        log.info("local model server pid %s on port %s, log %s", self._proc.pid, port, name)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self.model_config()

    def model_config(self) -> ModelConfig:
        """The endpoint as gome's client sees it: grammar-constrained JSON with a schema."""
        return ModelConfig(model=self.alias, base_url=self.base_url, api_key_env="GOME_LOCAL_API_KEY",
                           structured="json_object_schema", max_tokens=self.max_tokens, timeout_s=900.0, stop_sequences=True,
                           max_retries=0, stream=self.runtime.stream and self.runtime.gome_server, seeded=True)

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's log, on one line per log line joined by ' | '."""
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_bytes()[-chars:].decode(errors="replace")
        tail = " | ".join(line.strip() for line in text.splitlines() if line.strip()) or "(empty log)"
        return f"{tail} (full log: {self._log_path})"

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                tail = self.log_tail()
                if "address already in use" in tail.lower():
                    raise PortInUse(f"port {self._bound} on {HOST} is in use: {tail}")
                raise LocalServerError(f"the local model server exited with code {code} while starting: {tail}")
            if self.healthy():
                return
            time.sleep(0.25)
        raise LocalServerError(f"the local model server did not answer within {self.startup_timeout_s:.0f} s: "
                               f"{self.log_tail()}")

    def healthy(self, timeout_s: float = 2.0) -> bool:
        """True when the server answers GET /v1/models with 200."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=timeout_s) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, keep_log: bool = False, grace_s: float = 10.0) -> None:
        """Kills the server's process group (TERM, then KILL after `grace_s`); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            _reap_group(proc.pid)
        if self._log_path is not None and not keep_log:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> ModelConfig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_with_parent() -> None:
    """In the child: ask Linux to KILL the server when gome dies, even by SIGKILL (no-op elsewhere).
    Only set from the main thread: the signal fires when the spawning *thread* exits."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _reap_group(pgid: int) -> None:
    """Sends KILL to anything left in the group (children that outlived the leader)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def embedded_server(size: str = "1.5b", *, port: int | None = None, threads: int | None = None,
                    n_ctx: int = 8192, runtime: Runtime = CURRENT) -> LocalServer:
    """A server for an embedded model (the file is assembled and verified first)."""
    require_llama_cpp()
    spec = MODELS.get(size)
    path = model_path(size)
    assert spec is not None  # model_path raised for an unknown size
    return LocalServer(path, spec.alias, port=port, threads=threads, n_ctx=n_ctx, runtime=runtime)


@contextmanager
def model_endpoint(config: ModelConfig | None, local_size: str = "1.5b") -> Iterator[ModelConfig]:
    """Yields `config`; when it is None, runs the embedded model's server for the block instead."""
    if config is not None:
        yield config
        return
    server = embedded_server(local_size)
    previous = _exit_on_sigterm()
    try:
        with server as local:
            yield local
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm() -> Callable[[int, FrameType | None], Any] | int | None:
    """Turns SIGTERM into SystemExit (so the server is stopped); returns the handler to restore."""
    if not _in_main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return None

    def _raise(signum: int, frame: object) -> None:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the tasks the exit cancels fail quietly
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
    return previous
