"""Views of a run's event stream: `gome logs` text, the live progress of `gome run`, the HTML report.

Every view reads only the events (plus, for the report, the scripts in the step folders), so it works
on a copied run folder and on a run that is still going.
"""

from gome.view.live import LiveView, PlainView, make_view
from gome.view.load import EventFilter, follow_events, load_events, resolve_run
from gome.view.logs import LogRenderer, render_lines
from gome.view.report import render_report, write_report

__all__ = [
    "EventFilter", "LiveView", "LogRenderer", "PlainView", "follow_events", "load_events", "make_view",
    "render_lines", "render_report", "resolve_run", "write_report",
]
