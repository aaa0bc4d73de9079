"""What the agents of one trace team share: the optimiser state, the task, the model and the sinks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from autogen_core.models import ChatCompletionClient

from gome.llm.client import StructuredMode
from gome.optim import TraceState
from gome.roles import Messages, Role
from gome.sandbox import SandboxLimits
from gome.schema import Attempt, Capacity, Event, Evidence, Move
from gome.tasks.metrics import get_metric
from gome.tools.folds import Folds
from gome.tools.harness import Scorer
from gome.tools.moves import member, offer
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
    stop_sequences: bool = False  # the endpoint takes `stop`: a reply of which only functions are used ends before the rest
    tries: int = 3
    max_tokens: int = 4096  # the configured completion-token limit of one reply
    evidence: EvidenceFn | None = None  # None: the task's scores are self-reported, no dev split to measure on
    folds: Folds | None = None  # extra dev folds a gain within the noise is measured on again (None: never)
    starter: str = ""  # a draft's starting point (gome.tasks.starter); "" for none
    diagnose: bool = True  # False: the ablation without structured diagnosis (scalar feedback only)
    offer_moves: bool = True  # False: the ablation without moves (no exact edits offered or made)
    after_step: Callable[[Attempt], Awaitable[None]] | None = None  # push to the Coordinator
    others: Callable[[], Awaitable[str]] | None = None  # what the other traces drafted
    exec_slots: asyncio.Semaphore | None = None  # CPU budget shared by parallel traces
    ensemble_after: float = 1.0  # share of the budget after which directed steps draft blend members (1: never)
    time_share: Callable[[], float] | None = None  # share of the time budget spent, when there is one
    prompt_budgets: dict[str, int] = field(default_factory=dict)  # role -> prompt tokens before sections are cut

    def moves(self, capacity: Capacity = "unclear", code: str = "") -> list[Move]:
        """The moves (gome.tools.moves) offered for the best script (or `code`): with memory, those no attempt of
        this trace has built yet, and first the tunes that tied with a positive gain, together; then those that
        move the model's capacity the way a diagnosis says (`capacity`)."""
        state, best = self.state, self.state.best
        code = code or (best.code if best is not None else "")
        if not code or not self.offer_moves:
            return []
        if not state.use_memory:
            return offer(code, self._catalogue(), [], capacity=capacity)
        ties = [a.plan.move for a in state.journal if a.outcome == "tie" and (a.gain or 0) > 0 and a.plan and a.plan.move]
        return offer(code, self._catalogue(), [a.code for a in state.journal], ties, capacity=capacity)

    def _catalogue(self) -> list[str]:
        """The model calls moves swap to (messages.yaml), for this task's kind of target."""
        return self.messages.items("move_regressors" if get_metric(self.metric).kind == "regression" else "move_classifiers")

    def starter_move(self) -> Move | None:
        """A draft when the Coder's drafts keep failing: the starter's placeholder swapped for the first family of
        the catalogue that no attempt of this trace has built (None without a starter or without moves)."""
        if not self.starter or not self.offer_moves:
            return None
        return member(self.starter, self._catalogue(), [a.code for a in self.state.journal])

    def member(self) -> Move | None:
        """The ensemble stage's next blend member: the best script with its model call swapped for a family that
        no attempt of this trace has built (None without moves, or when every family of the catalogue was built)."""
        best = self.state.best
        if best is None or not best.code or not self.offer_moves:
            return None
        return member(best.code, self._catalogue(), [a.code for a in self.state.journal])

    def next_speaker(self, last_source: str) -> str:
        """Who speaks after `last_source` in this trace's conversation (`next_speaker` given the stage)."""
        return next_speaker(self.state, last_source, self.ensemble_phase(), self.redraft())

    def redraft(self) -> bool:
        """The next directed step is gome's own draft from the starter (the Coder's drafts crashed and nothing has run
        yet): it carries out no plan, so no diagnosis and no plan are asked for (they cost two model calls, about
        100 s on two cores, in each seed-1 hpc-jobs cell of stop 29)."""
        state = self.state
        return (state.mode == "directed" and not state.needs_debug() and not state.needs_redo() and self.drafts_crashed()
                and self.starter_move() is not None)

    def drafts_crashed(self) -> bool:
        """A draft crashed and nothing has run yet: the next draft is gome's own, from the starter."""
        return self.state.best is None and any(a.kind == "draft" and a.outcome == "crash" for a in self.state.journal)

    def ensemble_phase(self) -> bool:
        """A directed step of the ensemble stage, not a debug round: it drafts another kind of model for the final
        blend instead of improving the best script."""
        return self.state.mode == "directed" and not self.state.needs_debug() and self.ensemble_stage()

    def ensemble_stage(self) -> bool:
        """The last part of the budget (steps or time, whichever is further), while the catalogue has a family no
        script built (the Coder's own ensemble-stage drafts, of weaker families, scored worse, crashed or changed
        nothing in 48 of the 59 kept in docs/bench: after that, directed steps go on). Without moves the Coder
        drafts the members. The hybrid's steps there are all directed (gome.optim.state)."""
        state = self.state
        if self.ensemble_after >= 1 or state.best is None:
            return False
        share = state.step / state.max_steps
        if self.time_share is not None:
            share = max(share, self.time_share())
        return share >= self.ensemble_after and state.step < state.max_steps and (not self.offer_moves or self.member() is not None)


def next_speaker(state: TraceState, last_source: str, ensemble: bool = False, redraft: bool = False) -> str:
    """The fixed conversation cycle, with an immediate debug round after a crash (a redo after a no-op). A team that starts
    (or resumes) after an execution begins with the debug round or the diagnosis it would have had.
    In the ensemble phase the Coder drafts after the diagnosis, with no plan to ask the Memory Keeper for; where gome
    drafts from the starter (`redraft`) the Coder follows the Executor."""
    if last_source in ("executor", "user"):
        if state.mode == "explore" or state.last is None or state.needs_debug() or state.needs_redo() or redraft:
            return "coder"
        return "diagnostician"
    if last_source == "diagnostician" and ensemble:
        return "coder"
    return {"diagnostician": "memory_keeper", "memory_keeper": "coder", "coder": "executor"}[last_source]
