"""Runs the reliability suite and prints the figures of RELIABILITY.md as Markdown tables.

    python benchmarks/bench_reliability.py            # sandbox suite + 20 crash/resume runs
    python benchmarks/bench_reliability.py --quick    # sandbox suite only

The isolation layers active on this machine come first; then each adversarial case with its
outcome and time; then each crash-safety run (kill point, whether it finished before the kill,
attempts lost) and the totals.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from gome.sandbox import isolation_layers

ROOT = Path(__file__).resolve().parent.parent
SUITES = {"sandbox": ["tests/test_sandbox_adversarial.py", "tests/test_sandbox.py"],
          "crash": ["tests/test_reliability_crash.py"]}


def _pytest(files: list[str], junit: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                    *files], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def _cases(junit: Path) -> list[tuple[str, str, float, str]]:
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = "xfailed" if "xfail" in (node.get("type") or "") else tag
                detail = (node.get("message") or "")[:90]
        rows.append((case.get("name", ""), outcome, float(case.get("time", 0)), detail))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 20 crash/resume runs")
    args = parser.parse_args()
    out = [f"Isolation layers active here: {', '.join(isolation_layers())}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "crash.jsonl"
        env = {**os.environ, "GOME_RELIABILITY_REPORT": str(report)}
        for name, files in SUITES.items():
            if name == "crash" and args.quick:
                continue
            junit = Path(tmp) / f"{name}.xml"
            wall = _pytest(files, junit, env)
            rows = _cases(junit)
            out += [f"## {name}: {sum(r[1] == 'passed' for r in rows)}/{len(rows)} passed, wall {wall:.0f} s",
                    "", "| case | outcome | s | note |", "|---|---|---|---|"]
            out += [f"| {n} | {o} | {t:.1f} | {d} |" for n, o, t, d in rows]
            out.append("")
        if report.exists():
            runs = [json.loads(line) for line in report.read_text().splitlines()]
            out += ["| seed | steps | traces | events at kill | finished first | attempts lost |",
                    "|---|---|---|---|---|---|"]
            out += [f"| {r['seed']} | {r['steps']} | {r['traces']} | {r['events_at_kill']} | "
                    f"{r['finished_first']} | {r['lost']} |" for r in runs]
            out.append(f"\nruns completed: {len(runs)}; attempts lost: {sum(r['lost'] for r in runs)}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
