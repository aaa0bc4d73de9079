"""Standalone SVG plots (with their own styles), e.g. for `gome bench`."""

from __future__ import annotations

from gome.view.svg import COLORS, Series, line_chart

__all__ = ["best_score_plot"]

_STYLE = ("<style>text{font-size:11px;fill:#333;font-family:sans-serif}.title{font-size:13px;font-weight:600}"
          ".plot{fill:#fbfcfd;stroke:#ccd3db}.grid{stroke:#e6eaee}.line{fill:none;stroke-width:2}</style>")


def best_score_plot(title: str, curves: dict[str, list[tuple[float, float | None]]], lower_is_better: bool = False) -> str:
    """Best dev score over seconds, one step line (a dot per optimiser step) per run; runs without a valid
    attempt are named under the chart."""
    series = [
        Series(name, COLORS[i % len(COLORS)], [(t, y, f"{name}: {y} at {t}s") for t, y in curve if y is not None],
               step=True)
        for i, (name, curve) in enumerate(sorted(curves.items()))
    ]
    empty = [s.name for s in series if not s.points]
    direction = "lower" if lower_is_better else "higher"
    x_label = "seconds" + (f" · no valid attempt: {', '.join(empty)}" if empty else "")
    svg = line_chart(series, f"{title}: best dev score over time ({direction} is better)", x_label=x_label,
                     width=720, height=320)
    if not svg.startswith("<svg"):
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">{_STYLE}<text x="8" y="24">{title}: no scores</text></svg>'
    return svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1).replace(">", ">" + _STYLE, 1)
