"""Finding and killing what is left of a sandboxed run.

By process group (always), and by a marker in the environment of every process the run
started (which also finds a process that left the group with ``setsid()``, unless it
re-executed itself with a cleared environment). See also :mod:`gome.sandbox.cgroup` and
:mod:`gome.sandbox.pidns`, which hold a run more firmly where the OS allows.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["MARKER_VAR", "kill_group", "kill_marked", "live_group_members", "marked_processes"]

def live_group_members(pgid: int, zombies: bool = False) -> list[int]:
    """Pids of processes whose process group is ``pgid`` (from /proc), zombies only if asked."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if (zombies or fields[0] not in (b"Z", b"X")) and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def kill_group(pgid: int, grace_s: float = 5.0) -> list[int]:
    """SIGKILL the process group and wait until it is gone; return survivors (normally [])."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        survivors = live_group_members(pgid)
        if not survivors or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    _wait_reaped(pgid, min(deadline, time.monotonic() + 2.0))
    return survivors


def _wait_reaped(pgid: int, deadline: float) -> None:
    """Wait until the group's zombies (but its unreaped leader) are gone.

    Unreaped zombies still count against ``RLIMIT_NPROC``: after a fork bomb, the next run
    as ``nobody`` would fail to start until their new parent has reaped them.
    """
    while time.monotonic() < deadline and set(live_group_members(pgid, zombies=True)) - {pgid}:
        time.sleep(0.02)


MARKER_VAR = "GOME_SANDBOX_RUN"


def marked_processes(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``GOME_SANDBOX_RUN=<marker>``."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:
            continue
        if needle in environ and entry.name not in _zombies([entry.name]):
            found.append(int(entry.name))
    return found


def _zombies(pids: list[str]) -> set[str]:
    dead = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            dead.add(pid)
            continue
        if stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X"):
            dead.add(pid)
    return dead


def kill_marked(marker: str, grace_s: float = 5.0) -> list[int]:
    """SIGKILL every process carrying ``marker`` until none is left; return survivors.

    Catches a process that left the process group (``setsid``) when no PID namespace or
    cgroup holds the run; a process that re-executes itself with a cleared environment
    escapes it.
    """
    deadline = time.monotonic() + grace_s
    while True:
        found = marked_processes(marker)
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
