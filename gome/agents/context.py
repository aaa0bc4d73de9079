"""What the agents of one trace team share: the optimiser state, the task, the model and the sinks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from autogen_core.models import ChatCompletionClient

from gome.llm.client import StructuredMode
from gome.optim import TraceState
from gome.roles import Messages, Role
from gome.sandbox import SandboxLimits
from gome.schema import Attempt, Event, Evidence
from gome.tools.harness import Scorer
from gome.tools.rundir import RunDir

__all__ = ["TraceContext", "next_speaker", "ROLE_NAMES", "EvidenceFn"]

ROLE_NAMES = ("diagnostician", "memory_keeper", "coder", "executor")
# the harness's evidence about a submission:
# (submission, earlier attempt id -> its submission, stdout, parent id, the trace's best id)
EvidenceFn = Callable[[Path, dict[str, Path], str, "str | None", "str | None"], Evidence]


@dataclass
class TraceContext:
    state: TraceState
    task_brief: str
    metric: str
    client: ChatCompletionClient
    roles: dict[str, Role]
    messages: Messages
    rundir: RunDir
    input_dir: Path
    scorer: Scorer
    limits: SandboxLimits
    emit: Callable[[Event], None]
    libraries: str
    structured: StructuredMode = "json_object"  # how the endpoint is asked for JSON
    tries: int = 3
    max_tokens: int = 4096  # the configured completion-token limit of one reply
    evidence: EvidenceFn | None = None  # None: the task's scores are self-reported, no dev split to measure on
    starter: str = ""  # a draft's starting point (gome.tasks.starter); "" for none
    diagnose: bool = True  # False: the ablation without structured diagnosis (scalar feedback only)
    after_step: Callable[[Attempt], Awaitable[None]] | None = None  # push to the Coordinator
    others: Callable[[], Awaitable[str]] | None = None  # what the other traces drafted
    exec_slots: asyncio.Semaphore | None = None  # CPU budget shared by parallel traces


def next_speaker(state: TraceState, last_source: str) -> str:
    """The fixed conversation cycle, with an immediate debug round after a crash. A team that starts
    (or resumes) after an execution begins with the debug round or the diagnosis it would have had."""
    if last_source in ("executor", "user"):
        if state.mode == "explore" or state.last is None or state.needs_debug():
            return "coder"
        return "diagnostician"
    return {"diagnostician": "memory_keeper", "memory_keeper": "coder", "coder": "executor"}[last_source]
