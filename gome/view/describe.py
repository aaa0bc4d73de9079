"""Readable summaries of the typed payloads agents exchange, shared by `gome logs` and the report.

Functions here return plain text (never markup); each view escapes or styles it itself.
"""

from __future__ import annotations

from typing import Any

__all__ = ["payload_kind", "payload_fields", "code_head", "fmt_score", "fmt_tokens", "one_line"]


def payload_kind(structured: dict[str, Any] | None) -> str:
    """The schema name of an agent message's payload: CodeUpdate, Diagnosis, UpdatePlan, ExecutionReport."""
    if not structured:
        return ""
    keys = set(structured)
    if {"code", "attempt_id"} <= keys:
        return "CodeUpdate"
    if {"status", "exit_code"} <= keys:
        return "ExecutionReport"
    if {"summary", "direction"} <= keys:
        return "Diagnosis"
    if {"step_size", "direction"} <= keys:
        return "UpdatePlan"
    return "payload"


def one_line(text: object, width: int = 160) -> str:
    """Whitespace collapsed to single spaces, cut to `width` with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


def fmt_score(score: float | None) -> str:
    return "—" if score is None else f"{score:.4g}"


def counted(n: int, one: str, many: str = "") -> str:
    """'1 failure', '2 failures'."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def fmt_tokens(prompt: int, completion: int) -> str:
    return f"{prompt}+{completion} tok" if prompt or completion else ""


def code_head(code: str, lines: int = 6) -> tuple[list[str], int]:
    """The first `lines` non-empty lines of a script and its total line count."""
    all_lines = code.splitlines()
    head = [line for line in all_lines if line.strip()][:lines]
    return head, len(all_lines)


def _report_fields(p: dict[str, Any]) -> list[tuple[str, Any]]:
    source = " (self-reported)" if p.get("score_source") == "self-reported" else ""
    fields: list[tuple[str, Any]] = [
        ("status", f"{p.get('status')} (exit {p.get('exit_code')})"),
        ("score", fmt_score(p.get("score")) + source),
        ("time", f"{float(p.get('duration_s') or 0):.1f}s"),
    ]
    if p.get("error"):
        fields.append(("error", one_line(p["error"], 300)))
    return fields


def payload_fields(structured: dict[str, Any] | None, target: str = "") -> list[tuple[str, Any]]:
    """(label, value) pairs of a payload sent to `target`; a value is a string or a list of strings."""
    p, kind = structured or {}, payload_kind(structured)
    if kind == "Diagnosis":
        fields: list[tuple[str, Any]] = [("summary", p.get("summary", "")), ("problems", list(p.get("problems", [])))]
        if p.get("evidence"):
            fields.append(("evidence", list(p["evidence"])))
        if p.get("capacity") in ("more", "less"):
            fields.append(("capacity", f"{p['capacity']} (the sign of the next move along the model's capacity)"))
        if p.get("next_move"):
            taken = ("not taken: the ensemble stage drafts a blend member" if target == "coder"  # no plan is made
                     else "chosen from the moves gome offered")
            fields.append(("next move", f"{p['next_move']} ({taken})"))
        fields.append(("direction", p.get("direction", "")))
        if p.get("expected_effect"):
            fields.append(("expected", p["expected_effect"]))
        if p.get("leak_or_overfit"):
            fields.append(("flag", "leak or overfit suspected"))
        return fields
    if kind == "UpdatePlan":
        fields = [("direction", p.get("direction", "")), ("step size", str(p.get("step_size", ""))),
                  ("changes", list(p.get("changes", []))), ("memory refs", ", ".join(p.get("memory_refs", [])) or "none")]
        if p.get("replaced"):
            what = "a change already made" if p["replaced"].startswith("m") else "a direction that already failed"
            fields.append(("replaced", f"{what} ({p['replaced']})"))
        return fields
    if kind == "CodeUpdate":
        parent = p.get("parent_id") or "none"
        fields = [("attempt", f"{p.get('attempt_id')} ({p.get('kind')}, parent {parent})")]
        if p.get("plan"):
            fields.append(("carries out", f"{p['plan'].get('direction', '')} ({p['plan'].get('step_size', '')})"))
        if p.get("note"):
            fields.append(("note", p["note"]))
        return fields
    if kind == "ExecutionReport":
        return [("attempt", str(p.get("attempt_id")))] + _report_fields(p)
    return [(str(k), one_line(v, 300)) for k, v in p.items()]
