"""Shared by the view tests: one finished two-trace run with a sync step and planted markup.

The run is made once per test session (cached under pytest's base temp folder) with the scripted
model: trace 1 is stuck on a majority-class script until it adopts trace 0's forest, and the model's
text and code carry a `<script>` that the report must escape.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import scripted_model as sm
from scripted_model import policy

from gome.config import RunConfig
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.tasks import prepare_task

PLANTED = "<script>document.title='PWNED'</script>"
ARTIFACTS = Path(__file__).parent / "artifacts"


_VARIANTS = iter(range(2, 10**6))


def _reply(texts: list[str]) -> str:
    reply = sm.stuck_reply(texts, _VARIANTS) or policy(texts)  # trace 1 is stuck near the majority class until it syncs
    if "```python\n" in reply:  # the Coder: a comment that closes a <pre> and opens a script
        return reply.replace("```python\n", f"```python\n# </pre>{PLANTED}\n", 1)
    try:
        payload = json.loads(reply)
    except ValueError:
        return reply
    if isinstance(payload, dict) and "summary" in payload:  # the Diagnostician
        payload["summary"] += " " + PLANTED
        return json.dumps(payload)
    return reply


def view_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder (made on first use in this session)."""
    root = tmp_path_factory.getbasetemp() / "view-run"
    run_dir = root / "runs" / "v1"
    if (run_dir / "best" / "grade.json").is_file():
        return run_dir
    shutil.rmtree(root, ignore_errors=True)
    task = prepare_task("penguins", root / "tasks" / "penguins")
    client = ScriptedChatCompletionClient(lambda messages: _reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=root / "runs", traces=2, cpus=2, steps=6, exec_timeout_s=120,
                       sync_patience=2, final_seeds=0, ensemble_after=1.0,  # trace 1 improves what it adopts
                       moves=False,  # the scripted Coder's scripts run as written
                       confirm_z=2.0)  # trace 0's gain of 3 SE is accepted at once: no fold runs hold it back from trace 1
    result = asyncio.run(run(config, client=client, run_id="v1"))
    assert result.grade is not None and result.grade.valid_submission
    return run_dir


def test_the_shared_run_has_every_kind_of_event(tmp_path_factory: pytest.TempPathFactory) -> None:
    kinds = {json.loads(line)["kind"] for line in (view_run(tmp_path_factory) / "events.jsonl").read_text().splitlines()}
    assert kinds >= {"run_started", "agent_message", "llm_call", "execution", "optimizer_step", "merge", "sync",
                     "blend", "selection", "run_finished"}
