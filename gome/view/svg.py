"""Inline SVG charts for the report: line/dot charts over steps and the attempt graph.

Every piece of text goes through `esc`; the output is a string of SVG markup with no scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from html import escape

__all__ = ["Series", "line_chart", "Node", "attempt_graph", "esc", "COLORS"]

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def esc(text: object) -> str:
    return escape(str(text), quote=True)


@dataclass
class Series:
    """One line or set of markers; a point is (x, y, tooltip); an empty name stays out of the legend."""

    name: str
    color: str
    points: list[tuple[float, float, str]] = field(default_factory=list)
    line: bool = True
    marker: str = "dot"  # dot, ring, cross or none
    dash: bool = False
    step: bool = False  # draw as a step function (a running best)


def _ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k apart) inside [lo, hi]."""
    raw = (hi - lo) / (n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if (hi - lo) / (m * mag) <= n - 1 + 1e-9)
    step = max(1.0, round(step)) if integer else step
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _y_range(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(hi) * 0.1 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _marker(kind: str, x: float, y: float, color: str, tip: str) -> str:
    title = f"<title>{esc(tip)}</title>" if tip else ""
    if kind == "ring":
        return f'<circle class="pt" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="white" stroke="{color}" stroke-width="2">{title}</circle>'
    if kind == "cross":
        d = f"M{x - 4:.1f},{y - 4:.1f}L{x + 4:.1f},{y + 4:.1f}M{x - 4:.1f},{y + 4:.1f}L{x + 4:.1f},{y - 4:.1f}"
        return f'<path class="pt" d="{d}" stroke="{color}" stroke-width="2">{title}</path>'
    if kind == "dot":
        return f'<circle class="pt" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">{title}</circle>'
    return ""


def _path(points: list[tuple[float, float]], step: bool) -> str:
    parts = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (_, y0), (x1, y1) in zip(points, points[1:]):
        if step:
            parts.append(f"H{x1:.1f}")
        parts.append(f"L{x1:.1f},{y1:.1f}" if not step else f"V{y1:.1f}")
    return "".join(parts)


def _axes(width: int, height: int, m: tuple[int, int, int, int], xs: list[float], ys: list[float], ylo: float,
          yhi: float, sx, sy, y_labels: dict[float, str] | None, x_label: str) -> list[str]:
    top, right, bottom, left = m
    out = [f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" class="plot"/>']
    integer = all(float(y).is_integer() for y in ys)
    yticks = sorted(y_labels) if y_labels else _ticks(ylo, yhi, integer=integer)
    for v in yticks:
        label = y_labels[v] if y_labels else f"{v:.6g}"
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">{esc(label)}</text>')
    few_steps = all(float(v).is_integer() for v in xs) and len(set(xs)) <= 12  # label every step, else round ticks
    ticks = _ticks(min(xs), max(xs), n=6) if max(xs) > min(xs) else [min(xs)]
    for x in sorted(set(int(v) for v in xs)) if few_steps else ticks:
        out.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 4}" text-anchor="middle">{esc(x_label)}</text>')
    return out


def line_chart(series: list[Series], title: str, x_label: str = "step", width: int = 640, height: int = 260,
               y_labels: dict[float, str] | None = None, css_class: str = "chart") -> str:
    """An SVG chart of `series` over x, with a legend; empty series are dropped."""
    series = [s for s in series if s.points]
    if not series:
        return f'<p class="empty">{esc(title)}: no data</p>'
    label_width = max((len(v) for v in (y_labels or {}).values()), default=0) * 7 + 12
    m = (40, 16, 40, max(56, label_width))  # top (title and legend above the plot), right, bottom, left
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points] + list(y_labels or [])
    xlo, xhi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    ylo, yhi = _y_range(ys)

    def sx(x: float) -> float:
        return m[3] + (x - xlo) / (xhi - xlo) * (width - m[1] - m[3] - 10) + 5

    def sy(y: float) -> float:
        return height - m[2] - (y - ylo) / (yhi - ylo) * (height - m[0] - m[2])

    out = [f'<svg class="{esc(css_class)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{esc(title)}"><text x="{m[3]}" y="16" class="title">{esc(title)}</text>']
    out += _axes(width, height, m, xs, ys, ylo, yhi, sx, sy, y_labels, x_label)
    legend_x = m[3]
    for s in series:
        pts = [(sx(x), sy(y)) for x, y, _ in s.points]
        if s.line and len(pts) > 1:
            dash = ' stroke-dasharray="6 4"' if s.dash else ""
            out.append(f'<path class="line" d="{_path(pts, s.step)}" stroke="{s.color}"{dash}/>')
        out += [_marker(s.marker, px, py, s.color, tip) for (px, py), (_, _, tip) in zip(pts, s.points)]
        if s.name:
            out.append(f'<rect x="{legend_x}" y="22" width="10" height="10" fill="{s.color}"/>'
                       f'<text x="{legend_x + 14}" y="31" class="legend">{esc(s.name)}</text>')
            legend_x += 24 + 7 * len(s.name)
    out.append("</svg>")
    return "".join(out)


@dataclass
class Node:
    """An attempt in the graph."""

    id: str
    trace: int
    step: int
    parent: str | None
    css: str  # accepted, rejected, failed
    tip: str
    chosen: bool = False


def attempt_graph(nodes: list[Node]) -> str:
    """Attempts on a grid (x: step, y: trace) with curved parent links; the chosen one is ringed."""
    if not nodes:
        return '<p class="empty">no attempts</p>'
    traces, steps = sorted({n.trace for n in nodes}), max(n.step for n in nodes)
    dx, dy, left, top = 90, 70, 70, 30
    width, height = left + dx * steps + 40, top + dy * len(traces) + 10
    pos = {n.id: (left + dx * (n.step - 1) + 20, top + dy * traces.index(n.trace) + 20) for n in nodes}
    out = [f'<svg class="graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="attempt graph">']
    for k in traces:
        out.append(f'<text x="8" y="{top + dy * traces.index(k) + 24}" class="lane">trace {k}</text>')
    for n in nodes:
        if n.parent in pos:
            (x0, y0), (x1, y1) = pos[n.parent], pos[n.id]
            mid = (x0 + x1) / 2
            cross = " cross" if y0 != y1 else ""
            out.append(f'<path class="edge{cross}" d="M{x0 + 9},{y0}C{mid},{y0} {mid},{y1} {x1 - 9},{y1}"/>')
    for n in nodes:
        x, y = pos[n.id]
        ring = f'<circle cx="{x}" cy="{y}" r="14" class="chosen"/>' if n.chosen else ""
        out.append(f'<g class="node {esc(n.css)}">{ring}<circle cx="{x}" cy="{y}" r="9"><title>{esc(n.tip)}</title>'
                   f'</circle><text x="{x}" y="{y + 26}" text-anchor="middle">{esc(n.id)}</text></g>')
    out.append("</svg>")
    return "".join(out)
