"""What the agents of one trace team share: the optimiser state, the task, the model and the sinks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autogen_core.models import ChatCompletionClient

from gome.roles import Role
from gome.sandbox import SandboxLimits
from gome.schema import Event
from gome.tools.harness import Scorer
from gome.tools.optimizer import TraceState
from gome.tools.rundir import RunDir

__all__ = ["TraceContext", "next_speaker", "ROLE_NAMES"]

ROLE_NAMES = ("diagnostician", "memory_keeper", "coder", "executor")


@dataclass
class TraceContext:
    state: TraceState
    task_brief: str
    metric: str
    client: ChatCompletionClient
    roles: dict[str, Role]
    rundir: RunDir
    input_dir: Path
    scorer: Scorer
    limits: SandboxLimits
    emit: Callable[[Event], None]
    libraries: str
    json_output: bool = True
    tries: int = 3
    codes: dict[str, str] = field(default_factory=dict)  # attempt id -> script
    others: Callable[[], str] = lambda: ""  # what other traces drafted


def next_speaker(state: TraceState, last_source: str) -> str:
    """The fixed conversation cycle, with an immediate debug round after a crash."""
    if last_source == "executor":
        return "coder" if state.needs_debug() else "diagnostician"
    return {"diagnostician": "memory_keeper", "memory_keeper": "coder", "coder": "executor"}.get(last_source, "coder")
