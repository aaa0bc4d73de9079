"""The final run: the chosen script, or every member of the chosen blend, runs on the full public data
and its submission is graded against private/."""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

from gome.coordinator import Candidate
from gome.ensemble import blend_submissions, ensemble_summary
from gome.sandbox import SandboxLimits
from gome.schema import ExecutionReport
from gome.tasks import GradeReport, SubmissionError, Task, grade_submission, normalized_score
from gome.tasks._io import read_table
from gome.tools.harness import run_attempt
from gome.tools.rundir import RunDir, atomic_write

__all__ = ["grade_final"]


def _run_final(task: Task, script: Candidate, out: Path, limits: SandboxLimits) -> tuple[ExecutionReport, GradeReport]:
    """Runs one script on the real public data into `out` and grades its submission against private/."""
    grades: list[GradeReport] = []

    def grade(path: Path) -> float:
        grades.append(grade_submission(task, path))
        if not grades[-1].valid_submission or grades[-1].score is None:
            raise SubmissionError(grades[-1].error or "invalid submission")
        return grades[-1].score

    report, _ = run_attempt(script.attempt, script.code, task.public_dir, out, grade, limits)
    return report, grades[-1] if grades else grade_submission(task, out / "submission.csv")


def _final_blend(task: Task, blend: Candidate, best: Path, limits: SandboxLimits) -> tuple[dict, dict[str, float | None]]:
    """Runs every member of a blend on the real public data and blends the submissions of those that
    succeeded (their weights renormalised). Returns final_run.json's data and the members' test scores."""
    runs = {m.attempt: _run_final(task, m, best / "members" / m.attempt, limits) for m in blend.members}
    ok = [(m, w) for m, w in zip(blend.members, blend.weights) if runs[m.attempt][1].valid_submission]
    ids = read_table(task.public_dir / "sample_submission.csv", task.id_column).reset_index(drop=True)
    if ok:
        blend_submissions(task, ids, [best / "members" / m.attempt / "submission.csv" for m, _ in ok],
                          [w for _, w in ok], best / "submission.csv")
    final = {"blend": blend.attempt, "weights": dict(zip([m.attempt for m in blend.members], blend.weights)),
             "failed": [m for m, (_, grade) in runs.items() if not grade.valid_submission],
             "members": {m: report.model_dump(mode="json") for m, (report, _) in runs.items()}}
    return final, {m: grade.score for m, (_, grade) in runs.items()}


def grade_final(task: Task, chosen: Candidate, rundir: RunDir, limits: SandboxLimits) -> tuple[GradeReport, dict | None]:
    """Runs the chosen script (or each member of the chosen blend) on the real public data and grades the
    submission against private/. Returns the grade and, for a blend, what the ensemble stage added.

    Everything is written to best.partial/ first, which then replaces best/ by renames: a crash
    leaves either the old best/ or the new one, never a mix."""
    best, ensemble = rundir.root / "best.partial", None
    shutil.rmtree(best, ignore_errors=True)
    if chosen.members:
        final, member_scores = _final_blend(task, chosen, best, limits)
        report_grade = grade_submission(task, best / "submission.csv")
        ensemble = ensemble_summary(task, chosen, member_scores, report_grade.score,
                                    functools.partial(normalized_score, task))
        atomic_write(best / "final_run.json", json.dumps({**final, "ensemble": ensemble}, indent=2))
    else:
        report, report_grade = _run_final(task, chosen, best, limits)
        atomic_write(best / "final_run.json", report.model_dump_json(indent=2))
    report_grade = report_grade.model_copy(update={"submission_path": str(rundir.best / "submission.csv")})
    atomic_write(best / "grade.json", report_grade.model_dump_json(indent=2))
    if rundir.best.exists():
        old = rundir.root / "best.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(rundir.best, old)
        os.replace(best, rundir.best)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(best, rundir.best)
    return report_grade, ensemble
