"""Tests for gome.sandbox: each one runs a real child process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from gome.sandbox import (
    ALLOW_ROOT_ENV,
    SandboxLimits,
    SandboxRefused,
    SandboxResult,
    check_sandbox,
    isolation_layers,
    run_sandboxed,
)
from gome.sandbox.isolation import can_run_as_nobody, layers_for
from gome.sandbox.process import truncate_middle

FAST = SandboxLimits(timeout_s=20, memory_mb=1024)


def _pick_python() -> str:
    """sys.executable, unless only another interpreter can run as nobody here.

    (E.g. a venv whose base interpreter lives under a 0700 /root.) The test
    scripts use the standard library only, so any Python 3 will do.
    """
    for candidate in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(candidate) and "uid:nobody" in layers_for(candidate, False):
            return candidate
    return sys.executable


PYTHON = _pick_python()


@pytest.fixture
def tmp_path() -> Path:
    """Like pytest's tmp_path, but reachable by nobody (pytest's base dir is 0700).

    The directory is 0711: others may traverse it but not list it.
    """
    base = Path(tempfile.mkdtemp(prefix="gome-sandbox-test-"))
    os.chmod(base, 0o711)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _run(workdir: Path, code: str, limits: SandboxLimits = FAST, **kw) -> SandboxResult:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "solution.py").write_text(textwrap.dedent(code))
    return run_sandboxed([PYTHON, "solution.py"], workdir, limits, **kw)


def _alive(pid: int) -> bool:
    """A process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _marked(mark: str) -> list[int]:
    """Live processes whose environment carries GOME_TEST_MARK=mark.

    Pids that a script reports from inside a PID namespace mean nothing out here,
    so survivors are found by a marker in their environment instead.
    """
    needle = f"GOME_TEST_MARK={mark}".encode()
    found = []
    for entry in os.scandir("/proc"):
        try:
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if needle in environ and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _need(layer: str, network: bool = False) -> None:
    if layer not in layers_for(PYTHON, network):
        pytest.skip(f"isolation layer {layer!r} not available here")


def test_normal_script(tmp_path: Path) -> None:
    work = tmp_path / "work"
    res = _run(work, """
        import os, sys
        print("hello", os.getcwd(), os.environ["OMP_WAIT_POLICY"], os.environ["OMP_NUM_THREADS"])
        print("to stderr", file=sys.stderr)
    """)
    assert res.exit_code == 0, res.stderr
    assert not res.timed_out and not res.memory_exceeded
    assert res.stdout.split() == ["hello", str(work.resolve()), "PASSIVE", "1"]
    assert "to stderr" in res.stderr
    assert res.isolation == layers_for(PYTHON, False)
    if PYTHON == sys.executable:
        assert res.isolation == isolation_layers()
    assert {"process-group", "rlimits", "scrubbed-env"} <= set(res.isolation)


def test_exit_code_and_signal(tmp_path: Path) -> None:
    assert _run(tmp_path / "a", "raise SystemExit(3)").exit_code == 3
    res = _run(tmp_path / "b", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert res.exit_code == -15 and not res.memory_exceeded


def test_timeout_kills_whole_group(tmp_path: Path) -> None:
    work = tmp_path / "work"
    res = _run(work, """
        import subprocess, time
        child = subprocess.Popen(["sleep", "1000"])
        shell = subprocess.run("sleep 1000 >/dev/null 2>&1 & echo $!", shell=True,
                               capture_output=True, text=True)
        with open("pids.txt", "w") as fh:
            fh.write(f"{child.pid} {shell.stdout.strip()}")
        time.sleep(100)
    """, SandboxLimits(timeout_s=2))
    assert res.timed_out
    assert res.exit_code == -9
    assert res.duration_s < 10
    assert not res.memory_exceeded
    pids = [int(p) for p in (work / "pids.txt").read_text().split()]
    assert len(pids) == 2
    assert _marked("timeout-group") == []


def test_background_child_killed_after_normal_exit(tmp_path: Path) -> None:
    work = tmp_path / "work"
    res = _run(work, """
        import subprocess
        child = subprocess.Popen(["sleep", "1000"])
        open("pid.txt", "w").write(str(child.pid))
        print("done")
    """, extra_env={"GOME_TEST_MARK": "background"})
    assert res.exit_code == 0 and not res.timed_out
    assert res.duration_s < 10
    assert (work / "pid.txt").read_text().isdigit()
    assert _marked("background") == []


def test_memory_limit(tmp_path: Path) -> None:
    res = _run(tmp_path / "work", """
        buf = bytearray(2_000_000_000)
        print("allocated", len(buf))
    """, SandboxLimits(timeout_s=20, memory_mb=300))
    assert res.exit_code != 0
    assert res.memory_exceeded
    assert not res.timed_out
    assert "allocated" not in res.stdout


def test_api_key_not_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("SOME_OTHER_VAR", "parent-only-value")
    res = _run(tmp_path / "work", """
        import os
        for k, v in sorted(os.environ.items()):
            print(f"{k}={v}")
    """)
    assert res.exit_code == 0, res.stderr
    assert "PYTHONUNBUFFERED=1" in res.stdout
    assert "sk-test-secret" not in res.stdout + res.stderr
    assert "OPENAI_API_KEY" not in res.stdout
    assert "parent-only-value" not in res.stdout


def test_extra_env_passed_but_secrets_refused(tmp_path: Path) -> None:
    res = _run(tmp_path / "a", "import os; print(os.environ['GOME_SEED'])",
               extra_env={"GOME_SEED": "42"})
    assert res.stdout.strip() == "42"
    for key in ("OPENAI_API_KEY", "hf_token", "DB_Password", "MY_SECRET", "GCP_CREDENTIALS"):
        with pytest.raises(ValueError):
            _run(tmp_path / "b", "print(1)", extra_env={key: "x"})


def test_private_answers_unreadable(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    answers = private / "answers.csv"
    answers.write_text("id,label\n1,secret-label\n")
    res = _run(tmp_path / "work", f"""
        try:
            print(open({str(answers)!r}).read())
        except OSError as exc:
            print(type(exc).__name__)
    """)
    assert res.exit_code == 0, res.stderr
    _need("uid:nobody")
    # as nobody: PermissionError; with a private /tmp the file is not even there
    expected = "FileNotFoundError" if "private-tmp" in res.isolation else "PermissionError"
    assert res.stdout.strip() == expected
    assert "secret-label" not in res.stdout


def test_input_is_read_only(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "input" / "sub").mkdir(parents=True)
    (work / "input" / "train.csv").write_text("a,b\n1,2\n")
    (work / "input" / "sub" / "x.txt").write_text("x")
    for path in [work / "input", *(work / "input").rglob("*")]:  # a careless caller
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    res = _run(work, """
        import os
        print(open("input/train.csv").read().splitlines()[0])
        attempts = {
            "write": lambda: open("input/train.csv", "a").write("3,4\\n"),
            "create": lambda: open("input/new.csv", "w").write("z"),
            "delete": lambda: os.remove("input/sub/x.txt"),
            "chmod": lambda: os.chmod("input/train.csv", 0o666),
            "rename": lambda: os.rename("input/train.csv", "input/t.csv"),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                print(name, "ok")
            except PermissionError:
                print(name, "denied")
        open("submission.csv", "w").write("id\\n")
        open(os.path.join(os.environ["TMPDIR"], "scratch"), "w").write("s")
    """)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines()[0] == "a,b"
    assert (work / "submission.csv").exists()
    _need("uid:nobody")
    assert res.stdout.splitlines()[1:] == [
        "write denied", "create denied", "delete denied", "chmod denied", "rename denied"]
    assert (work / "input" / "train.csv").read_text() == "a,b\n1,2\n"


def _closed_folder() -> Path:
    """A fresh 0700 root-owned folder outside the scratch folders (/tmp gets a private tmpfs), as
    /root is: others may not search it."""
    for parent in ("/var/cache", "/srv", "/opt", tempfile.gettempdir()):
        if os.access(parent, os.W_OK):
            closed = Path(tempfile.mkdtemp(prefix="gome-closed-", dir=parent))
            os.chmod(closed, 0o700)
            return closed
    pytest.skip("no writable folder")


def _need_root_and_pidns() -> None:
    if os.geteuid() != 0 or "pidns" not in isolation_layers():
        pytest.skip("needs root and a PID namespace (masks live in its mount namespace)")


HUNT = """
    import glob, os, sys
    print("uid", os.getuid())
    for path in sorted(set(ANSWERS + glob.glob(os.path.join(CLOSED, "**", "*.csv"), recursive=True))):
        try:
            print(path, open(path).read())
        except OSError as exc:
            print(path, type(exc).__name__)
    for top in (CLOSED, "/root"):
        try:
            print(top, sorted(os.listdir(top)))
        except OSError as exc:
            print(top, type(exc).__name__)
"""


def _hunt(closed: Path, answers: list[Path]) -> str:
    """A hostile script that looks for the private answers in and around ``closed``."""
    return f"ANSWERS, CLOSED = {[str(a) for a in answers]!r}, {str(closed)!r}\n" + textwrap.dedent(HUNT)


def _task_with_answers(closed: Path) -> list[Path]:
    """A task folder in ``closed``: 0700 private answers, and a careless world-readable copy."""
    private = closed / "task" / "prepared" / "private"
    private.mkdir(parents=True)
    os.chmod(private, 0o700)
    answers = private / "answers.csv"
    answers.write_text("id,label\n1,secret-label\n")
    copy = closed / "task" / "answers-copy.csv"
    copy.write_text("id,label\n1,secret-label\n")
    os.chmod(copy, 0o644)
    return [answers, copy]


def test_unreachable_workdir_is_masked_and_runs_as_nobody() -> None:
    _need_root_and_pidns()
    closed = _closed_folder()
    try:
        answers = _task_with_answers(closed)
        res = _run(closed / "work", _hunt(closed, answers))
        assert res.exit_code == 0, res.stderr
        assert "uid:nobody" in res.isolation and "masked-dirs" in res.isolation
        assert "uid 65534" in res.stdout and "secret-label" not in res.stdout + res.stderr
        assert f"{closed} ['work']" in res.stdout  # only the workdir is bound back
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def test_venv_under_a_closed_folder_runs_as_nobody_without_the_answers(tmp_path: Path) -> None:
    """The issue's case: as root, a venv under a 0700 folder (as /root) with the task beside it."""
    _need_root_and_pidns()
    closed = _closed_folder()
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(closed / "venv")], check=True)
        answers = _task_with_answers(closed)
        python = str(closed / "venv" / "bin" / "python")
        assert not can_run_as_nobody(python)  # the folder is closed: nobody cannot execute it as it is
        (tmp_path / "solution.py").write_text(_hunt(closed, answers) + "print('prefix', sys.prefix)\n")
        res = run_sandboxed([python, "solution.py"], tmp_path, FAST)
        assert res.exit_code == 0, res.stderr
        assert "uid:nobody" in res.isolation and "masked-dirs" in res.isolation
        assert "uid 65534" in res.stdout and f"prefix {closed / 'venv'}" in res.stdout
        assert "secret-label" not in res.stdout + res.stderr
        assert f"{closed} ['venv']" in res.stdout and str(answers[0]) + " FileNotFoundError" in res.stdout
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def _rooted_python() -> str | None:
    """An interpreter installed under a home that others may not search (pyenv's under /root)."""
    home = Path.home()
    if not home.is_dir() or os.stat(home).st_mode & 0o001:
        return None
    found = sorted(home.glob(".pyenv/versions/3*/bin/python3"))
    return str(found[-1]) if found else None


def test_pyenv_python_in_a_closed_home_runs_as_nobody(tmp_path: Path) -> None:
    """This machine's python3 (pyenv's, under a 0700 /root): generated code still runs as nobody."""
    _need_root_and_pidns()
    python = _rooted_python()
    if python is None:
        pytest.skip("no Python under a closed home here")
    subprocess.run([python, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "solution.py").write_text(
        "import os, sys\nprint(os.getuid(), sys.base_prefix, sorted(os.listdir(os.path.expanduser('~root'))))\n")
    res = run_sandboxed([str(tmp_path / "venv" / "bin" / "python"), "solution.py"], tmp_path / "work", FAST)
    assert res.exit_code == 0, res.stderr
    assert "uid:nobody" in res.isolation and "masked-dirs" in res.isolation
    uid, base, listing = res.stdout.split(" ", 2)
    assert uid == "65534" and python.startswith(base) and listing.strip() == "['.pyenv']"


def test_refuses_to_run_as_root_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interpreter nobody cannot run even behind masks (its own folder is closed): no fallback."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "python").symlink_to(os.path.realpath(PYTHON))
    work = tmp_path / "work"
    work.mkdir()
    (work / "solution.py").write_text("import os; print('uid', os.getuid())")
    with pytest.raises(SandboxRefused) as refused:
        run_sandboxed([str(closed / "python"), "solution.py"], work, FAST)
    message = str(refused.value)
    assert "\n" not in message and "would run as root" in message and "--allow-root-sandbox" in message
    assert os.stat(work).st_uid == 0  # refused before the workdir was touched
    with pytest.raises(SandboxRefused):
        check_sandbox(str(closed / "python"))
    allowed = run_sandboxed([str(closed / "python"), "solution.py"], work, FAST.model_copy(update={"allow_root": True}))
    assert allowed.stdout.strip() == "uid 0" and "uid:nobody" not in allowed.isolation
    monkeypatch.setenv(ALLOW_ROOT_ENV, "1")  # what --allow-root-sandbox sets
    assert run_sandboxed([str(closed / "python"), "solution.py"], work, FAST).stdout.strip() == "uid 0"
    assert check_sandbox(str(closed / "python")).reason


def test_network_blocked(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        code = f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                print("connected")
            except OSError as exc:
                print("blocked", type(exc).__name__)
        """
        allowed = _run(tmp_path / "open", code, SandboxLimits(timeout_s=20, network=True))
        blocked = _run(tmp_path / "closed", code)
    assert allowed.stdout.strip() == "connected", allowed.stderr
    assert "netns" not in allowed.isolation
    _need("netns")
    assert "netns" in blocked.isolation
    assert blocked.stdout.startswith("blocked"), blocked.stdout + blocked.stderr


def test_runs_as_nobody_without_capabilities(tmp_path: Path) -> None:
    res = _run(tmp_path / "work", """
        import os
        status = open("/proc/self/status").read().splitlines()
        print(os.getuid(), os.geteuid(), os.getgroups())
        print([l for l in status if l.startswith("CapEff")][0].split()[1])
    """)
    _need("uid:nobody")
    uid_line, cap_line = res.stdout.splitlines()
    assert uid_line == "65534 65534 []"
    assert int(cap_line, 16) == 0


def test_output_truncation_keeps_head_and_tail(tmp_path: Path) -> None:
    res = _run(tmp_path / "work", """
        print("HEAD-START")
        for i in range(20000):
            print(f"line {i:05d}")
        print("TAIL-END")
    """, SandboxLimits(timeout_s=20, max_output_chars=200))
    assert res.stdout.startswith("HEAD-START")
    assert res.stdout.rstrip().endswith("TAIL-END")
    assert "chars truncated] ..." in res.stdout
    assert "line 10000" not in res.stdout
    assert len(res.stdout) < 300


def test_truncate_middle_counts() -> None:
    assert truncate_middle("abc", 10) == "abc"
    out = truncate_middle("a" * 10 + "b" * 80 + "c" * 10, 20)
    assert out == "a" * 10 + "\n... [80 chars truncated] ...\n" + "c" * 10


def test_huge_output_is_not_loaded(tmp_path: Path) -> None:
    res = _run(tmp_path / "work", """
        import sys
        sys.stdout.write("START" + "x" * 5_000_000 + "END")
    """, SandboxLimits(timeout_s=20, max_output_chars=100))
    assert res.stdout.startswith("START") and res.stdout.endswith("END")
    assert "[4999908 chars truncated]" in res.stdout


def test_gpus_hidden_unless_requested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    code = 'import os, resource; print("cvd=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")), resource.getrlimit(resource.RLIMIT_DATA)[0])'
    hidden = _run(tmp_path, code, SandboxLimits(timeout_s=20, memory_mb=512))
    assert "cvd=''" in hidden.stdout and str(512 * 1024 * 1024) in hidden.stdout
    shown = _run(tmp_path, code, SandboxLimits(timeout_s=20, memory_mb=512, gpus=True))
    assert "cvd='3'" in shown.stdout and " -1" in shown.stdout  # no address-space cap with GPUs (CUDA needs it)


def test_interpreter_under_a_private_tmp_stays_visible(tmp_path: Path) -> None:
    """A checkout (and its venv) under /tmp must still run when /tmp gets a private tmpfs."""
    if "private-tmp" not in isolation_layers():
        pytest.skip("no private /tmp on this machine")
    home = Path(tempfile.mkdtemp(prefix="gome-venv-", dir="/tmp"))
    try:
        os.chmod(home, 0o755)
        (home / "bin").mkdir(mode=0o755)
        (home / "bin" / "python").symlink_to(os.path.realpath(PYTHON))
        (tmp_path / "solution.py").write_text("print('ran from a /tmp interpreter')")
        result = run_sandboxed([str(home / "bin" / "python"), "solution.py"], tmp_path, FAST)
        assert result.exit_code == 0 and "ran from a /tmp interpreter" in result.stdout, result.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)
