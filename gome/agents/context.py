"""What the agents of one trace team share: the optimiser state, the task, the model and the sinks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from autogen_core.models import ChatCompletionClient

from gome.llm.client import StructuredMode
from gome.roles import Role
from gome.sandbox import SandboxLimits
from gome.schema import Attempt, CodeUpdate, Event
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
    structured: StructuredMode = "json_object"  # how the endpoint is asked for JSON
    tries: int = 3
    codes: dict[str, str] = field(default_factory=dict)  # attempt id -> script
    starter: str = ""  # a draft's starting point (gome.tasks.starter); "" for none
    diagnose: bool = True  # False: the ablation without structured diagnosis (scalar feedback only)
    after_step: Callable[[Attempt, CodeUpdate], Awaitable[None]] | None = None  # push to the Coordinator
    others: Callable[[], Awaitable[str]] | None = None  # what the other traces drafted
    exec_slots: asyncio.Semaphore | None = None  # CPU budget shared by parallel traces


def next_speaker(state: TraceState, last_source: str) -> str:
    """The fixed conversation cycle, with an immediate debug round after a crash. A team that starts
    (or resumes) after an execution begins with the debug round or the diagnosis it would have had."""
    if last_source in ("executor", "user"):
        if state.mode == "explore" or state.last_report is None or state.needs_debug():
            return "coder"
        return "diagnostician"
    return {"diagnostician": "memory_keeper", "memory_keeper": "coder", "coder": "executor"}[last_source]
