"""A per-run control group (cgroup v1 ``pids`` and ``memory``), where we may create one.

``pids.max`` caps the number of processes of the whole tree whatever its uid (root is exempt
from ``RLIMIT_NPROC``, a cgroup is not); ``memory.limit_in_bytes`` caps the tree's total memory
(``RLIMIT_DATA`` is per process). Membership cannot be left by an unprivileged process, so
killing every member of the group at the end is complete. cgroup v2 is not handled yet.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import time
import uuid
from pathlib import Path

__all__ = ["RunCgroup", "cgroup_controllers"]

log = logging.getLogger(__name__)
_ROOT = Path("/sys/fs/cgroup")
_CONTROLLERS = ("pids", "memory")
_MB = 1024 * 1024


def _own_path(controller: str) -> Path | None:
    """This process's cgroup folder for a v1 ``controller``, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _id, names, rel = line.split(":", 2)
        if controller in names.split(","):
            path = _ROOT / controller / rel.lstrip("/")
            return path if (path / "cgroup.procs").is_file() else None
    return None


@functools.lru_cache(maxsize=None)
def cgroup_controllers() -> tuple[str, ...]:
    """The v1 controllers under which we can create and remove a child group (probed once)."""
    usable = []
    for controller in _CONTROLLERS:
        base = _own_path(controller)
        if base is None or os.geteuid() != 0:
            continue
        probe = base / f"gome-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError:
            continue
        _remove_stale(base)
        usable.append(controller)
    return tuple(usable)


def _remove_stale(base: Path) -> None:
    """Kill and remove the groups of gome processes that died without cleaning up."""
    for path in base.glob("gome-*-*"):
        pid = path.name.split("-")[1]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        group = RunCgroup.__new__(RunCgroup)
        group.paths = [path]
        group.kill_all(grace_s=1.0)
        _rmdir(path)


class RunCgroup:
    """One child group per controller for one sandboxed run; enter in the child, kill and remove after."""

    def __init__(self, max_processes: int, memory_mb: int) -> None:
        name = f"gome-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.paths: list[Path] = []
        settings = {"pids": ("pids.max", str(max_processes)),
                    "memory": ("memory.limit_in_bytes", str(memory_mb * _MB))}
        for controller in cgroup_controllers():
            path = _own_path(controller) / name  # type: ignore[operator]
            try:
                path.mkdir()
                knob, value = settings[controller]
                (path / knob).write_text(value)
            except OSError as exc:
                log.warning("sandbox: cgroup %s unusable: %s", path, exc)
                _rmdir(path)
                continue
            self.paths.append(path)

    @property
    def layers(self) -> tuple[str, ...]:
        """``cgroup:pids`` / ``cgroup:memory`` for the groups in use."""
        return tuple(f"cgroup:{p.parent.relative_to(_ROOT).parts[0]}" for p in self.paths)

    def enter(self) -> None:
        """Move the calling process into every group (called in the child before exec)."""
        for path in self.paths:
            with open(path / "cgroup.procs", "w") as fh:
                fh.write("0")

    def members(self) -> set[int]:
        """Pids still in any of the groups."""
        pids: set[int] = set()
        for path in self.paths:
            try:
                pids.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except OSError:
                continue
        return pids

    def kill_all(self, grace_s: float = 5.0) -> list[int]:
        """SIGKILL every member until none is left; return survivors (normally [])."""
        deadline = time.monotonic() + grace_s
        while True:
            members = self.members()
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if not members or time.monotonic() > deadline:
                return sorted(members)
            time.sleep(0.02)

    def remove(self) -> None:
        """Remove the groups (they must be empty)."""
        for path in self.paths:
            _rmdir(path)


def _rmdir(path: Path) -> None:
    for _ in range(50):  # members that just died may take a moment to leave
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    log.warning("sandbox: could not remove cgroup %s", path)
