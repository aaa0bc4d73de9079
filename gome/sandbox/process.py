"""Run untrusted, LLM-written code in a fresh, limited child process.

What this protects against
--------------------------
* Runaway time: a wall-clock timeout kills the run; after a normal exit
  whatever it left behind is killed too, and we wait until nothing is left.
  Three nets, the strongest the machine allows: the process group (always);
  a fresh PID namespace whose init is PID 1 (everything in it dies with it,
  ``setsid()`` escapes included); a cgroup (membership cannot be left). A
  marker in the environment catches the rest (see :mod:`.reaping`).
* Runaway resources: rlimits on address space, file size, core dumps and
  processes (``RLIMIT_NPROC``: as ``nobody``, or for an ordinary user its
  current count plus the cap); where we can create cgroups, ``pids.max`` and
  a memory limit for the whole tree (root ignores ``RLIMIT_NPROC``, and
  ``RLIMIT_DATA`` is per process). The workspace (``input/`` aside) is measured
  every half second and the run killed past ``disk_mb``. Thread pools are
  pinned through environment variables.
* Secret leakage through the environment: the child's environment is built
  from scratch (never copied from ``os.environ``); secret-looking names in
  ``extra_env`` are refused. In a PID namespace with its own ``/proc`` the
  child cannot even see gome's processes.
* Reading private files and tampering with the task data (as root): the
  child runs as ``nobody`` with no supplementary groups, so root-only files
  (e.g. the held-out answers) are unreadable, and ``workdir/input`` stays
  root-owned and read-only. Where ``nobody`` cannot reach the interpreter or
  the workdir (a venv under a 0700 ``/root``), the folders in the way are
  masked in the run's mount namespace and only the interpreter's folders and
  the workdir are bound back (:mod:`.nobody`). Where even that is impossible
  the run is refused (:class:`SandboxRefused`), unless running as root was
  explicitly allowed: it never silently falls back to root.
* Writing outside the workspace: as ``nobody`` only world-writable folders
  remain; with the PID namespace (which brings a mount namespace) ``/tmp``,
  ``/var/tmp``, ``/dev/shm`` and ``/run/lock`` are private, size-capped tmpfs
  that vanish with the run.
* Network access: when ``unshare -n`` works, the child gets an empty network
  namespace (not even loopback is up).
* Hung pipes: stdout/stderr go to files in a private temp dir, so orphans
  holding the streams cannot block us; only head and tail are kept.

What it does NOT protect against
--------------------------------
* Without root (or a PID namespace and cgroups) the child runs as the
  current user: it can read and write everything the user can (including
  the answers), has the network unless ``unshare -n`` works, and a process
  that calls ``setsid()`` and re-executes itself with a cleared environment
  outlives the run.
* There is no seccomp filter, no chroot and no cgroup v2 support; Docker is
  not used. ``RLIMIT_NPROC`` counts every process of ``nobody`` system-wide,
  so concurrent runs share it (the cgroup cap is per run). The disk check
  polls, so a fast writer may overshoot ``disk_mb`` by what it writes in half
  a second (each file is still capped by ``RLIMIT_FSIZE``). Kernel exploits
  are out of scope.
* ``nobody`` can still read world-readable files anywhere on the machine.

Preconditions for ``uid:nobody`` as root: the user ``nobody`` exists, and
either it can execute ``argv[0]`` and reach ``workdir`` as they are, or a
PID namespace (with its mount namespace) can be made, in which the folders
in the way are masked. Symlinks under ``input/`` are left as they are; their
targets must be readable by ``nobody``.
rlimits are set in a ``preexec_fn``, which CPython documents as unsafe when
the calling process runs threads (it only calls ``setrlimit`` and writes the
cgroup's ``cgroup.procs`` here).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gome.sandbox.cgroup import RunCgroup
from gome.sandbox.isolation import (
    build_env,
    layers_for,
    make_preexec,
    nobody_ids,
    nproc_cap,
    prepare_workdir,
    unshare_path,
    workspace_bytes,
)
from gome.sandbox.nobody import SandboxRefused, enforce, nobody_plan
from gome.sandbox.output import read_head_tail, truncate_middle
from gome.sandbox.reaping import MARKER_VAR, kill_group, kill_marked
from gome.sandbox.pidns import decode_status, init_argv

__all__ = ["SandboxLimits", "SandboxRefused", "SandboxResult", "read_head_tail", "run_sandboxed",
           "truncate_middle", "workspace_bytes"]

_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "bad_alloc", "std::bad_alloc",
                   "Unable to allocate", "out of memory")
_SIGKILL, _SIGSEGV = 9, 11
_MB = 1024 * 1024
_SCRATCH_MB = 256  # size of each private tmpfs (/tmp, /var/tmp, /dev/shm, /run/lock)
_DISK_TICK_S = 0.5


class SandboxLimits(BaseModel):
    """Resource limits for one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, gt=0)
    threads: int = Field(default=1, ge=1)
    max_output_chars: int = Field(default=8000, ge=0)
    file_size_mb: int = Field(default=1024, gt=0)
    max_processes: int = Field(default=256, ge=1)
    disk_mb: int = Field(default=4096, gt=0)  # workspace outside input/, checked every tick
    network: bool = False
    gpus: bool = False  # let the script see the GPUs (then no RLIMIT_DATA: CUDA maps pinned host memory)
    allow_root: bool = False  # as root, run as root where nobody cannot be used (else: SandboxRefused)


class SandboxResult(BaseModel):
    """What happened in one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    exit_code: int
    timed_out: bool
    memory_exceeded: bool
    disk_exceeded: bool = False
    duration_s: float
    stdout: str
    stderr: str
    isolation: tuple[str, ...]


def _memory_exceeded(stderr: str, exit_code: int, timed_out: bool) -> bool:
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return True
    return not timed_out and exit_code in (-_SIGKILL, -_SIGSEGV)


@dataclass
class _Plan:
    """How one run is started and what holds it."""

    cmd: list[str]
    layers: tuple[str, ...]
    ids: tuple[int, int] | None
    popen_kwargs: dict = field(default_factory=dict)
    status_pipe: tuple[int, int] | None = None  # (read, write) when an init reports the status
    drop_to: tuple[int, int] | None = None  # (uid, gid) the preexec function switches to


def _plan(argv: list[str], limits: SandboxLimits, workdir: Path) -> _Plan:
    """Final argv, Popen kwargs and the active layers for this run."""
    if not argv:
        raise ValueError("argv must not be empty")
    executable = shutil.which(argv[0]) or argv[0]
    who = nobody_plan(executable, workdir)
    enforce(who, limits.allow_root)  # SandboxRefused rather than root, unless explicitly allowed
    layers = layers_for(executable, limits.network, workdir)
    ids = nobody_ids() if who.as_nobody else None
    if "pidns" in layers:
        read, write = os.pipe()
        cmd = init_argv(list(argv), str(workdir), write, ids, limits.network,
                        min(limits.disk_mb, _SCRATCH_MB), who.keep, who.masks)
        return _Plan(cmd, layers, ids, {"pass_fds": (write,)}, (read, write))
    unshare = unshare_path() if "netns" in layers else None
    if unshare is None:  # the preexec function drops to nobody itself
        return _Plan(list(argv), layers, ids, drop_to=ids)
    prefix = [unshare, "-n"]
    if ids:  # unshare must create the namespace as root, then drop to nobody itself
        prefix += ["--setgid", str(ids[1]), "--setuid", str(ids[0])]
    return _Plan(prefix + ["--", *argv], layers, ids)


def run_sandboxed(argv: list[str], workdir: Path, limits: SandboxLimits,
                  extra_env: dict[str, str] | None = None) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under ``limits`` and return what happened."""
    workdir = Path(workdir).resolve()
    marker = uuid.uuid4().hex
    env = {**build_env(workdir, limits.threads, extra_env, limits.gpus), MARKER_VAR: marker}
    plan = _plan(argv, limits, workdir)
    prepare_workdir(workdir, plan.ids)
    cgroup = RunCgroup(limits.max_processes + 2, limits.memory_mb)  # +2: unshare and init
    nproc = nproc_cap(limits.max_processes, plan.ids is not None)
    preexec = make_preexec(None if limits.gpus else limits.memory_mb, limits.file_size_mb, nproc, cgroup.enter,
                           plan.drop_to)
    layers = tuple(layer for layer in plan.layers
                   if not layer.startswith("cgroup:") or layer in cgroup.layers)
    private = Path(tempfile.mkdtemp(prefix="gome-sandbox-"))
    try:
        out_path, err_path = private / "stdout", private / "stderr"
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            outcome = _execute(plan, workdir, env, (out, err), preexec, limits,
                               _Reaper(marker, cgroup))
        stdout = read_head_tail(out_path, limits.max_output_chars)
        stderr = read_head_tail(err_path, limits.max_output_chars)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        cgroup.remove()
    exit_code, timed_out, disk_exceeded, duration = outcome
    if timed_out:
        stderr += f"\n[sandbox] killed after the {limits.timeout_s:g} s timeout"
    if disk_exceeded:
        stderr += f"\n[sandbox] killed: the workspace grew past {limits.disk_mb} MB"
    memory = not disk_exceeded and _memory_exceeded(stderr, exit_code, timed_out)
    return SandboxResult(exit_code=exit_code, timed_out=timed_out, memory_exceeded=memory,
                         disk_exceeded=disk_exceeded, duration_s=duration, stdout=stdout,
                         stderr=stderr, isolation=layers)


@dataclass
class _Reaper:
    """Kills what is left of a run: its process group, its cgroup, its marked processes."""

    marker: str
    cgroup: RunCgroup

    def kill(self, pgid: int) -> list[int]:
        """Kill everything; return survivors (normally [])."""
        survivors = kill_group(pgid)
        survivors += self.cgroup.kill_all()
        return survivors + kill_marked(self.marker)


def _execute(plan: _Plan, workdir: Path, env: dict[str, str], streams: tuple, preexec,
             limits: SandboxLimits, reaper: _Reaper) -> tuple[int, bool, bool, float]:
    """Start the child in its own session, wait, then kill whatever is left of it.

    The leader is reaped only after the kill, so its pid (= the pgid) cannot be
    reused by an unrelated process in between.
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(plan.cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=streams[0], stderr=streams[1], start_new_session=True,
                                close_fds=True, preexec_fn=preexec, **plan.popen_kwargs)
    finally:
        if plan.status_pipe:
            os.close(plan.status_pipe[1])
    try:
        timed_out, disk_exceeded = _wait_exit(proc, limits, workdir)
        duration = time.monotonic() - start
    finally:
        survivors = reaper.kill(proc.pid)
        proc.wait()
    if survivors:
        streams[1].write(f"\n[sandbox] processes {survivors} survived the kill\n".encode())
    exit_code = proc.returncode
    if plan.status_pipe:
        exit_code = decode_status(_read_all(plan.status_pipe[0]), exit_code)
    return exit_code, timed_out, disk_exceeded, duration


def _read_all(fd: int) -> bytes:
    """Read what the (now dead) writers left in a pipe, then close it."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 64)
    except BlockingIOError:
        return b""
    finally:
        os.close(fd)


def _wait_exit(proc: subprocess.Popen, limits: SandboxLimits,
               workdir: Path) -> tuple[bool, bool]:
    """Wait for the child to exit; (timed out, workspace too large). Checks the disk every tick."""
    deadline = time.monotonic() + limits.timeout_s
    cap = limits.disk_mb * _MB
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd: fall back to a reaping wait
        pidfd = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True, False
            if _exited(proc, pidfd, min(left, _DISK_TICK_S)):
                return False, False
            if workspace_bytes(workdir) > cap:
                return False, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _exited(proc: subprocess.Popen, pidfd: int | None, wait_s: float) -> bool:
    """Whether the child exits within ``wait_s`` (without reaping it when a pidfd exists)."""
    if pidfd is None:
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return False
        return True
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(1, int(wait_s * 1000))))
