"""`gome report`: sections, escaping of untrusted text, and rendering in headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import time
import subprocess
from pathlib import Path

import pytest
from test_view_common import ARTIFACTS, PLANTED, view_run

from gome.cli_view import main
from gome.schema import OptimizerStep
from gome.view.load import load_events
from gome.view.report import SECTIONS

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = view_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    return run_dir, out.read_text(encoding="utf-8")


def test_report_has_every_section(report: tuple[Path, str]) -> None:
    run_dir, html = report
    for key, _, _ in SECTIONS:
        assert f'<section id="{key}">' in html, key
    steps = [e for e in load_events(run_dir) if isinstance(e, OptimizerStep)]
    assert html.count('class="chart scores"') == 1 and html.count('class="chart optimizer"') == 6
    assert "failure memory entries (tried, did not help)" in html
    assert html.count('<g class="node') == len(steps) and 'class="edge cross"' in html  # trace 1 adopted 0's best
    assert "0-001 → 0-002 (debug, parent 0-001)" in html and '<span class="add">' in html
    assert "medal <span class=\"medal\">gold</span>" in html and "bronze_threshold" in html
    assert "packaged default (gome/roles/coder.md)" in html
    assert "trace 1 at step" in html and "adopted 0-00" in html
    selection = html[html.index('<section id="selection">'):]
    assert "no blend: " in selection or "blend of " in selection  # the ensemble stage's verdict
    assert "<th>candidate</th><th>split 0</th>" in selection and "<th>ranked by</th>" in selection
    assert "<td></td><td>chosen</td>" in selection  # one score per candidate (final_seeds=0): nothing to rank by


def test_report_escapes_model_text_and_loads_nothing(report: tuple[Path, str]) -> None:
    _, html = report
    assert PLANTED not in html and "</pre><script>" not in html
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 1  # our own, with the page's nonce
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "default-src 'none'" in html


def test_the_report_of_a_run_id_lands_in_its_folder(report: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    run_dir, _ = report
    assert main(["report", run_dir.name, "--runs-dir", str(run_dir.parent)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {run_dir / 'report.html'}"
    assert main(["report", str(run_dir / "missing")]) == 2
    assert capsys.readouterr().err.strip().startswith("gome: error: no run folder")


def _chromium(*args: str, user_dir: Path, timeout: float = 90) -> str:
    cmd = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={user_dir}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True).stdout


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install chromium): the report is not opened in a browser")
def test_chromium_renders_the_plots_and_the_conversation(report: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, html = report
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    dom = _chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri() + "#open-all", user_dir=tmp_path / "profile1")
    assert 'data-ready="1"' in dom  # the nonce'd script ran under the page's CSP
    assert "<title>gome run v1</title>" in dom and "PWNED</title>" not in dom  # the planted script did not
    assert len(re.findall(r'<svg class="chart', dom)) == 7 and len(re.findall(r'class="pt"', dom)) > 20
    groups = {(e.trace, e.step) for e in load_events(run_dir) if e.kind not in ("run_started", "selection", "run_finished")}
    assert len(re.findall(r'<details class="step"', dom)) == len(groups)
    assert len(re.findall(r'<div class="msg"', dom)) == sum(1 for e in load_events(run_dir) if e.kind == "agent_message")
    assert len(re.findall(r"<details open=\"\" class=\"step\"|<details class=\"step\" open", dom)) == len(groups)  # #open-all
    ARTIFACTS.mkdir(exist_ok=True)
    shots = [(ARTIFACTS / "report.png", page.as_uri(), "1280,2300"),
             (ARTIFACTS / "report-conversation.png", page.as_uri() + "#open-all", "1280,1400")]
    for shot, url, size in shots:
        shot.unlink(missing_ok=True)
        _chromium(f"--window-size={size}", "--virtual-time-budget=2000", f"--screenshot={shot}", url, user_dir=tmp_path / f"profile-{shot.stem}")
        width, height = _png_size(shot)
        assert (width, height) == tuple(int(v) for v in size.split(",")) and shot.stat().st_size > 60_000


def test_a_report_of_an_unfinished_copied_run(report: tuple[Path, str], tmp_path: Path) -> None:
    """Half the events and no step folders: the report still renders, diffs come from the events' code."""
    run_dir, _ = report
    lines = (run_dir / "events.jsonl").read_text().splitlines(keepends=True)
    copy = tmp_path / "half"
    copy.mkdir()
    (copy / "events.jsonl").write_text("".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:30])
    assert main(["report", str(copy)]) == 0
    html = (copy / "report.html").read_text()
    assert "not finished (no run_finished event)" in html and "no graded submission" in html
    assert "0-001 → 0-002" in html and PLANTED not in html


def test_a_resumed_runs_overview_counts_the_time_it_ran_from_its_first_start(report: tuple[Path, str], tmp_path: Path) -> None:
    """Killed 40 s after its start, resumed an hour later, finished 60 s after that: it ran 100 s, and started at
    the first start (the resumed start's config and roles repeat the first's)."""
    from gome.schema import RunFinished, RunStarted, TraceStarted

    config = {"traces": 1, "steps": 4, "model": {"model": "m"}, "time_budget_s": 900.0}
    events = [RunStarted(ts=1000.0, run_id="r", task="t", config=config), TraceStarted(ts=1040.0, node="n", pid=1),
              RunStarted(ts=4600.0, run_id="r", task="t", config=config, resumed=True),
              RunFinished(ts=4660.0, best_attempt=None, best_score=None, grade=None, reason="steps done (4 of 4)")]
    run = tmp_path / "resumed"
    run.mkdir()
    (run / "events.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in events))
    assert main(["report", str(run)]) == 0
    text = re.sub(r"<[^>]+>", " ", (run / "report.html").read_text())
    assert re.search(r"duration\s+100 s \(resumed 1×; the pauses left out\)", text), text[:2000]
    assert re.search(r"time budget\s+900 s", text)
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1000.0)) in text


def test_the_medal_bars_labels_do_not_overlap_where_thresholds_are_close() -> None:
    """ames-prices' ladder: silver, bronze and median within 0.002 rmsle of each other, gold far off."""
    from gome.view.report_charts import _medal_bar

    svg = _medal_bar({"score": 0.1276, "gold_threshold": 0.1122, "silver_threshold": 0.1261,
                      "bronze_threshold": 0.1272, "median_threshold": 0.1283})
    labels = [(float(x), int(y), text) for x, y, text in re.findall(r'<text x="([\d.]+)" y="(\d+)"[^>]*>([^<]+)</text>', svg)]
    assert sorted(t for *_, t in labels) == ["bronze 0.1272", "gold 0.1122", "median 0.1283", "silver 0.1261"]
    for i, (x1, y1, t1) in enumerate(labels):
        for x2, y2, t2 in labels[i + 1:]:
            width = 3.3 * (len(t1) + len(t2))  # the two half widths
            assert y1 != y2 or abs(x1 - x2) > width, (t1, t2)


def test_each_diff_is_the_change_an_attempt_made_to_its_parent(tmp_path: Path) -> None:
    """0-003 improves 0-001, not 0-002 before it: its diff is from 0-001; a draft (no parent) is shown against the
    script before it."""
    from gome.schema import Attempt, StepSize
    from gome.view.report_data import RunData
    from gome.view.report_text import diffs_section

    data = RunData(run_dir=tmp_path, events=[])
    for step, parent, kind, line in ((1, None, "draft", "model = forest(100)"), (2, "0-001", "improve", "model = forest(150)"),
                                     (3, "0-001", "improve", "model = boosting()"), (4, None, "draft", "model = ridge()")):
        attempt = Attempt(id=f"0-00{step}", trace=0, step=step, parent_id=parent, kind=kind, score=0.7, status="ok",
                          accepted=True)
        data.steps[0].append(OptimizerStep(step=step, attempt=attempt, best_score=0.7, best_attempt="0-001",
                                           step_size=StepSize.moderate, memory_size=0, debug_round=0))
        data.codes[attempt.id] = f"import x\n{line}\nprint(1)\n"
    html = diffs_section(data)
    assert "0-001 → 0-003 (improve, parent 0-001): +1 −1" in html and "0-002 → 0-003" not in html
    assert "-model = forest(100)" in html.split("0-001 → 0-003")[1].split("0-003 → 0-004")[0]
    assert "0-003 → 0-004 (draft, no parent: against 0-003, the script before it): +1 −1" in html
