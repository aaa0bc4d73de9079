"""The examples in examples/ run as tests (with the scripted model)."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_scripted_session_example(tmp_path: Path, capsys) -> None:
    module = runpy.run_path(str(EXAMPLES / "scripted_session.py"))
    result = module["main"](tmp_path)
    assert result.grade is not None and result.grade.valid_submission
    out = capsys.readouterr().out
    assert "trace 1 step" in out and "coder -> executor" in out and "diagnostician -> memory_keeper" in out
    used = (result.run_dir / "traces" / "0" / "001" / "solution.py").read_text()
    assert "n_estimators=5" in used  # the overriding coder prompt was the one the model saw
