"""benchmarks/bench_optimiser.py: the table's counts on hand-made run folders, and `run` against a stub checkout."""

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # as when the script runs: its folder is on sys.path
_spec = importlib.util.spec_from_file_location("bench_optimiser", ROOT / "benchmarks" / "bench_optimiser.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CONFIG = ("name: {name}\nmetric: roc_auc\nid_column: id\n"
          "reference_scores:\n  dummy: 0.5\n  default: 0.8\n  expert: 0.9\nseed: 0\n")
P = "id,target\n1,0.1\n2,0.2\n3,0.3\n4,0.4\n"
Q = "id,target\n1,0.5\n2,0.6\n3,0.7\n4,0.8\n"
Q_NOISY = "id,target\n3,0.7000000000001\n1,0.5\n4,0.80\n2,0.6\n"  # Q shuffled, equal within 1e-9 relative
R = "id,target\n1,0.9\n2,0.6\n3,0.7\n4,0.8\n"


def attempt(aid, kind, parent, *, score=0.7, status="ok", accepted=False, **extra):
    trace, step = aid.split("-")
    return {"kind": "optimizer_step", "trace": int(trace), "step": int(step),
            "attempt": {"id": aid, "trace": int(trace), "step": int(step), "parent_id": parent, "kind": kind,
                        "status": status, "score": score, "accepted": accepted, **extra}}


def write_run(root, events, submissions, plans, grade_json=None, torn=False):
    root.mkdir(parents=True)
    lines = [json.dumps({"kind": "run_started", "run_id": root.name}), *map(json.dumps, events)]
    (root / "events.jsonl").write_text("\n".join(lines) + ("\n{\"kind\": \"optimiz" if torn else "\n"))
    for where, files in ((submissions, "submission.csv"), (plans, "plan.json")):
        for aid, content in where.items():
            trace, step = aid.split("-")
            folder = root / "traces" / trace / step
            folder.mkdir(parents=True, exist_ok=True)
            (folder / files).write_text(content if files == "submission.csv" else json.dumps({"direction": content}))
    if grade_json is not None:
        (root / "best").mkdir()
        (root / "best" / "grade.json").write_text(json.dumps(grade_json))


def run_before(root):
    """An older run: one trace of updates and a second trace, no outcome/mode fields except where noted."""
    events = [
        attempt("0-001", "draft", None, score=0.7, accepted=True),
        attempt("0-002", "improve", "0-001", score=0.8, accepted=True),
        attempt("0-003", "improve", "0-002", score=0.8),                 # Q again: a no-op
        attempt("0-004", "improve", "0-002", score=None, status="crashed"),  # repeats 0-003's failed direction
        attempt("0-005", "debug", "0-004", score=0.75),
        attempt("0-006", "improve", "0-002", score=0.85, accepted=True),  # R: the previous attempt's predictions
        attempt("0-007", "improve", "0-002", mode="explore"),             # not directed (Q again)
        attempt("0-008", "improve", "0-002", outcome="no-op"),            # no-op by its recorded outcome
        attempt("0-009", "improve", "0-002", score=None, status="invalid_submission"),  # invalid: no no-op
        attempt("1-001", "draft", None, score=0.6, accepted=True),
        attempt("1-002", "improve", "1-001", score=0.65),                 # 0-003's direction, other trace
        attempt("0-006", "improve", "0-002", score=0.85, accepted=False),  # veto re-emits it: not accepted
        {"kind": "run_finished", "best_attempt": "0-002", "grade": {"score": 0.75, "normalized_score": 0.625}},
    ]
    submissions = {"0-001": P, "0-002": Q, "0-003": Q_NOISY, "0-005": R, "0-006": R, "0-007": Q, "0-009": Q,
                   "1-001": P, "1-002": R}
    plans = {  # the plan written after attempt <id>: it led to the next attempt of the trace
        "0-001": "Add target encoding for the categorical columns",
        "0-002": "tune the learning rate of gradient boosting",
        "0-003": "Tune learning-rate for the gradient boosting",
        "0-005": "add target encoding for the categorical columns and stronger regularisation",
        "0-007": "drop the id column from features",
        "1-001": "tune the learning rate of gradient boosting",
    }
    write_run(root, events, submissions, plans, grade_json={"score": 0.75, "normalized_score": 0.625})


def run_after(root):
    """A newer run: the draft crashed, the attempt records its plan and outcome, run_finished has no grade."""
    events = [
        attempt("0-001", "draft", None, score=None, status="crashed", outcome="crash"),
        attempt("0-002", "debug", "0-001", score=0.6, accepted=True, outcome="accepted"),
        attempt("0-003", "improve", "0-002", score=0.8, accepted=True, outcome="accepted", mode="directed",
                plan={"direction": "use gradient boosting", "step_size": "moderate"}),
        {"kind": "run_finished", "best_attempt": "0-003", "grade": None},
    ]
    write_run(root, events, {"0-002": P, "0-003": Q}, {}, grade_json={"score": 0.8, "normalized_score": None},
              torn=True)


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "bench"
    cells = []
    for task in ("alpha", "beta"):
        (out / "tasks" / task).mkdir(parents=True)
        (out / "tasks" / task / "config.yaml").write_text(CONFIG.format(name=task))
        for label, make, wall in (("before", run_before, 600.0), ("after", run_after, 300.0)):
            make(out / "runs" / label / task / "run-1")
            cells.append({"label": label, "commit": "abc1234" if label == "before" else "def5678", "task": task,
                          "task_dir": str(out / "tasks" / task), "run_dir": str(out / "runs" / label / task / "run-1"),
                          "wall_s": wall, "exit_code": 0})
    (out / "cells.json").write_text(json.dumps(cells))
    return out


def test_counts_of_an_older_run(out):
    stats = bench.analyse(out / "runs" / "before" / "alpha" / "run-1", out / "tasks" / "alpha")
    by_id = {u["id"]: u for u in stats["updates"]}
    assert stats["attempts"] == 11
    assert stats["directed updates"] == 7
    assert sorted(i for i, u in by_id.items() if u["no_op"]) == ["0-003", "0-008"]
    assert stats["no-op updates"] == 2
    assert sorted(i for i, u in by_id.items() if u["repeated_failed_direction"]) == ["0-004"]
    assert stats["repeated failed directions"] == 1
    assert sorted(i for i, u in by_id.items() if u["accepted"]) == ["0-002"]
    assert stats["accepted directed updates"] == 1
    assert stats["first-draft normalised dev"] == pytest.approx(0.5)
    assert stats["final normalised test"] == pytest.approx(0.625)


def test_counts_of_a_newer_run(out):
    stats = bench.analyse(out / "runs" / "after" / "alpha" / "run-1", out / "tasks" / "alpha")
    assert [stats[c] for c in bench.COLUMNS[3:8]] == [3, 1, 0, 0, 1]
    assert stats["first-draft normalised dev"] is None  # the draft crashed
    assert stats["final normalised test"] == pytest.approx(0.75)  # best/grade.json's score, normalised
    assert stats["updates"][0]["direction"] == "use gradient boosting"


def test_table_rows_files_and_markdown_section(out, tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(f"# Benchmarks\n\nintro\n\n{bench.BEGIN}\nold\n{bench.END}\n\ntail\n")
    assert bench.main(["table", "--out", str(out), "--md", str(md)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0] == "| " + " | ".join(bench.COLUMNS) + " |"
    assert printed[2:] == [
        "| alpha | before | abc1234 | 11 | 7 | 2 | 1 | 1 | 0.500 | 0.625 | 10.0 |",
        "| alpha | after | def5678 | 3 | 1 | 0 | 0 | 1 | – | 0.750 | 5.0 |",
        "| beta | before | abc1234 | 11 | 7 | 2 | 1 | 1 | 0.500 | 0.625 | 10.0 |",
        "| beta | after | def5678 | 3 | 1 | 0 | 0 | 1 | – | 0.750 | 5.0 |",
        "| all (2) | before | abc1234 | 22 | 14 | 4 | 2 | 2 | 0.500 | 0.625 | 20.0 |",
        "| all (2) | after | def5678 | 6 | 2 | 0 | 0 | 2 | – | 0.750 | 10.0 |",
    ]
    assert (out / "table.md").read_text().strip().splitlines() == printed
    rows = json.loads((out / "table.json").read_text())
    assert [(r["task"], r["label"], r["no-op updates"]) for r in rows] == [
        ("alpha", "before", 2), ("alpha", "after", 0), ("beta", "before", 2), ("beta", "after", 0)]
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n\n" + bench.BEGIN) and text.endswith(bench.END + "\n\ntail\n")
    assert "old" not in text and "- no-op update:" in text and printed[2] in text


def test_numeric_tolerance_and_ids(tmp_path):
    def frame(text):
        path = tmp_path / "submission.csv"
        path.write_text(text)
        return bench._read_submission(path)

    assert bench.same_predictions(frame(Q), frame(Q_NOISY))
    assert not bench.same_predictions(frame(Q), frame(Q.replace("0.8", "0.8001")))
    assert not bench.same_predictions(frame(Q), frame(Q.replace("\n4,", "\n5,")))  # other ids
    assert not bench.same_predictions(frame(Q), frame(Q.replace("target", "label")))


def test_direction_words_and_jaccard():
    assert bench.words("Tune the learning-rate of XGB_v2, 3x") == {"tune", "the", "learning", "rate", "xgb_v2"}
    assert bench.jaccard({"a1x", "b2x"}, {"a1x"}) == 0.5 and bench.jaccard(set(), set()) == 0.0


def test_reference_scores_without_pyyaml(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text(CONFIG.format(name="x"))
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError
    assert bench.reference_scores(tmp_path) == {"dummy": 0.5, "default": 0.8, "expert": 0.9}


STUB = '''
import json, sys
from pathlib import Path

def main():
    args = sys.argv[1:]
    if args[:2] == ["tasks", "prepare"]:
        root = Path(args[args.index("--out") + 1]) / args[2]
        root.mkdir(parents=True)
        (root / "config.yaml").write_text("name: x\\n")
        return 0
    runs = Path(args[args.index("--runs-dir") + 1])
    run = runs / ("run-%d" % len(list(runs.iterdir())))
    run.mkdir()
    (run / "events.jsonl").write_text(json.dumps({"kind": "run_started", "argv": args}) + "\\n")
    print("run folder: %s" % run)
    return int(Path(args[1]).name == "crashy") * 2
'''


def test_run_cells_with_a_stub_checkout(tmp_path):
    src = tmp_path / "src"
    (src / "gome").mkdir(parents=True)
    (src / "gome" / "__init__.py").write_text("")
    (src / "gome" / "cli.py").write_text(STUB)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "stub"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = tmp_path / "bench"
    argv = ["run", "--label", "before", "--src", str(src), "--tasks", "ok,crashy", "--steps", "8", "--out", str(out),
            "--time-budget", "1800"]
    assert bench.main(argv) == 1  # crashy exits 2: not a finished cell
    cells = {c["task"]: c for c in json.loads((out / "cells.json").read_text())}
    assert {t: c["exit_code"] for t, c in cells.items()} == {"ok": 0, "crashy": 2}
    ok = cells["ok"]
    assert ok["commit"] == commit and ok["gome_file"] == str(src / "gome" / "__init__.py")  # the checkout's code
    assert ok["run_dir"] == str(out / "runs" / "before" / "ok" / "run-0")
    started = json.loads((Path(ok["run_dir"]) / "events.jsonl").read_text())
    assert started["argv"] == ["run", str(out / "tasks" / "ok"), "--steps", "8", "--runs-dir",
                               str(out / "runs" / "before" / "ok"), "--local-size", "1.5b", "--time-budget", "1800.0"]
    assert "run folder:" in (out / "logs" / "before-ok.log").read_text()
    assert bench.main(argv) == 1  # resumed: ok is skipped, crashy runs again
    again = {c["task"]: c for c in json.loads((out / "cells.json").read_text())}
    assert again["ok"] == ok and again["crashy"]["run_dir"].endswith("run-1")


def test_real_gome_accepts_the_arguments(tmp_path):
    from gome.cli import _parser

    args = argparse.Namespace(steps=8, local_size="1.5b", time_budget=1800.0, gome_args="--traces 2")
    parsed = _parser().parse_args(bench._gome_args(args, tmp_path / "t", tmp_path / "runs"))
    assert (parsed.task_dir, parsed.steps, parsed.runs_dir, parsed.local_size, parsed.time_budget, parsed.traces) == (
        tmp_path / "t", 8, tmp_path / "runs", "1.5b", 1800.0, 2)
    parsed = _parser().parse_args(["tasks", "prepare", "diamonds-cut", "--out", str(tmp_path)])
    assert (parsed.name, parsed.out) == ("diamonds-cut", tmp_path)


def test_an_update_fixed_by_its_debug_round_counts_as_accepted(tmp_path):
    events = [attempt("0-001", "draft", None, accepted=True), attempt("0-002", "improve", "0-001", score=None, status="crashed"),
              attempt("0-003", "debug", "0-002", score=None, status="crashed"), attempt("0-004", "debug", "0-003", accepted=True),
              attempt("0-005", "improve", "0-004", score=None, status="crashed"), attempt("0-006", "debug", "0-005")]
    write_run(tmp_path / "run", events, {"0-001": P, "0-004": Q, "0-006": R}, {})
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "config.yaml").write_text(CONFIG.format(name="t"))
    stats = bench.analyse(tmp_path / "run", tmp_path / "task")
    assert stats["directed updates"] == 2 and stats["accepted directed updates"] == 1
