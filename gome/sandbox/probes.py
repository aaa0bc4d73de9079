"""What this machine allows, probed once: the unprivileged user, ``unshare -n``, a PID namespace."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess

__all__ = ["UNPRIVILEGED_USER", "nobody_ids", "pidns_available", "probe", "unshare_path"]

UNPRIVILEGED_USER = "nobody"


def probe(argv: list[str], *, user: int | None = None, group: int | None = None, extra_groups: list[int] | None = None,
          pass_fds: tuple[int, ...] = ()) -> bool:
    """True when ``argv`` runs (as ``user``/``group`` when given) and exits 0 within 15 s."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd="/", timeout=15,
                              env={"PATH": os.environ.get("PATH", os.defpath)}, user=user, group=group,
                              extra_groups=extra_groups, pass_fds=pass_fds)
    except (OSError, subprocess.SubprocessError, ValueError):
        return False
    return done.returncode == 0


@functools.lru_cache(maxsize=None)
def nobody_ids() -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged user, or None when it does not exist."""
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


@functools.lru_cache(maxsize=None)
def unshare_path() -> str | None:
    """Path of ``unshare`` when ``unshare -n`` works here (probed once), else None."""
    exe = shutil.which("unshare")
    if exe is None or not probe([exe, "-n", "--", "true"]):
        return None
    return exe


@functools.lru_cache(maxsize=None)
def pidns_available() -> bool:
    """Whether ``unshare --pid --fork --kill-child --mount-proc`` works here (probed once)."""
    exe = shutil.which("unshare")
    return exe is not None and probe([exe, "--pid", "--fork", "--kill-child", "--mount-proc",
                                      "--", "true"])
