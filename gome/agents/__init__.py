"""The four agents of a trace team: Diagnostician, Memory Keeper, Coder, Executor."""

from gome.agents.coder import Coder
from gome.agents.context import ROLE_NAMES, TraceContext, next_speaker
from gome.agents.diagnostician import Diagnostician
from gome.agents.executor import Executor
from gome.agents.memory_keeper import MemoryKeeper

__all__ = ["Coder", "Diagnostician", "Executor", "MemoryKeeper", "TraceContext", "next_speaker", "ROLE_NAMES"]
