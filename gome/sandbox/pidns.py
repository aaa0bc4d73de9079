"""A fresh PID and mount namespace per run, with a tiny init as PID 1.

``unshare --pid --fork --kill-child --mount-proc`` starts :data:`INIT` (as root) as PID 1 of a new
PID namespace. When PID 1 exits or is killed, the kernel kills every process of the namespace,
including those that left the process group with ``setsid()``. The init, still root inside the
new mount namespace, first covers each *masked* folder (one that ``nobody`` cannot search, such as
a 0700 ``/root`` holding the interpreter) with an empty tmpfs, then mounts small private tmpfs over
the world-writable scratch folders (``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock``); under
each, it binds back the folders the run needs (the workdir, the interpreter's), and nothing else.
Then it forks the script, drops to the unprivileged uid in the child, and reaps orphans until the
script exits. It reports the script's raw wait status through an inherited pipe (PID 1 cannot die
by its own signal, so its exit code could not tell).
"""

from __future__ import annotations

import json
import os
import shutil
import sys

__all__ = ["INIT", "SCRATCH_DIRS", "decode_status", "init_argv"]

SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

INIT = r"""
import ctypes, json, os, sys
cfg, argv = json.loads(sys.argv[1]), sys.argv[2:]
fd, uid, gid, workdir = cfg["fd"], cfg["uid"], cfg["gid"], cfg["workdir"]
libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MS_BIND = 2, 4, 4096
def fail(message):
    os.write(2, f"[sandbox] {message}\n".encode())
    os._exit(126)
wanted = sorted({workdir, *cfg["keep"]}, key=lambda d: d.rstrip("/").count("/"))  # outer folders first
keep = {d: os.open(d, os.O_RDONLY | os.O_DIRECTORY) for d in wanted if os.path.isdir(d)}
tops = [(m, "size=1m,mode=0755", True) for m in cfg["masks"]]
tops += [(t, f"size={cfg['scratch_mb']}m,mode=1777", False) for t in __SCRATCH__ if cfg["scratch_mb"] > 0]
for top, opts, required in tops:
    if os.path.islink(top) or not os.path.isdir(top):
        continue
    if libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts.encode()) != 0:
        if required:
            fail(f"cannot mask {top} (errno {ctypes.get_errno()})")
        continue
    for d, dfd in keep.items():  # the workdir and the interpreter's folders stay visible
        if d == top or d.startswith(top.rstrip("/") + "/"):
            os.makedirs(d, mode=0o755, exist_ok=True)
            if libc.mount(f"/proc/self/fd/{dfd}".encode(), d.encode(), None, MS_BIND, None) != 0:
                fail(f"cannot bind {d} under {top}")
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
              network: bool, scratch_mb: int, keep: tuple[str, ...] = (),
              masks: tuple[str, ...] = ()) -> list[str]:
    """The command line that runs ``argv`` under the init in fresh namespaces.

    ``keep``: folders bound back where a mask or a scratch tmpfs covers them (the interpreter's);
    ``masks``: folders hidden behind an empty tmpfs, shallowest first.
    """
    unshare = shutil.which("unshare") or "unshare"
    uid, gid = ids if ids else (-1, -1)
    code = INIT.replace("__SCRATCH__", repr(SCRATCH_DIRS))
    prefix = [unshare] + ([] if network else ["-n"])
    prefix += ["--pid", "--fork", "--kill-child", "--mount-proc", "--"]
    cfg = {"fd": status_fd, "uid": uid, "gid": gid, "scratch_mb": scratch_mb, "workdir": workdir,
           "keep": _by_depth(keep), "masks": _by_depth(masks)}
    return prefix + [sys.executable, "-I", "-S", "-c", code, json.dumps(cfg), *argv]


def _by_depth(dirs: tuple[str, ...]) -> list[str]:
    """Unique folders, shallowest first (an outer folder is mounted before one inside it)."""
    return sorted(set(dirs), key=lambda d: (d.rstrip("/").count("/"), d))


def decode_status(raw: bytes, fallback: int) -> int:
    """Exit code from the init's report (``-N`` for signal N), else ``fallback``."""
    try:
        return os.waitstatus_to_exitcode(int(raw.decode()))
    except ValueError:
        return fallback
