"""The optimiser: one journal of attempts and the state around it (step size, success and failure
memory, strategy, acceptance). Agents read it and report to it; it changes only in `TraceState`."""

from gome.optim.journal import Journal
from gome.optim.memory import Memory, overlap, relevance
from gome.optim.state import TraceState
from gome.optim.stepsize import LINE_BUDGET, STEP_SIZES, reply_cap, step_violation
from gome.optim.strategy import Mode, Strategy, StrategyName, tree_pick

__all__ = [
    "Journal", "Memory", "overlap", "relevance", "TraceState", "LINE_BUDGET", "STEP_SIZES", "reply_cap",
    "step_violation", "Mode", "Strategy", "StrategyName", "tree_pick",
]
