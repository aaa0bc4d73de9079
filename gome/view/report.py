"""`gome report`: one self-contained HTML page of a run (inline CSS, JS and SVG; nothing loaded from a network).

Everything taken from the run is escaped. As a second line of defence the page's Content-Security-Policy
allows no network and only the one inline script carrying this page's random nonce, so a script that
slipped into the page could not run.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from gome.errors import GomeUserError
from gome.view.report_assets import CSS, JS
from gome.view.report_charts import grade_section, graph_section, optimizer_section, scores_section
from gome.view.report_data import RunData, load_run_data
from gome.view.report_text import conversation_section, diffs_section, overview_section, roles_section, selection_section, usage_section
from gome.view.svg import esc

__all__ = ["render_report", "write_report", "SECTIONS"]

SECTIONS = [
    ("overview", "Overview", overview_section),
    ("grade", "Final grade", grade_section),
    ("selection", "Ensemble and selection", selection_section),
    ("scores", "Scores", scores_section),
    ("optimizer", "Optimiser", optimizer_section),
    ("graph", "Attempt graph", graph_section),
    ("diffs", "Code diffs", diffs_section),
    ("conversation", "Conversation", conversation_section),
    ("usage", "Model usage", usage_section),
    ("roles", "Role prompts", roles_section),
]


def render_report(data: RunData) -> str:
    """The report page as one HTML string."""
    nonce = secrets.token_urlsafe(16)
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-{nonce}'; "
           "base-uri 'none'; form-action 'none'")
    run_id = data.started.run_id if data.started else data.run_dir.name
    task = data.started.task if data.started else "?"
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in SECTIONS)
    body = "".join(render(data) for _, _, render in SECTIONS)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>gome run {esc(run_id)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>gome run {esc(run_id)}</h1><div class="sub">task {esc(task)}</div></header>'
        f"<nav>{nav}</nav><main>{body}</main>"
        f'<script nonce="{nonce}">{JS}</script></body></html>\n'
    )


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Writes the report of `run_dir` (default `run_dir/report.html`) and returns its path."""
    data = load_run_data(run_dir)
    if not data.events:
        raise GomeUserError(f"{run_dir / 'events.jsonl'} holds no events yet")
    target = out or run_dir / "report.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(render_report(data), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise GomeUserError(f"cannot write {target}: {exc}") from exc
    return target
