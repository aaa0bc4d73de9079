"""Runs one attempt: a fresh workspace, the sandbox, and the harness's score of its submission.

The workspace is a temporary folder outside the run folder holding `solution.py` and a copy of the
input folder (the dev split, or the public data for the final run). The script's own output never
sets the score: the harness scores `submission.csv` with the task's metric.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gome.sandbox import SandboxLimits, SandboxResult, run_sandboxed
from gome.schema import ExecStatus, ExecutionReport
from gome.tasks import SubmissionError
from gome.tasks.evidence import self_reported_score
from gome.tools.hints import crash_hint
from gome.tools.rundir import atomic_write

__all__ = ["run_attempt", "Scorer", "self_reported"]

Scorer = Callable[[Path], float]  # scores a submission file, raises SubmissionError


def self_reported(submission: Path) -> float:
    """The score a script printed itself (`validation_score: X`, the last such line), for tasks whose
    layout allows no generic holdout; read from the stdout.txt beside the submission."""
    score = self_reported_score((submission.parent / "stdout.txt").read_text(errors="replace"))
    if score is None:
        raise SubmissionError("the script printed no finite `validation_score: X` line (this task's scores are self-reported)")
    return score



def _status(result: SandboxResult, limits: SandboxLimits) -> tuple[ExecStatus, str]:
    if result.timed_out:
        return "timeout", "the script ran past its time limit and was killed"
    if result.memory_exceeded:
        return "memory", "the script ran out of memory (limit reached)"
    if result.disk_exceeded:
        return "disk", f"the script's workspace grew past {limits.disk_mb} MB (the disk limit)"
    if result.exit_code != 0:
        last = [line for line in result.stderr.strip().splitlines() if line.strip()]
        error = (last[-1] if last else f"exit code {result.exit_code}")[:300]
        hint = crash_hint(result.stderr)
        return "crashed", f"{error}\n{hint}" if hint else error
    return "ok", ""


def _score(submission: Path, scorer: Scorer, status: ExecStatus, error: str) -> tuple[ExecStatus, float | None, str]:
    if status != "ok":
        return status, None, error
    if not submission.exists():
        return "no_submission", None, "the script wrote no submission.csv"
    try:
        return "ok", float(scorer(submission)), ""
    except SubmissionError as exc:
        return "invalid_submission", None, str(exc)


def run_attempt(
    attempt_id: str,
    code: str,
    input_dir: Path,
    out_dir: Path,
    scorer: Scorer,
    limits: SandboxLimits,
) -> tuple[ExecutionReport, SandboxResult]:
    """Executes `code` against `input_dir`, keeps its files in `out_dir`, returns the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "solution.py", code)
    workspace = Path(tempfile.mkdtemp(prefix="gome-ws-"))
    try:
        shutil.copytree(input_dir, workspace / "input")
        (workspace / "solution.py").write_text(code)
        result = run_sandboxed([sys.executable, "solution.py"], workspace, limits)
        atomic_write(out_dir / "stdout.txt", result.stdout)
        atomic_write(out_dir / "stderr.txt", result.stderr)
        submission = workspace / "submission.csv"
        if submission.is_file():
            atomic_write(out_dir / "submission.csv", submission.read_bytes())
        status, error = _status(result, limits)
        status, score, error = _score(out_dir / "submission.csv", scorer, status, error)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    report = ExecutionReport(
        attempt_id=attempt_id, status=status, exit_code=result.exit_code, duration_s=round(result.duration_s, 3),
        stdout_tail=result.stdout[-2000:], stderr_tail=result.stderr[-2000:], score=score, error=error,
        score_source="self-reported" if scorer is self_reported else "harness",
    )
    return report, result
