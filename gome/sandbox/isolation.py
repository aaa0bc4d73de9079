"""Isolation building blocks for :mod:`gome.sandbox.process`.

Probing (cached), the layers a run gets, the scrubbed environment, rlimits
for ``preexec_fn`` and workdir ownership. See :mod:`gome.sandbox.process`
for the threat model.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import sys
from pathlib import Path
from typing import Callable

from gome.sandbox.cgroup import cgroup_controllers
from gome.sandbox.nobody import can_run_as_nobody, nobody_plan
from gome.sandbox.probes import UNPRIVILEGED_USER, nobody_ids, pidns_available, unshare_path

__all__ = ["build_env", "can_run_as_nobody", "isolation_layers", "layers_for", "make_preexec",
           "nobody_ids", "nproc_cap", "pidns_available", "prepare_workdir", "unshare_path",
           "workdir_reachable", "workspace_bytes"]

INPUT_DIRNAME = "input"
_SECRET_KEY = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
_THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
    "LOKY_MAX_CPU_COUNT", "RAYON_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "POLARS_MAX_THREADS",
)
_MB = 1024 * 1024
_PR_SET_PDEATHSIG = 1
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - no libc to load
    _LIBC = None


def isolation_layers(network: bool = False) -> tuple[str, ...]:
    """The layers :func:`run_sandboxed` would use for ``sys.executable`` here.

    Assumes a workdir that ``nobody`` can reach (see :func:`layers_for`).
    """
    return layers_for(sys.executable, network)


def layers_for(executable: str, network: bool, workdir: Path | None = None) -> tuple[str, ...]:
    """The layers a run of ``executable`` in ``workdir`` gets.

    ``uid:nobody`` as root (see :mod:`gome.sandbox.nobody`); ``masked-dirs`` when folders that others
    may not search were masked so that ``nobody`` reaches the interpreter or the workdir.
    """
    layers = ["process-group", "rlimits", "scrubbed-env"]
    plan = nobody_plan(executable, workdir)
    if plan.as_nobody:
        layers.append(f"uid:{UNPRIVILEGED_USER}")
        if plan.masks:
            layers.append("masked-dirs")
    if not network and unshare_path() is not None:
        layers.append("netns")
    if pidns_available():
        layers += ["pidns", "private-tmp"]
    layers += [f"cgroup:{name}" for name in cgroup_controllers()]
    return tuple(layers)


def workdir_reachable(workdir: Path) -> bool:
    """Whether others may search every parent directory of ``workdir``."""
    return all(os.stat(p).st_mode & 0o001 for p in Path(workdir).resolve().parents)


_GPU_VARS = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "LD_LIBRARY_PATH")


def build_env(workdir: Path, threads: int, extra_env: dict[str, str] | None, gpus: bool = False) -> dict[str, str]:
    """A fresh environment for the child; never a copy of ``os.environ``. GPUs stay hidden
    (``CUDA_VISIBLE_DEVICES=""``) unless ``gpus``; then the parent's device selection passes through."""
    extra = dict(extra_env or {})
    refused = sorted(k for k in extra if _SECRET_KEY.search(k))
    if refused:
        raise ValueError(f"refusing to pass secret-looking variables to the sandbox: {refused}")
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir / ".tmp"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "MPLBACKEND": "Agg",
    }
    if "LC_ALL" in os.environ:
        env["LC_ALL"] = os.environ["LC_ALL"]
    env.update({name: str(threads) for name in _THREAD_VARS})
    env["CUDA_VISIBLE_DEVICES"] = ""
    if gpus:
        env.pop("CUDA_VISIBLE_DEVICES")
        env.update({k: os.environ[k] for k in _GPU_VARS if k in os.environ})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def nproc_cap(max_processes: int, as_nobody: bool) -> int | None:
    """``RLIMIT_NPROC`` for the child: it counts every process of the child's real uid.

    As ``nobody``: ``max_processes``. As an ordinary user: the user's current count plus
    ``max_processes``. As root: None (root ignores it; a ``pids`` cgroup caps root's tree).
    """
    if as_nobody:
        return max_processes
    if os.geteuid() == 0:
        return None
    uid = os.getuid()
    return max_processes + sum(_threads(e.path) for e in os.scandir("/proc")
                               if e.name.isdigit() and _owner(e.path) == uid)


def _owner(path: str) -> int | None:
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def _threads(path: str) -> int:
    """Threads of a process (``RLIMIT_NPROC`` counts threads); 0 when it is gone."""
    try:
        stat = Path(path, "stat").read_bytes()
    except OSError:
        return 0
    return int(stat[stat.rfind(b")") + 2:].split()[17])


def make_preexec(memory_mb: int | None, file_size_mb: int, nproc: int | None,
                 enter: Callable[[], None] | None = None,
                 drop_to: tuple[int, int] | None = None) -> Callable[[], None]:
    """A ``preexec_fn`` that lowers rlimits in the child (never raises a hard limit).

    ``enter`` (e.g. joining a cgroup) runs after the limits are set, then the child drops
    to ``drop_to`` (uid, gid) if given. It is also killed when we die (``PR_SET_PDEATHSIG``,
    set last: the kernel clears it when a process changes uid later, as ``unshare --setuid``
    does; the namespace wrapper stays root).
    """
    parent = os.getpid()
    wanted = [(resource.RLIMIT_FSIZE, file_size_mb * _MB), (resource.RLIMIT_CORE, 0)]
    if memory_mb is not None:  # None with GPUs: the cgroup's memory limit still bounds RAM
        # RLIMIT_DATA, not RLIMIT_AS: it counts writable private memory (heap, arrays) but not the
        # address space that CUDA builds of torch reserve even on the CPU (seen on a GPU machine:
        # `import torch` failed under a 4 GB RLIMIT_AS)
        wanted.append((resource.RLIMIT_DATA, memory_mb * _MB))
    if nproc is not None:
        wanted.append((resource.RLIMIT_NPROC, nproc))

    def _apply() -> None:
        for which, value in wanted:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        if enter is not None:
            enter()
        if drop_to is not None:
            os.setgroups([])
            os.setgid(drop_to[1])
            os.setuid(drop_to[0])
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # we died before the line above took effect
                os._exit(1)

    return _apply


def prepare_workdir(workdir: Path, uid_gid: tuple[int, int] | None) -> None:
    """Create ``.tmp``; when dropping to ``uid_gid`` hand the workdir to that user.

    Files under ``input/`` stay root-owned and read-only (files 0444, dirs 0555).
    """
    (workdir / ".tmp").mkdir(exist_ok=True)
    if uid_gid is None:
        return
    uid, gid = uid_gid
    input_dir = workdir / INPUT_DIRNAME
    os.lchown(workdir, uid, gid)
    for root, dirs, files in os.walk(workdir):
        if Path(root) == workdir and INPUT_DIRNAME in dirs:
            dirs.remove(INPUT_DIRNAME)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)
    if input_dir.is_dir() and not input_dir.is_symlink():
        _lock_read_only(input_dir)


def _lock_read_only(top: Path) -> None:
    for root, _dirs, files in os.walk(top):
        os.lchown(root, 0, 0)
        os.chmod(root, 0o555)
        for name in files:
            path = os.path.join(root, name)
            os.lchown(path, 0, 0)
            if not os.path.islink(path):
                os.chmod(path, 0o444)


def workspace_bytes(workdir: Path) -> int:
    """Disk blocks used under ``workdir``, not counting ``input/`` (the read-only data)."""
    total, stack = 0, [str(workdir)]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            if top == str(workdir) and entry.name == INPUT_DIRNAME:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total
