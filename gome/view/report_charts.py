"""The report's graphical sections: scores, optimiser state, the attempt graph and the final grade."""

from __future__ import annotations

from gome.schema import Attempt, OptimizerStep
from gome.view.describe import fmt_score
from gome.view.report_data import RunData, better
from gome.view.svg import COLORS, Node, Series, attempt_graph, esc, line_chart

__all__ = ["scores_section", "optimizer_section", "graph_section", "grade_section"]

_STEP_SIZES = {"targeted": 0.0, "moderate": 1.0, "rewrite": 2.0}


def _tip(a: Attempt) -> str:
    verdict = "accepted" if a.accepted else "rejected"
    return f"{a.id} ({a.kind}, parent {a.parent_id or 'none'}): {a.status}, score {fmt_score(a.score)}, {verdict}"


def _global_best(data: RunData) -> list[tuple[float, float, str]]:
    """Best over all traces of their best-so-far, per step."""
    per_step: dict[int, float] = {}
    for steps in data.steps.values():
        for s in steps:
            if s.best_score is not None:
                old = per_step.get(s.step)
                if old is None or better(s.best_score, old, data.lower_is_better):
                    per_step[s.step] = s.best_score
    points, best = [], None
    for step in sorted(per_step):
        if best is None or better(per_step[step], best, data.lower_is_better):
            best = per_step[step]
        points.append((float(step), best, f"global best after step {step}: {fmt_score(best)}"))
    return points


def scores_section(data: RunData) -> str:
    """Dev score of every attempt per trace, each trace's best so far and the global best."""
    scores = [a.score for a in data.attempts if a.score is not None]
    floor = min(scores) if scores and not data.lower_is_better else max(scores) if scores else 0.0
    series: list[Series] = []
    for k, steps in sorted(data.steps.items()):
        color = COLORS[k % len(COLORS)]
        accepted = [(float(s.step), s.attempt.score, _tip(s.attempt)) for s in steps if s.attempt.accepted and s.attempt.score is not None]
        rejected = [(float(s.step), s.attempt.score, _tip(s.attempt)) for s in steps if not s.attempt.accepted and s.attempt.score is not None]
        failed = [(float(s.step), floor, _tip(s.attempt)) for s in steps if s.attempt.score is None]
        best = [(float(s.step), s.best_score, f"trace {k} best: {fmt_score(s.best_score)}") for s in steps if s.best_score is not None]
        series += [Series(f"trace {k} best", color, best, step=True, marker="none"),
                   Series("", color, accepted, line=False), Series("", color, rejected, line=False, marker="ring"),
                   Series("", "#d9534f", failed, line=False, marker="cross")]
    series.append(Series("global best", "#222", _global_best(data), step=True, dash=True, marker="none"))
    direction = "lower is better" if data.lower_is_better else "higher is better"
    note = ("<p class='muted'>Filled dots: accepted attempts; rings: rejected; red crosses (placed at the worst score): no score "
            "(crash, timeout, invalid submission). Hover a point for details.</p>")
    chart = line_chart(series, f"dev score per step ({direction})", width=820, height=320, css_class="chart scores")
    return f'<section id="scores"><h2>Score over steps</h2>{note}<div class="scroll">{chart}</div></section>'


def _per_trace(data: RunData, title: str, value, y_labels: dict[float, str] | None = None) -> str:
    series = []
    for k, steps in sorted(data.steps.items()):
        points = [(float(s.step), v, f"trace {k} step {s.step}: {label}") for s in steps
                  for v, label in [value(k, s)] if v is not None]
        series.append(Series(f"trace {k}", COLORS[k % len(COLORS)], points))
    return line_chart(series, title, width=440, height=220, y_labels=y_labels, css_class="chart optimizer")


def _reliability(data: RunData):
    """Running share of diagnosis-led updates (improve attempts) that the optimiser accepted."""
    counts: dict[int, list[int]] = {}

    def value(k: int, s: OptimizerStep):
        if s.attempt.kind != "improve":
            return None, ""
        tally = counts.setdefault(k, [0, 0])
        tally[0] += int(s.attempt.accepted)
        tally[1] += 1
        return tally[0] / tally[1], f"{tally[0]}/{tally[1]} improvements accepted"
    return value


def optimizer_section(data: RunData) -> str:
    """Step size, success and failure memory, memory entries used, debug rounds and gradient reliability over steps."""
    def refs(k: int, s: OptimizerStep):
        plan = data.plans.get((k, s.step - 1))  # the plan made after step s-1 produced attempt s
        return (None, "") if plan is None else (float(len(plan.get("memory_refs", []))), ", ".join(plan.get("memory_refs", [])) or "none")

    charts = [
        _per_trace(data, "step size (next update)", lambda k, s: (_STEP_SIZES.get(s.step_size.value), s.step_size.value),
                   {v: k for k, v in _STEP_SIZES.items()}),
        _per_trace(data, "success memory entries (momentum)", lambda k, s: (float(s.memory_size), f"{s.memory_size} entries")),
        _per_trace(data, "failure memory entries (tried, did not help)",
                   lambda k, s: (float(s.failure_size), f"{s.failure_size} entries")),
        _per_trace(data, "memory entries used by the plan", refs),
        _per_trace(data, "debug round", lambda k, s: (float(s.debug_round), f"round {s.debug_round}")),
        _per_trace(data, "gradient reliability (accepted improvements)", _reliability(data)),
    ]
    return f'<section id="optimizer"><h2>Optimiser state</h2><div class="charts">{"".join(charts)}</div></section>'


def graph_section(data: RunData) -> str:
    """The attempts and their parent links; orange dashed links cross traces (a sync or adopted best)."""
    chosen = data.finished.best_attempt if data.finished else None
    nodes = [Node(a.id, a.trace, a.step, a.parent_id, "accepted" if a.accepted else "rejected" if a.score is not None else "failed",
                  _tip(a), chosen=a.id == chosen) for a in data.attempts]
    syncs = "".join(f"<li>trace {s.trace} at step {s.step} adopted {esc(s.adopted_attempt)} "
                    f"({fmt_score(s.adopted_score)}; its own best was {fmt_score(s.local_best)})</li>" for s in data.syncs)
    legend = ("<p class='muted'>Green: accepted; grey: rejected; red: no score; gold ring: the final choice. "
              "Edges link an attempt to its parent.</p>")
    sync_list = f"<h3>Synchronisations</h3><ul>{syncs}</ul>" if syncs else ""
    return (f'<section id="graph"><h2>Attempt graph</h2>{legend}<div class="scroll">{attempt_graph(nodes)}</div>'
            f"{sync_list}</section>")


def _medal_bar(grade: dict) -> str:
    marks = [(name, grade.get(f"{name}_threshold")) for name in ("median", "bronze", "silver", "gold")]
    values = [v for _, v in marks if isinstance(v, (int, float))] + ([grade["score"]] if isinstance(grade.get("score"), (int, float)) else [])
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    x = lambda v: 70 + (v - lo) / span * 460  # noqa: E731
    out = ['<svg class="medals" viewBox="0 0 600 90" width="600" height="90"><line x1="20" x2="580" y1="45" y2="45" stroke="#999"/>']
    ends = {lane: -1e9 for lane in (28, 70, 14, 84)}  # label rows: above and below the line, then further out
    for name, v in sorted(((n, v) for n, v in marks if isinstance(v, (int, float))), key=lambda m: m[1]):
        label, at = f"{name} {fmt_score(v)}", x(v)
        half = 3.3 * len(label)  # about half the label's width at the report's font size
        lane = next((y for y, end in ends.items() if end < at - half - 4), 84)  # the first row where it overlaps nothing
        ends[lane] = at + half
        out.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="35" y2="55" stroke="#555"/>'
                   f'<text x="{at:.1f}" y="{lane}" text-anchor="middle">{label}</text>')
    if isinstance(grade.get("score"), (int, float)):
        out.append(f'<circle class="score" cx="{x(grade["score"]):.1f}" cy="45" r="7" fill="#1f77b4">'
                   f'<title>final score {fmt_score(grade["score"])}</title></circle>')
    return "".join(out) + "</svg>"


def grade_section(data: RunData) -> str:
    """The final grade (mlebench grade-sample fields) with the medal thresholds."""
    grade = data.grade
    if not grade:
        return '<section id="grade"><h2>Final grade</h2><p class="empty">no graded submission</p></section>'
    medal = next((m for m in ("gold", "silver", "bronze") if grade.get(f"{m}_medal")), "none")
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in grade.items())
    return (f'<section id="grade"><h2>Final grade</h2><p>score <b>{esc(fmt_score(grade.get("score")))}</b> · '
            f'medal <span class="medal">{esc(medal)}</span> · above median: {esc(grade.get("above_median"))}</p>'
            f"{_medal_bar(grade)}<details><summary>all grade fields</summary><table>{rows}</table></details></section>")
