"""Who runs generated code when gome runs as root: ``nobody``, or nothing (the sandbox fails closed).

As root, generated code runs as ``nobody``. When ``nobody`` cannot execute the interpreter or reach
the workdir directly (a venv or a pyenv Python under a 0700 ``/root``, the usual container), the run's
private mount namespace (the PID namespace's) covers each folder on the way that others may not
search with an empty tmpfs and binds back only the interpreter's folders and the workdir: the rest
of ``/root`` (a task's private answers included) is not even there. This is probed once per
interpreter. When neither works, :func:`gome.sandbox.run_sandboxed` raises :class:`SandboxRefused`
unless running as root was explicitly allowed (``SandboxLimits.allow_root``, or
``GOME_ALLOW_ROOT_SANDBOX=1``, which the CLI's ``--allow-root-sandbox`` sets).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gome.errors import GomeUserError
from gome.sandbox.pidns import decode_status, init_argv
from gome.sandbox.probes import UNPRIVILEGED_USER, nobody_ids, pidns_available, probe

__all__ = ["ALLOW_ROOT_ENV", "NobodyPlan", "SandboxRefused", "can_run_as_nobody", "check_sandbox", "enforce",
           "hidden_ancestors", "interpreter_dirs", "nobody_plan", "refusal", "root_allowed"]

log = logging.getLogger(__name__)

ALLOW_ROOT_ENV = "GOME_ALLOW_ROOT_SANDBOX"


class SandboxRefused(GomeUserError):
    """Generated code would run as root and running it as root was not allowed."""


class NobodyPlan(BaseModel):
    """How generated code avoids root: directly as nobody, or behind masks; ``reason`` when it cannot."""

    model_config = ConfigDict(frozen=True)

    as_nobody: bool
    masks: tuple[str, ...] = ()  # folders covered by an empty tmpfs in the run's mount namespace
    keep: tuple[str, ...] = ()  # folders bound back under a mask or a scratch tmpfs
    reason: str = ""  # as root and not as nobody: why not


def interpreter_dirs(executable: str) -> tuple[str, ...]:
    """Folders the interpreter needs: its bin folders (as called and resolved), their prefixes (a venv,
    the installation holding the standard library) and, for this interpreter, ``sys``'s prefixes."""
    exe = os.path.abspath(executable)
    bins = {os.path.dirname(exe), os.path.dirname(os.path.realpath(exe))}
    bins |= {home for b in bins if (home := _venv_home(os.path.dirname(b)))}
    dirs = bins | {os.path.dirname(b) for b in bins}
    if exe == os.path.abspath(sys.executable):
        dirs |= {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return tuple(sorted({os.path.realpath(d) for d in dirs} - {"/"}))


def _venv_home(prefix: str) -> str:
    """The base interpreter's bin folder that a venv's pyvenv.cfg names (`home = ...`), else ""."""
    try:
        lines = Path(prefix, "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    found = [v.strip() for k, _, v in (line.partition("=") for line in lines) if k.strip() == "home"]
    return found[0] if found else ""


def hidden_ancestors(paths: tuple[str, ...]) -> tuple[str, ...]:
    """For each path, the topmost folder strictly above it that others may not search (what a mask
    covers); masks inside another mask are dropped."""
    found: set[str] = set()
    for path in paths:
        current = Path("/")
        for part in Path(path).parts[1:-1]:
            current = current / part
            try:
                searchable = os.stat(current).st_mode & 0o001
            except OSError:
                break
            if not searchable:
                found.add(str(current))
                break
    return tuple(sorted(m for m in found if not any(m.startswith(o + "/") for o in found)))


def _check_argv(executable: str) -> list[str]:
    """A command that starts the interpreter for real (``--version`` needs no standard library)."""
    name = os.path.basename(executable)
    return [executable, "-c", "pass"] if name.startswith("python") else [executable, "--version"]


@functools.lru_cache(maxsize=None)
def can_run_as_nobody(executable: str) -> bool:
    """Whether we are root and ``nobody`` can execute ``executable`` as it is (probed once)."""
    ids = nobody_ids()
    if os.geteuid() != 0 or ids is None:
        return False
    return probe(_check_argv(executable), user=ids[0], group=ids[1], extra_groups=[])


@functools.lru_cache(maxsize=None)
def _runs_behind_masks(executable: str, masks: tuple[str, ...], keep: tuple[str, ...]) -> bool:
    """Whether ``nobody`` can execute ``executable`` in a mount namespace with ``masks`` (probed once)."""
    read, write = os.pipe()
    try:
        cmd = init_argv(_check_argv(executable), "/", write, nobody_ids(), False, 1, keep, masks)
        ran = probe(cmd, pass_fds=(write,))
    finally:
        os.close(write)
    os.set_blocking(read, False)
    try:
        raw = os.read(read, 64)
    except BlockingIOError:
        raw = b""
    finally:
        os.close(read)
    return ran and decode_status(raw, 1) == 0


def nobody_plan(executable: str, workdir: Path | None = None) -> NobodyPlan:
    """How a run of ``executable`` in ``workdir`` avoids root (see the module docstring)."""
    keep = interpreter_dirs(executable)
    if os.geteuid() != 0:
        return NobodyPlan(as_nobody=False, keep=keep)
    if nobody_ids() is None:
        return NobodyPlan(as_nobody=False, keep=keep, reason=f"there is no user {UNPRIVILEGED_USER!r} to run it as")
    work: tuple[str, ...] = () if workdir is None else (str(Path(workdir).resolve()),)
    direct = can_run_as_nobody(executable)
    if direct and not hidden_ancestors(work):
        return NobodyPlan(as_nobody=True, keep=keep)
    why = (f"{UNPRIVILEGED_USER} cannot execute {executable} (it, or a folder above it, is closed to others)"
           if not direct else f"a folder above the workdir {work[0]} is closed to others")
    if not pidns_available():
        return NobodyPlan(as_nobody=False, keep=keep, reason=f"{why}, and no private mount namespace can be "
                          "made here (`unshare --pid --fork --mount-proc` failed)")
    masks = hidden_ancestors(keep)
    if not direct and not _runs_behind_masks(executable, masks, keep):
        shown = ", ".join(masks) or "no folder above it"
        return NobodyPlan(as_nobody=False, keep=keep, reason=f"{why}, even with {shown} masked in a private "
                          "mount namespace")
    return NobodyPlan(as_nobody=True, masks=hidden_ancestors(keep + work), keep=keep)


def root_allowed(allow_root: bool = False) -> bool:
    """Whether running generated code as root was explicitly allowed (argument or environment)."""
    return allow_root or os.environ.get(ALLOW_ROOT_ENV) == "1"


def refusal(reason: str) -> str:
    """The one line that says why generated code would run as root and how to fix it."""
    return (f"generated code would run as root: {reason}; fix: make the venv from a Python that "
            f"{UNPRIVILEGED_USER} can execute (e.g. /usr/bin/python3 -m venv .venv), run gome as an ordinary "
            "user, or pass --allow-root-sandbox to accept that generated code runs as root and can read "
            "the task's private answers")


def enforce(plan: NobodyPlan, allow_root: bool = False) -> None:
    """SandboxRefused when ``plan`` would run generated code as root and that was not allowed; when it
    was, a warning (once per reason)."""
    if plan.reason:
        if not root_allowed(allow_root):
            raise SandboxRefused(refusal(plan.reason))
        _warn_root(plan.reason)


@functools.lru_cache(maxsize=None)
def _warn_root(reason: str) -> None:
    log.warning("sandbox: generated code runs as ROOT (explicitly allowed): %s", reason)


def check_sandbox(executable: str | None = None, allow_root: bool = False) -> NobodyPlan:
    """Before a run: how its generated code (``executable``, default this Python, in a temporary
    workdir) avoids root; :class:`SandboxRefused` when it would run as root unless ``allow_root``."""
    workdir = Path(tempfile.gettempdir()) / "gome-ws-check"
    plan = nobody_plan(executable or sys.executable, workdir)
    if plan.reason and not root_allowed(allow_root):
        raise SandboxRefused(refusal(plan.reason))
    return plan
