"""The report's textual sections: overview, conversation browser, code diffs, model usage, role prompts.

Model text and generated code are untrusted: every string reaches the page through `esc`.
"""

from __future__ import annotations

import difflib
import json
import time
from collections import defaultdict

from gome.schema import AgentMessage, Event, LLMCall, OptimizerStep, RunStarted
from gome.view.describe import code_head, fmt_score, fmt_tokens, payload_fields, payload_kind
from gome.view.logs import LogRenderer, blend_line, ranked_by
from gome.view.report_data import RunData
from gome.view.svg import esc

__all__ = ["selection_section", "overview_section", "conversation_section", "diffs_section", "usage_section", "roles_section"]

_AGENTS = ("user", "coder", "executor", "diagnostician", "memory_keeper")


def overview_section(data: RunData) -> str:
    """Run, task, outcome and the resolved configuration."""
    c, f = data.config, data.finished
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.started.ts)) if data.started else "?"
    running, resumes = _running_time(data.events)
    duration = f"{running:.0f} s" + (f" (resumed {resumes}×; the pauses left out)" if resumes else "") if data.events else "?"
    budget = c.get("time_budget_s")
    rows = [("started", started), ("duration", duration), ("traces", c.get("traces")), ("steps per trace", c.get("steps")),
            ("model", (c.get("model") or {}).get("model")), ("time budget", f"{budget:.0f} s" if budget else "none"),
            ("stop reason", f.reason if f else "not finished (no run_finished event)"),
            ("best attempt", f"{f.best_attempt} (dev {fmt_score(f.best_score)})" if f else "—")]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    config = esc(json.dumps(c, indent=2, sort_keys=True))
    return (f'<section id="overview"><h2>Overview</h2><table>{table}</table>'
            f"<details><summary>resolved configuration</summary><pre>{config}</pre></details></section>")


def _running_time(events: list[Event]) -> tuple[float, int]:
    """Seconds the run ran, from each start to the last event before the next one, and how often it was resumed."""
    total, begin, last, starts = 0.0, None, 0.0, 0
    for event in events:
        if isinstance(event, RunStarted):
            total += last - begin if begin is not None else 0.0
            begin, starts = event.ts, starts + 1
        last = event.ts
    return total + (last - begin if begin is not None else 0.0), max(starts - 1, 0)


def selection_section(data: RunData) -> str:
    """The ensemble stage's blend and verdict, and the final selection's scores per candidate and split."""
    parts = []
    if data.blend is not None:
        parts.append(f"<p>{esc(blend_line(data.blend))}</p>")
    ensemble = data.finished.ensemble if data.finished else None
    if ensemble:
        members = ", ".join(f"{k}: {fmt_score(v.get('test_score'))}" for k, v in ensemble.get("members", {}).items())
        line = f"the blend on the test: members {members}; gain over {ensemble.get('best_member')}: {fmt_score(ensemble.get('gain'))}"
        parts.append(f"<p>{esc(line)}</p>")
    if data.selection is not None:
        width = max((len(v) for v in data.selection.candidates.values()), default=1)
        head = ("<tr><th>candidate</th>" + "".join(f"<th>split {i}</th>" for i in range(width))
                + "<th>ranked by</th><th></th></tr>")
        rows = "".join(
            f"<tr><td>{esc(k)}</td>" + "".join(f"<td>{esc(fmt_score(x))}</td>" for x in v)
            + f"<td>{esc(ranked_by(data.selection, k))}</td><td>{'chosen' if k == data.selection.chosen else ''}</td></tr>"
            for k, v in data.selection.candidates.items())
        parts.append(f"<table>{head}{rows}</table>")
    body = "".join(parts) or "<p>no selection (nothing was accepted)</p>"
    return f'<section id="selection"><h2>Ensemble and final selection</h2>{body}</section>'


def _fields_html(structured: dict, target: str) -> str:
    items = []
    for label, value in payload_fields(structured, target):
        if isinstance(value, list):
            inner = "<ul>" + "".join(f"<li>{esc(v)}</li>" for v in value) + "</ul>" if value else "none"
        else:
            inner = esc(value)
        items.append(f"<dt>{esc(label)}</dt><dd>{inner}</dd>")
    return f"<dl>{''.join(items)}</dl>"


def _message_html(event: AgentMessage) -> str:
    kind = payload_kind(event.structured)
    tokens = fmt_tokens(event.prompt_tokens, event.completion_tokens)
    head = (f'<div class="who">{esc(event.source)} → {esc(event.target)}<span class="kind">{esc(kind)}</span>'
            f'<span class="tok">{esc(tokens)}</span></div>')
    code = str((event.structured or {}).get("code", "")) if kind == "CodeUpdate" else ""
    body = _fields_html(event.structured, event.target) if event.structured else ""
    if code or not kind:
        text = code or event.content
        first, total = code_head(text, 3)
        preview = esc(" ⏎ ".join(line.strip() for line in first))
        body += (f'<details class="code"><summary>{"code" if code else "text"}: {preview} … ({total} lines)</summary>'
                 f"<pre>{esc(text)}</pre></details>")
    return f'<div class="msg" data-agent="{esc(event.source)}">{head}{body}</div>'


def _step_title(events: list[Event], step: int) -> str:
    done = next((e for e in events if isinstance(e, OptimizerStep)), None)
    if done is None:
        return f"step {step}: first draft" if step == 0 else f"step {step}"
    a = done.attempt
    verdict = "accepted" if a.accepted else "rejected"
    return f"step {step}: {a.id} ({a.kind}) {a.status}, score {fmt_score(a.score)}, {verdict}"


def conversation_section(data: RunData) -> str:
    """Per trace and step, collapsible: the messages with their payloads, executions and optimiser events."""
    renderer, parts = LogRenderer(), []
    for trace, steps in sorted(data.conversation().items()):
        blocks = []
        for step, events in sorted(steps.items()):
            items = []
            for event in events:
                if isinstance(event, AgentMessage):
                    items.append(_message_html(event))
                elif not isinstance(event, LLMCall) or not event.ok:
                    css = "ev bad" if isinstance(event, LLMCall) else "ev"
                    items += [f'<div class="{css}">{esc(line)}</div>' for line in renderer.body(event)]
            blocks.append(f'<details class="step"><summary>{esc(_step_title(events, step))}</summary>{"".join(items)}</details>')
        parts.append(f'<details class="trace" open><summary>trace {trace} ({len(steps)} steps)</summary>{"".join(blocks)}</details>')
    boxes = "".join(f'<label><input type="checkbox" data-agent="{a}" checked> {a}</label> ' for a in _AGENTS)
    toolbar = ('<div class="toolbar"><button data-act="expand" data-target="details.step">expand all steps</button>'
               '<button data-act="collapse" data-target="details.step">collapse all</button> show: ' + boxes + "</div>")
    return f'<section id="conversation"><h2>Conversation</h2>{toolbar}{"".join(parts)}</section>'


def _diff_html(old: str, new: str, a: str, b: str) -> tuple[str, int, int]:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), a, b, lineterm="", n=3))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    out = []
    for line in lines[2:]:
        css = "hunk" if line.startswith("@@") else "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        out.append(f'<span class="{css}">{esc(line)}</span>' if css else esc(line) + "\n")
    return f'<pre class="diff">{"".join(out)}</pre>', added, removed


def diffs_section(data: RunData) -> str:
    """For each attempt of a trace, the unified diff from its parent (the change it made); a draft, which has none,
    against the trace's script before it. Scripts from the step folders."""
    parts = []
    for trace, steps in sorted(data.steps.items()):
        pairs, prev = [], None
        for s in steps:
            a, code = s.attempt, data.codes.get(s.attempt.id)
            base = a.parent_id if a.parent_id in data.codes else prev
            if code is not None and base is not None:
                diff, added, removed = _diff_html(data.codes[base], code, base, a.id)
                whose = f"parent {base}" if base == a.parent_id else f"no parent: against {base}, the script before it"
                title = f"{base} → {a.id} ({a.kind}, {whose}): +{added} −{removed}"
                pairs.append(f'<details class="diff"><summary>{esc(title)}</summary>{diff}</details>')
            if code is not None:
                prev = a.id
        parts.append(f"<h3>trace {trace}</h3>" + ("".join(pairs) or '<p class="empty">fewer than two scripts</p>'))
    return f'<section id="diffs"><h2>Code diffs</h2>{"".join(parts)}</section>'


def usage_section(data: RunData) -> str:
    """Model calls per agent: count, failures, tokens, latency; structured-output failures."""
    rows: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    for call in data.calls:
        row = rows[call.agent]
        row[0] += 1
        row[1] += int(not call.ok)
        row[2] += call.prompt_tokens
        row[3] += call.completion_tokens
        row[4] += call.latency_s
    body = "".join(f'<tr><td>{esc(agent)}</td><td class="num">{r[0]:.0f}</td><td class="num">{r[1]:.0f}</td>'
                   f'<td class="num">{r[2]:,.0f}</td><td class="num">{r[3]:,.0f}</td><td class="num">{r[4] / max(r[0], 1):.2f}s</td></tr>'
                   for agent, r in sorted(rows.items()))
    failures = "".join(f"<li>trace {f.trace} step {f.step}: {esc(f.agent)} gave no valid {esc(f.schema_name)} after "
                       f"{f.tries} tries: {esc(f.error)}</li>" for f in data.failures)
    return (f'<section id="usage"><h2>Model usage</h2><table><tr><th>agent</th><th>calls</th><th>failed</th>'
            f"<th>prompt tokens</th><th>completion tokens</th><th>mean latency</th></tr>{body}</table>"
            + (f"<h3>Structured-output failures</h3><ul>{failures}</ul>" if failures else "") + "</section>")


def roles_section(data: RunData) -> str:
    """Which role prompt files the run used, as far as its configuration records them."""
    from gome.roles import ROLE_VARIABLES

    c = data.config
    recorded = {k: v for k, v in c.items() if "role" in k and k != "roles_dir"}
    roles_dir = c.get("roles_dir")
    if roles_dir is None:
        rows = [(name, f"packaged default (gome/roles/{name}.md)") for name in sorted(ROLE_VARIABLES)]
        note = "The run used the packaged role prompts (no --roles folder)."
    else:
        rows = [(name, f"{roles_dir}/{name}.md if that file existed, else the packaged default") for name in sorted(ROLE_VARIABLES)]
        note = f"The run overrode roles from the folder {roles_dir}."
    rows += [(k, json.dumps(v)) for k, v in sorted(recorded.items())]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<section id="roles"><h2>Role prompts</h2><p>{esc(note)}</p><table>{table}</table></section>'
