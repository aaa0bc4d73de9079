"""Run untrusted, LLM-written code in a fresh, limited child process.

What this protects against
--------------------------
* Runaway time: a wall-clock timeout SIGKILLs the child's whole process
  group; the group is also killed after a normal exit, so background
  children (``sleep 1000 &``, forgotten ``Popen``) do not outlive the run.
  We wait until no member of the group is left.
* Runaway resources: rlimits on address space (``RLIMIT_AS``), file size,
  core dumps, and -- for the unprivileged uid -- the number of processes.
  BLAS/OpenMP thread pools are pinned through environment variables.
* Secret leakage through the environment: the child's environment is built
  from scratch (never copied from ``os.environ``); secret-looking names in
  ``extra_env`` are refused.
* Reading private files and tampering with the task data (only when we run
  as root and ``nobody`` can execute the interpreter): the child runs as
  ``nobody`` with no supplementary groups, so root-only files (e.g. the
  held-out answers) are unreadable, and ``workdir/input`` stays root-owned
  and read-only.
* Network access: when ``unshare -n`` works, the child gets an empty network
  namespace (not even loopback is up).
* Hung pipes: stdout/stderr go to files in a private temp dir, so orphans
  holding the streams cannot block us; only head and tail are kept.

What it does NOT protect against
--------------------------------
* A process that calls ``setsid()``/``setpgid()`` leaves the process group
  and escapes the final kill (as ``nobody`` it still holds no privileges).
* As a non-root user the child runs as that user: it can read and write
  everything the user can (including the answers), and has the network
  unless ``unshare -n`` works.
* There is no seccomp filter, no mount/PID namespace, no chroot, no cgroup
  (``RLIMIT_AS`` is per process, not a total for the tree; ``RLIMIT_NPROC``
  counts every process of ``nobody`` system-wide, so concurrent runs share
  it), and Docker is not used. Kernel exploits are out of scope.
* ``nobody`` can still read world-readable files anywhere on the machine.

Preconditions for ``uid:nobody`` (otherwise the run silently falls back to
the current user, and ``SandboxResult.isolation`` says so): we are root,
``nobody`` can execute ``argv[0]`` (a venv whose base interpreter lives under
a 0700 ``/root`` fails this), and every parent of ``workdir`` is searchable
by others (Python opens the script by absolute path). Symlinks under
``input/`` are left as they are; their targets must be readable by ``nobody``.
rlimits are set in a ``preexec_fn``, which CPython documents as unsafe when
the calling process runs threads (it only calls ``setrlimit`` here).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gome.sandbox.isolation import (
    build_env,
    kill_group,
    layers_for,
    make_preexec,
    nobody_ids,
    prepare_workdir,
    unshare_path,
)

_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "bad_alloc", "std::bad_alloc",
                   "Unable to allocate", "out of memory")
_SIGKILL, _SIGSEGV = 9, 11


class SandboxLimits(BaseModel):
    """Resource limits for one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, gt=0)
    threads: int = Field(default=1, ge=1)
    max_output_chars: int = Field(default=8000, ge=0)
    file_size_mb: int = Field(default=1024, gt=0)
    max_processes: int = Field(default=256, ge=1)
    network: bool = False


class SandboxResult(BaseModel):
    """What happened in one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    exit_code: int
    timed_out: bool
    memory_exceeded: bool
    duration_s: float
    stdout: str
    stderr: str
    isolation: tuple[str, ...]


def _marker(dropped: int) -> str:
    return f"\n... [{dropped} chars truncated] ...\n"


def truncate_middle(text: str, max_chars: int) -> str:
    """Keep the head and tail of ``text`` (``max_chars`` in all) around a marker."""
    if len(text) <= max_chars:
        return text
    head = max_chars // 2
    tail = max_chars - head
    return text[:head] + _marker(len(text) - max_chars) + text[len(text) - tail:]


def read_head_tail(path: Path, max_chars: int) -> str:
    """Read a captured stream without loading a huge file into memory."""
    size = path.stat().st_size
    window = 4 * max_chars + 4096  # bytes; generous for multi-byte UTF-8
    with open(path, "rb") as fh:
        if size <= 2 * window:
            return truncate_middle(fh.read().decode("utf-8", "replace"), max_chars)
        head = fh.read(window).decode("utf-8", "replace")[:max_chars // 2]
        fh.seek(size - window)
        tail = fh.read().decode("utf-8", "replace")
    tail = tail[len(tail) - (max_chars - len(head)):]
    dropped = size - len(head.encode()) - len(tail.encode())  # bytes: approximate for non-ASCII
    return head + _marker(dropped) + tail


def _memory_exceeded(stderr: str, exit_code: int, timed_out: bool) -> bool:
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return True
    return not timed_out and exit_code in (-_SIGKILL, -_SIGSEGV)


def _command(argv: list[str], network: bool,
             workdir: Path) -> tuple[list[str], dict, tuple[str, ...]]:
    """Final argv, extra Popen kwargs and the active layers for this run."""
    if not argv:
        raise ValueError("argv must not be empty")
    executable = shutil.which(argv[0]) or argv[0]
    layers = layers_for(executable, network, workdir)
    ids = nobody_ids() if "uid:nobody" in layers else None
    unshare = unshare_path() if "netns" in layers else None
    if unshare is None:
        kwargs = {"user": ids[0], "group": ids[1], "extra_groups": []} if ids else {}
        return list(argv), kwargs, layers
    prefix = [unshare, "-n"]
    if ids:  # unshare must create the namespace as root, then drop to nobody itself
        prefix += ["--setgid", str(ids[1]), "--setuid", str(ids[0])]
    return prefix + ["--", *argv], {}, layers


def run_sandboxed(argv: list[str], workdir: Path, limits: SandboxLimits,
                  extra_env: dict[str, str] | None = None) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under ``limits`` and return what happened."""
    workdir = Path(workdir).resolve()
    env = build_env(workdir, limits.threads, extra_env)
    cmd, user_kwargs, layers = _command(argv, limits.network, workdir)
    as_nobody = "uid:nobody" in layers
    prepare_workdir(workdir, nobody_ids() if as_nobody else None)
    preexec = make_preexec(limits.memory_mb, limits.file_size_mb,
                           limits.max_processes if as_nobody else None)
    private = Path(tempfile.mkdtemp(prefix="gome-sandbox-"))
    try:
        out_path, err_path = private / "stdout", private / "stderr"
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            exit_code, timed_out, duration = _execute(
                cmd, workdir, env, out, err, preexec, user_kwargs, limits.timeout_s)
        stdout = read_head_tail(out_path, limits.max_output_chars)
        stderr = read_head_tail(err_path, limits.max_output_chars)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if timed_out:
        stderr += f"\n[sandbox] killed after the {limits.timeout_s:g} s timeout"
    return SandboxResult(exit_code=exit_code, timed_out=timed_out,
                         memory_exceeded=_memory_exceeded(stderr, exit_code, timed_out),
                         duration_s=duration, stdout=stdout, stderr=stderr,
                         isolation=layers)


def _execute(cmd: list[str], workdir: Path, env: dict[str, str], out, err, preexec,
             user_kwargs: dict, timeout_s: float) -> tuple[int, bool, float]:
    """Start the child in its own session, wait, then kill whatever is left of its group.

    The leader is reaped only after the group kill, so its pid (= the pgid)
    cannot be reused by an unrelated process in between.
    """
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, start_new_session=True, close_fds=True,
                            preexec_fn=preexec, **user_kwargs)
    try:
        timed_out = not _wait_exit(proc, timeout_s)
        duration = time.monotonic() - start
    finally:
        survivors = kill_group(proc.pid)
        proc.wait()
    if survivors:
        err.write(f"\n[sandbox] processes {survivors} survived the group kill\n".encode())
    return proc.returncode, timed_out, duration


def _wait_exit(proc: subprocess.Popen, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for the child to exit, without reaping it if possible."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd: fall back to a reaping wait
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(1, int(timeout_s * 1000))))
    finally:
        os.close(pidfd)
