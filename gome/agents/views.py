"""What the agents are shown of the optimiser's state: journal rows, memories, plans, evidence and diffs,
laid out from the typed records with the phrasing of messages.yaml (no prose here)."""

from __future__ import annotations

import difflib

from gome.optim.veto import GAP_NOISE, SUPPORT_NOISES
from gome.roles import Messages
from gome.tools.estimators import calls_text
from gome.schema import Attempt, Capacity, Diagnosis, Evidence, ExecutionReport, MemoryEntry, Move, UpdatePlan

# a train_score this many standard errors of the difference better than the validation_score reads as overfitting
FIT_NOISES = 2.0

__all__ = ["fit_capacity", "score_text", "history_text", "memories_text", "failures_text", "plan_text", "report_text", "evidence_text",
           "diff_text", "diagnosis_text", "moves_text"]


def score_text(value: float | None) -> str:
    return "none" if value is None else f"{value:.5g}"


def history_text(attempts: list[Attempt]) -> str:
    """One row per attempt: what it scored, what became of it, the models its script really built, and the
    plan's direction."""
    rows = [f"{a.id} {a.kind} {a.status} score={score_text(a.score)} {a.outcome or 'debugging'}"
            + (f" · built {calls}" if (calls := calls_text(a.code)) else "")
            + (f" — {a.plan.direction[:90]}" if a.plan else "") for a in attempts]
    return "\n".join(rows) or "(none)"


def memories_text(messages: Messages, entries: list[MemoryEntry]) -> str:
    lines = [messages.render("success_line", id=e.id, direction=e.direction, gain=f"{e.gain:.4g}", step=e.step,
                             changes="; ".join(e.changes)) for e in entries]
    return "\n".join(lines) or messages.render("no_successes")


def failures_text(messages: Messages, entries: list[MemoryEntry]) -> str:
    lines = [messages.render("failure_line", id=e.id, direction=e.direction, step_size=e.step_size.value,
                             outcome=e.outcome, step=e.step) for e in entries]
    return "\n".join(lines) or messages.render("no_failures")


def moves_text(messages: Messages, moves: list[Move]) -> str:
    lines = [messages.render("move_line", number=n, key=m.key, new=m.new, capacity=m.capacity, about=m.about) for n, m in enumerate(moves, 1)]
    return "\n".join(lines) or messages.render("no_moves")


def plan_text(plan: UpdatePlan | None) -> str:
    if plan is None:
        return ""
    changes = "".join(f"\n- {c}" for c in plan.changes)
    return f"Direction: {plan.direction}\nStep size: {plan.step_size.value}{changes}"


def diagnosis_text(diagnosis: Diagnosis | None) -> str:
    if diagnosis is None:
        return ""
    lines = [diagnosis.summary, *(f"- problem: {p}" for p in diagnosis.problems),
             *(f"- evidence: {e}" for e in diagnosis.evidence[:4]), f"Direction: {diagnosis.direction}"]
    return "\n".join(lines)


def report_text(report: ExecutionReport, out_chars: int = 1200) -> str:
    lines = [f"status: {report.status}", f"score: {report.score}", f"seconds: {report.duration_s}"]
    if report.error:
        lines.append(f"error: {report.error}")
    lines.append("stdout (tail):\n" + (report.stdout_tail[-out_chars:] or "(empty)"))
    if report.stderr_tail.strip():
        lines.append("stderr (tail):\n" + report.stderr_tail[-out_chars:])
    return "\n".join(lines)


def fit_capacity(ev: Evidence | None, lower_is_better: bool) -> Capacity:
    """The harness's reading of the fit: less capacity where the script's train_score beats its own
    validation_score by more than FIT_NOISES standard errors of the difference of two splits' scores (it
    overfits), more where it does not (about the same, or worse), unclear without both scores."""
    if ev is None or ev.fit_score is None or ev.self_score is None or ev.noise is None:
        return "unclear"
    gap = (ev.self_score - ev.fit_score) if lower_is_better else (ev.fit_score - ev.self_score)
    return "less" if gap > FIT_NOISES * GAP_NOISE * ev.noise else "more"


def _self_verdict(attempt: Attempt, lower_is_better: bool) -> str:
    """suspicious (the harness's score beats the script's own by as much as backs a leak flag: gome.optim.veto),
    optimistic (the reverse), agree (within two standard errors of the difference of two splits' scores), or
    differ (between: more than noise, too little for a leak). A narrower band for "suspicious" called every
    hpc-jobs attempt a possible leak, and the Diagnostician flagged them."""
    report = attempt.report
    assert report is not None and report.evidence is not None and report.score is not None
    se = GAP_NOISE * (report.evidence.noise or 0.0)  # of the difference of two splits' scores
    gap = (report.evidence.self_score - report.score) if lower_is_better else (report.score - report.evidence.self_score)  # type: ignore[operator]
    if abs(gap) > SUPPORT_NOISES * se:
        return "suspicious" if gap > 0 else "optimistic"
    return "agree" if abs(gap) <= 2 * se else "differ"


def evidence_text(messages: Messages, attempt: Attempt, lower_is_better: bool) -> str:
    """A few numbers from the harness, one line each with what they mean."""
    report, ev = attempt.report, attempt.report.evidence if attempt.report else None
    if report is None or report.score is None:
        return "(no valid submission, so nothing to measure)"
    noise = None if ev is None or ev.noise is None else f"{ev.noise:.3g}"
    lines = [messages.render("evidence_score", score=score_text(report.score), noise=noise)]
    if ev is not None:
        if ev.identical_to:
            lines.append(messages.render("evidence_noop", other=ev.identical_to))
        elif ev.changed_share is not None and attempt.parent_id:
            size = None if ev.change_size is None else f"{ev.change_size:.3g}"
            lines.append(messages.render("evidence_change", parent=attempt.parent_id,
                                         share=f"{ev.changed_share:.0%}", size=size))
        lines += [messages.render("evidence_errors", line=line) for line in ev.errors]
        if ev.self_score is not None:
            lines.append(messages.render("evidence_self_score", self_score=score_text(ev.self_score),
                                         score=score_text(report.score), verdict=_self_verdict(attempt, lower_is_better)))
            if ev.fit_score is not None:
                lines.append(messages.render("evidence_fit", fit=score_text(ev.fit_score), self_score=score_text(ev.self_score),
                                             capacity=fit_capacity(ev, lower_is_better)))
    lines.append(messages.render("evidence_time", seconds=f"{report.duration_s:.1f}"))
    return "\n".join(f"- {line}" for line in lines)


def diff_text(before: str, after: str, limit: int = 2500) -> str:
    """The changed lines only: the prompt shows the whole script beside it, so context lines would repeat it."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=0)
    text = "\n".join(list(diff)[2:])
    return (text[:limit] + "\n…" if len(text) > limit else text) or "(no change)"
