"""A fresh PID and mount namespace per run, with a tiny init as PID 1.

``unshare --pid --fork --kill-child --mount-proc`` starts :data:`INIT` (as root) as PID 1 of a new
PID namespace. When PID 1 exits or is killed, the kernel kills every process of the namespace,
including those that left the process group with ``setsid()``. The init, still root inside the
new mount namespace, mounts small private tmpfs over the world-writable scratch folders
(``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock``), binds the workdir back when it lies under
one of them, then forks the script, drops to the unprivileged uid in the child, and reaps orphans
until the script exits. It reports the script's raw wait status through an inherited pipe (PID 1
cannot die by its own signal, so its exit code could not tell).
"""

from __future__ import annotations

import os
import shutil
import sys

__all__ = ["INIT", "SCRATCH_DIRS", "decode_status", "init_argv"]

SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

INIT = r"""
import ctypes, os, sys
fd, uid, gid, scratch_mb = (int(a) for a in sys.argv[1:5])
workdir, argv = sys.argv[5], sys.argv[7:]
kept = [workdir] + [d for d in sys.argv[6].split(":") if d and os.path.isdir(d)]
libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MS_BIND = 2, 4, 4096
keep = {d: os.open(d, os.O_RDONLY | os.O_DIRECTORY) for d in kept}
for top in __SCRATCH__:
    if scratch_mb <= 0 or os.path.islink(top) or not os.path.isdir(top):
        continue
    opts = f"size={scratch_mb}m,mode=1777".encode()
    if libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts) != 0:
        continue
    for d, dfd in keep.items():  # the workdir and the interpreter's folders stay visible
        if d == top or d.startswith(top + "/"):
            os.makedirs(d, mode=0o755, exist_ok=True)
            if libc.mount(f"/proc/self/fd/{dfd}".encode(), d.encode(), None, MS_BIND, None) != 0:
                os.write(2, f"[sandbox] cannot bind {d} under a private tmpfs\n".encode())
                os._exit(126)
for dfd in keep.values():
    os.close(dfd)
pid = os.fork()
if pid == 0:
    try:
        os.close(fd)
        os.chdir(workdir)
        if uid >= 0:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        os.execvp(argv[0], argv)
    except BaseException as exc:
        os.write(2, f"[sandbox] cannot start {argv[0]}: {exc}\n".encode())
    os._exit(127)
while True:
    try:
        got, status = os.wait()
    except ChildProcessError:
        os._exit(127)
    if got == pid:
        break
os.write(fd, str(status).encode())
os._exit(0)
"""


def init_argv(argv: list[str], workdir: str, status_fd: int, ids: tuple[int, int] | None,
              network: bool, scratch_mb: int) -> list[str]:
    """The command line that runs ``argv`` under the init in fresh namespaces."""
    unshare = shutil.which("unshare") or "unshare"
    uid, gid = ids if ids else (-1, -1)
    code = INIT.replace("__SCRATCH__", repr(SCRATCH_DIRS))
    prefix = [unshare] + ([] if network else ["-n"])
    prefix += ["--pid", "--fork", "--kill-child", "--mount-proc", "--"]
    return prefix + [sys.executable, "-I", "-S", "-c", code, str(status_fd), str(uid), str(gid),
                     str(scratch_mb), workdir, ":".join(_interpreter_dirs(argv[0])), *argv]


def _interpreter_dirs(program: str) -> list[str]:
    """Folders the script's interpreter needs (its venv, its installation), kept visible even when
    they lie under a scratch folder that gets a private tmpfs (a checkout under /tmp, say)."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.abspath(program))}
    return sorted(d for d in found if any(d == top or d.startswith(top + "/") for top in SCRATCH_DIRS))


def decode_status(raw: bytes, fallback: int) -> int:
    """Exit code from the init's report (``-N`` for signal N), else ``fallback``."""
    try:
        return os.waitstatus_to_exitcode(int(raw.decode()))
    except ValueError:
        return fallback
