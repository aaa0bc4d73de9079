"""`gome logs`: filters, JSON round trip, following a live file, torn and garbled files; the live view."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from test_view_common import ARTIFACTS, view_run

from gome.cli_view import main
from gome.errors import GomeUserError
from gome.events import EVENT_ADAPTER
from gome.schema import AgentMessage, LLMCall, OptimizerStep, RunFinished, RunStarted
from gome.view.live import LiveView, PlainView, make_view
from gome.view.load import RUN_LEVEL, agents_of, follow_events, load_events


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return view_run(tmp_path_factory)


def _logs(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["logs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list:
    code, out, _ = _logs(capsys, *argv, "--json")
    assert code == 0
    return [EVENT_ADAPTER.validate_json(line) for line in out.splitlines()]


def test_filters_by_trace_agent_and_step(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    every = load_events(run_dir)
    trace1 = _json(capsys, str(run_dir), "--trace", "1")
    assert {e.trace for e in trace1 if not isinstance(e, RUN_LEVEL)} == {1}
    assert len(trace1) == sum(1 for e in every if e.trace == 1 or isinstance(e, RUN_LEVEL))
    diag = _json(capsys, str(run_dir), "--agent", "diagnostician")
    assert diag and all("diagnostician" in agents_of(e) for e in diag)
    pairs = {(e.source, e.target) for e in diag if isinstance(e, AgentMessage)}
    assert ("executor", "diagnostician") in pairs and ("diagnostician", "memory_keeper") in pairs
    assert any(isinstance(e, LLMCall) for e in diag)
    one = _json(capsys, str(run_dir), "--trace", "0", "--step", "2", "--agent", "memory_keeper")
    assert [(e.source, e.target) for e in one if isinstance(e, AgentMessage)] == [
        ("diagnostician", "memory_keeper"), ("memory_keeper", "coder")]
    assert {e.agent for e in one if isinstance(e, LLMCall)} == {"memory_keeper"}  # once, or twice for a repeat


def test_text_shows_the_conversation_readably(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _logs(capsys, str(run_dir), "--trace", "0", "--step", "2")
    assert code == 0 and "── trace 0 · step 2" in out and "trace 1 ·" not in out
    for expected in ("⚙ executed 0-002: ok", "▲ optimiser: 0-002 (debug) accepted", "⇄ coordinator v",
                     "executor → diagnostician  ExecutionReport", "diagnostician → memory_keeper  Diagnosis",
                     "summary:", "problems:", "direction:", "memory_keeper → coder  UpdatePlan", "step size:",
                     "memory refs:", "coder → executor  CodeUpdate", "attempt:     0-003 (improve, parent 0-002)", "└ "):
        assert expected in out, expected
    _, whole, _ = _logs(capsys, str(run_dir))
    assert "⇅ sync: trace 1" in whole and "selection: chose" in whole and "finished:" in whole
    assert "model tokens: coder" in whole


def test_json_round_trips(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, str(run_dir)) == load_events(run_dir)
    by_id = _json(capsys, "v1", "--runs-dir", str(run_dir.parent), "--step", "3")
    assert by_id and all(e.step == 3 or isinstance(e, RUN_LEVEL) for e in by_id)


def test_follow_reads_a_growing_file_until_the_run_finishes(run_dir: Path, tmp_path: Path) -> None:
    lines = (run_dir / "events.jsonl").read_text().splitlines(keepends=True)
    live = tmp_path / "events.jsonl"

    def writer() -> None:
        with open(live, "w", encoding="utf-8") as fh:
            for n, line in enumerate(lines):
                cut = len(line) // 2 if n % 7 == 3 else len(line)  # some lines arrive in two writes
                fh.write(line[:cut])
                fh.flush()
                time.sleep(0.01)
                fh.write(line[cut:])
                fh.flush()
            fh.write('{"kind": "agent_message", "tru')  # after RunFinished: never read

    thread = threading.Thread(target=writer)
    started = time.monotonic()
    thread.start()
    got = list(follow_events(live, poll_s=0.02, timeout_s=60))
    thread.join()
    assert time.monotonic() - started < 60
    assert got == load_events(run_dir) and isinstance(got[-1], RunFinished)


def test_follow_from_the_cli_stops_at_run_finished(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _logs(capsys, str(run_dir), "--follow", "--agent", "coordinator")
    assert code == 0 and "⇄ coordinator v1" in out and "selection: chose" in out


def test_a_torn_last_line_is_tolerated(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copied"
    copy.mkdir()
    text = (run_dir / "events.jsonl").read_text()
    (copy / "events.jsonl").write_text(text + text.splitlines()[5][:40])
    assert load_events(copy) == load_events(run_dir)
    code, out, _ = _logs(capsys, str(copy), "--trace", "0")
    assert code == 0 and "finished:" in out


def test_missing_or_garbled_runs_give_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _logs(capsys, str(tmp_path / "nope"))
    assert code == 2 and out == "" and err.strip() == f"gome: error: no run folder {tmp_path / 'nope'}"
    code, _, err = _logs(capsys, str(tmp_path))
    assert code == 2 and "has no events.jsonl" in err and len(err.splitlines()) == 1
    (tmp_path / "events.jsonl").write_text('{"kind": "run_started"}\nnot json\n')
    with pytest.raises(GomeUserError, match=r"events.jsonl:1 is not a gome event"):
        load_events(tmp_path)
    code, _, err = _logs(capsys, str(tmp_path), "--json")
    assert code == 2 and len(err.splitlines()) == 1 and "is not a gome event" in err


def test_make_view_is_plain_off_a_terminal(run_dir: Path) -> None:
    stream = io.StringIO()
    view = make_view(stream)
    assert isinstance(view, PlainView)
    for event in load_events(run_dir):
        view(event)
    view.close()
    assert "run v1 on task penguins" in stream.getvalue() and "finished" in stream.getvalue()


def test_live_view_tracks_each_trace(run_dir: Path) -> None:
    events = load_events(run_dir)
    out = io.StringIO()
    view = LiveView(console=Console(file=out, force_terminal=True, width=140))
    for event in events:
        view(event)
        if isinstance(event, RunStarted):
            assert view._live is not None  # the live display started
    assert view._live is None  # ... and stopped at RunFinished
    for k in (0, 1):
        steps = [e for e in events if isinstance(e, OptimizerStep) and e.trace == k]
        tokens = sum(e.prompt_tokens + e.completion_tokens for e in events if isinstance(e, LLMCall) and e.trace == k)
        assert view.traces[k].step == steps[-1].step and view.traces[k].best == steps[-1].best_score
        assert view.traces[k].tokens == tokens and view.traces[k].agent == "done"
    screen = out.getvalue()
    assert "global best" in screen and "finished: best" in screen and "last attempt" in screen


def _tmux(command: str, until: str, width: int = 112, height: int = 42) -> str:
    """Runs `command` in a detached tmux terminal; the screen (with colours) once `until` shows."""
    session = f"gome-view-{time.monotonic_ns()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
                    f"{command}; sleep 30"], check=True)
    try:
        screen = ""
        for _ in range(150):
            time.sleep(0.1)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", session], capture_output=True,
                                    text=True).stdout
            if until in Text.from_ansi(screen).plain:
                break
        return screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def _keep(name: str, title: str, screen: str, width: int = 112) -> str:
    """Saves a terminal screen as text and as an SVG 'screenshot' in tests/artifacts; returns the text."""
    ARTIFACTS.mkdir(exist_ok=True)
    text = Text.from_ansi(screen.rstrip())
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True)
    console.print(text)
    console.save_svg(str(ARTIFACTS / f"{name}.svg"), title=title)
    (ARTIFACTS / f"{name}.txt").write_text(f"$ {title}\n{text.plain}\n", encoding="utf-8")
    return text.plain


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: no terminal capture")
def test_logs_in_a_terminal(run_dir: Path) -> None:
    """`gome logs` on a terminal (coloured), kept as tests/artifacts/logs-terminal.{txt,svg}."""
    screen = _tmux(f"{sys.executable} -m gome.cli_view logs {run_dir} --trace 0 --step 2", until="└ ")
    plain = _keep("logs-terminal", f"gome logs {run_dir.name} --trace 0 --step 2", screen)
    assert "diagnostician → memory_keeper  Diagnosis" in plain and "── trace 0 · step 2" in plain
    assert "\x1b[36m" in screen  # coloured on a terminal


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: no terminal capture")
def test_live_view_in_a_terminal(run_dir: Path) -> None:
    """The live table mid-run, replaying the run's events on a terminal: tests/artifacts/live-terminal.{txt,svg}."""
    replay = ("import sys, time; from pathlib import Path; from gome.view.live import make_view; "
              "from gome.view.load import load_events; view = make_view(sys.stderr); "
              f"events = load_events(Path({str(run_dir)!r})); "
              "[(view(e), time.sleep(0.05)) for e in events[:-12]]; time.sleep(60)")
    screen = _tmux(f"{sys.executable} -c {shlex.quote(replay)}", until="1-004", height=16)
    plain = _keep("live-terminal", "gome run … (live view, replayed)", screen)
    assert "global best" in plain and "last attempt" in plain and "tokens" in plain


def test_the_optimiser_line_says_whether_a_gain_passed_the_noise_test() -> None:
    from gome.schema import Attempt, Evidence, ExecutionReport, StepSize
    from gome.view.logs import LogRenderer

    def line(outcome: str, accepted: bool, gain: float, se: float) -> str:
        report = ExecutionReport(attempt_id="0-003", status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                                 stderr_tail="", score=0.8, evidence=Evidence(vs_best="0-002", gain_se=se))
        attempt = Attempt(id="0-003", trace=0, step=3, parent_id="0-002", kind="improve", score=0.8, status="ok",
                          accepted=accepted, outcome=outcome, gain=gain, report=report)  # type: ignore[arg-type]
        event = OptimizerStep(step=3, attempt=attempt, best_score=0.8, best_attempt="0-002", step_size=StepSize.moderate,
                              memory_size=1, debug_round=0, failure_size=2)
        return LogRenderer().body(event)[0]

    assert "better by +0.1 ± 0.03: accepted" in line("accepted", True, 0.1, 0.03)
    assert "within noise (+0.02 ± 0.03) and faster: accepted as the cheaper script" in line("accepted", True, 0.02, 0.03)
    assert "within noise (+0.02 ± 0.03): rejected" in line("tie", False, 0.02, 0.03)
    assert "worse by -0.2 ± 0.03: rejected" in line("worse", False, -0.2, 0.03)
    assert "memory 1 success, 2 failures" in line("tie", False, 0.0, 0.01)


def test_the_optimiser_line_shows_a_moves_note_to_the_code_it_puts_in() -> None:
    """An ensemble member's note (331 characters in a lending-club run) names the model it puts in last."""
    from gome.schema import Attempt, StepSize
    from gome.view.logs import LogRenderer

    note = ("ensemble stage: a blend member that makes other errors than the best script, made by gome without a model"
            " call: in make_model(), replace `HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05,"
            " early_stopping=True, random_state=0)` with `make_pipeline(SimpleImputer(), StandardScaler(),"
            " LogisticRegression(max_iter=2000))`")
    attempt = Attempt(id="0-007", trace=0, step=7, parent_id=None, kind="draft", score=0.75, status="ok",
                      accepted=False, outcome="tie", note=note)  # type: ignore[arg-type]
    event = OptimizerStep(step=7, attempt=attempt, best_score=0.7, best_attempt="0-003", step_size=StepSize.moderate,
                          memory_size=1, debug_round=0)
    assert LogRenderer().body(event)[1].endswith("LogisticRegression(max_iter=2000))`")


def test_the_selection_line_says_what_each_candidate_was_ranked_by() -> None:
    from gome.schema import Selection
    from gome.view.logs import LogRenderer

    event = Selection(candidates={"0-007": [0.7371, 0.727, 0.6867], "blend": [0.7408, 0.7353, 0.6996]}, chosen="blend",
                      means={"0-007": 0.7169, "blend": 0.71745})
    line = LogRenderer().body(event)[0]
    assert "chose blend from 0-007: 0.7371, 0.727, 0.6867 (ranked by 0.7169)" in line
    assert "blend: 0.7408, 0.7353, 0.6996 (ranked by 0.7175 on the extra splits)" in line, line
    older = LogRenderer().body(Selection(candidates={"0-001": [0.9583, 0.96]}, chosen="0-001"))[0]  # before `means`
    assert older.endswith("chose 0-001 from 0-001: 0.9583, 0.96")
    alone = LogRenderer().body(Selection(candidates={"0-001": [0.9583]}, chosen="0-001", means={"0-001": 0.9583}))[0]
    assert alone.endswith("chose 0-001 from 0-001: 0.9583")  # one score: nothing to rank by


def test_the_execution_shows_every_evidence_line_the_diagnostician_reads() -> None:
    from gome.schema import Evidence, ExecutionDone, ExecutionReport
    from gome.view.logs import LogRenderer

    errors = ["calibration: mean probability 0.061 against a positive rate of 0.052",
              "positives' share of the top tenth of predictions: 0.21 (0.052 overall)",
              "largest error by category: purpose=small_business |y−p| 0.11 (40 rows)",
              "error by predicted decile: top 0.18, bottom 0.02"]
    report = ExecutionReport(attempt_id="0-002", status="ok", exit_code=0, duration_s=3.0, stdout_tail="",
                             stderr_tail="", score=0.73, evidence=Evidence(noise=0.01, changed_share=0.4, errors=errors))
    lines = LogRenderer().body(ExecutionDone(step=2, report=report, isolation=[]))
    assert all(any(line in shown for shown in lines) for line in errors), lines
    report = report.model_copy(update={"evidence": Evidence(noise=0.01, self_score=0.721, fit_score=1.0)})
    shown = LogRenderer().body(ExecutionDone(step=2, report=report, isolation=[]))[1]
    assert shown.endswith("script's own score 0.721 on its split, 1 on rows it was fit on"), shown


def test_a_reply_turned_back_is_told_apart_from_a_call_that_failed() -> None:
    from gome.view.logs import LogRenderer

    def line(completion_tokens: int) -> str:
        return LogRenderer().body(LLMCall(agent="coder", prompt_tokens=900 if completion_tokens else 0,
                                          completion_tokens=completion_tokens, latency_s=30.0, ok=False,
                                          error="this script is the one attempt 0-001 already ran"))[0]

    assert line(400).startswith("coder · reply turned back, asked again after 30.0s: this script is the one")
    assert line(0).startswith("coder · model call failed after 30.0s: ")  # no reply came (the endpoint's error)
    assert LogRenderer().body(LLMCall(agent="coder", prompt_tokens=9, completion_tokens=4, latency_s=1.0, ok=True)) == []


def test_a_diagnosis_the_ensemble_stage_sends_to_the_coder_says_its_next_move_is_not_taken() -> None:
    from gome.view.logs import LogRenderer
    from gome.view.report_text import _message_html

    diagnosis = {"summary": "LightGBM overfits", "problems": [], "capacity": "less", "next_move": "LGBMClassifier: num_leaves=15",
                 "direction": "fewer leaves", "expected_effect": "", "leak_or_overfit": False}

    def shown(target: str) -> tuple[str, str]:
        event = AgentMessage(source="diagnostician", target=target, content="{}", structured=diagnosis)
        return next(x for x in LogRenderer().body(event) if x.startswith("next move:")), _message_html(event)

    line, html = shown("coder")  # the ensemble stage: no plan, the Coder drafts a blend member
    assert line.endswith("num_leaves=15 (not taken: the ensemble stage drafts a blend member)"), line
    assert "not taken: the ensemble stage drafts a blend member" in html
    line, html = shown("memory_keeper")  # the plan is made from it
    assert line.endswith("num_leaves=15 (chosen from the moves gome offered)") and "not taken" not in html


def test_a_filter_that_matches_nothing_says_what_the_run_has(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _logs(capsys, str(run_dir), "--trace", "7")
    assert code == 0 and "trace 0" not in out
    assert err == "gome: no event matches --trace 7 (this run has traces 0, 1; steps 0 to 6)\n"
    code, out, err = _logs(capsys, str(run_dir), "--trace", "1", "--step", "2")
    assert code == 0 and out and err == ""  # a filter that matches says nothing more
    with pytest.raises(SystemExit) as exc:  # an agent name that no event has is a typo: argparse names the choices
        _logs(capsys, str(run_dir), "--agent", "diagnostican")
    assert exc.value.code == 2 and "choose from 'coder', 'diagnostician'" in capsys.readouterr().err


def test_a_resumed_runs_header_says_so() -> None:
    from gome.view.logs import LogRenderer

    config = {"traces": 2, "steps": 8, "model": {"model": "m"}}
    first = LogRenderer().body(RunStarted(run_id="r", task="t", config=config))[0]
    again = LogRenderer().body(RunStarted(run_id="r", task="t", config=config, resumed=True))[0]
    assert first == "run r · task t · 2 traces × 8 steps · model m"
    assert again == "run r resumed · task t · 2 traces × 8 steps · model m"


def test_the_plain_views_last_line_says_why_the_run_ended_and_its_scores() -> None:
    finished = RunFinished(best_attempt="0-001", best_score=0.9791666666666666, grade={"score": 0.99038},
                           reason="steps done (4 of 4)")
    assert PlainView(io.StringIO()).render(finished) == "finished: steps done (4 of 4); best 0-001 dev score 0.9792; final score 0.99038"
    nothing = RunFinished(best_attempt=None, best_score=None, grade=None, reason="token budget spent")
    assert PlainView(io.StringIO()).render(nothing) == "finished: token budget spent; no valid attempt"
