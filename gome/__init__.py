"""gome: an MLE agent that optimises solutions by reasoning as gradient.

The scripting API, for running team sessions from Python::

    import gome
    task = gome.prepare_task("penguins", "tasks/penguins")
    config = gome.RunConfig(task_dir=task, steps=6, traces=2, roles_dir=None)
    result = gome.run_sync(config)                   # or: await gome.run(config)
    for event in gome.read_events(result.run_dir / "events.jsonl"):
        ...

Names are imported lazily, so `import gome` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ModelConfig",
    "RunConfig",
    "RunResult",
    "ScriptedChatCompletionClient",
    "load_roles",
    "load_task",
    "prepare_task",
    "read_events",
    "resume",
    "run",
    "run_sync",
]

_HOMES = {
    "ModelConfig": "gome.llm",
    "ScriptedChatCompletionClient": "gome.llm",
    "RunConfig": "gome.config",
    "RunResult": "gome.runner",
    "run": "gome.runner",
    "resume": "gome.runner",
    "load_roles": "gome.roles",
    "load_task": "gome.tasks",
    "prepare_task": "gome.tasks",
    "read_events": "gome.events",
}


def run_sync(config: Any, **kwargs: Any) -> Any:
    """`gome.run` for scripts without an event loop."""
    import asyncio

    from gome.runner import run

    return asyncio.run(run(config, **kwargs))


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'gome' has no attribute {name!r}")
