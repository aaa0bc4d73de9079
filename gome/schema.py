"""Typed data of gome: optimiser state and the event stream.

Every model is a frozen pydantic v2 model; models refer to each other by id, never by object.
The gradient is a `Diagnosis`, the update an `UpdatePlan` applied by the Coder as a `CodeUpdate`,
the loss comes back in an `ExecutionReport`, and momentum lives in `MemoryEntry` records.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BLEND_ID",
    "Frozen",
    "StepSize",
    "AttemptKind",
    "ExecStatus",
    "Capacity",
    "Diagnosis",
    "Move",
    "UpdatePlan",
    "CodeUpdate",
    "Evidence",
    "ExecutionReport",
    "MemoryEntry",
    "Outcome",
    "Mode",
    "Attempt",
    "Event",
    "RunStarted",
    "AgentMessage",
    "LLMCall", "LLMProgress",
    "StructuredFailure",
    "Remeasure",
    "ExecutionDone",
    "OptimizerStep",
    "CoordinatorMerge",
    "SyncStep",
    "TraceStarted",
    "Selection",
    "Blended",
    "RunFinished",
    "EVENT_TYPES",
]


GRAMMAR = "x-grammar"  # a field's extra bounds for grammar-constrained servers (gome.llm.structured.grammar_schema)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepSize(str, Enum):
    """How large the next change may be, from a one-line edit to a rewrite."""

    targeted = "targeted"
    moderate = "moderate"
    rewrite = "rewrite"


AttemptKind = Literal["draft", "improve", "debug"]
Mode = Literal["directed", "explore"]  # directed: diagnosis -> plan -> code; explore: a tree-search expansion
Outcome = Literal["accepted", "crash", "no-op", "worse", "tie", "vetoed"]
ExecStatus = Literal["ok", "crashed", "timeout", "memory", "disk", "no_submission", "invalid_submission"]


# the sign of the gradient along the model's capacity: more (it underfits), less (it overfits)
Capacity = Literal["more", "less", "unclear"]


class Diagnosis(Frozen):
    """The gradient: what happened in the last attempt, why, and where to move next."""

    summary: str = Field(description="One short sentence, at most 20 words: the model the script builds and its score.")
    problems: list[str] = Field(default_factory=list, description="What went wrong or could be better, a few words each.")
    evidence: list[str] = Field(default_factory=list, description="Numbers or short lines quoted from the run, the evidence or the code.")
    capacity: Capacity = Field(default="unclear", description=(
        "Which way the model's capacity should move, read from train_score against validation_score: less (far better on "
        "the rows it was fit on: it overfits, regularise), more (about the same on both: a stronger model), or unclear."))
    next_move: str = Field(default="", description=(
        "The change gome makes next: the name of one of the changes gome can make exactly, as listed (the last "
        "attempt's own change is done and not among them); chosen from the evidence."))
    direction: str = Field(description="The single most promising next change, specific and actionable.")
    expected_effect: str = Field(default="", description="One short sentence: what the change should do to the score.")
    leak_or_overfit: bool = Field(default=False, description="True if the score looks leaky or overfit.")


class Move(Frozen):
    """An edit of a script that the harness can make exactly (gome.tools.moves): a swap of its model call to
    another model family, new values for some of the call's arguments, or a text edit of another function: new
    features in features(), the expected grade in predict()."""

    key: str  # what the move is, e.g. "use HistGradientBoostingClassifier", "RandomForestClassifier: n_estimators=300"
    old: str  # the call in the script (a text move's text: the line of features() it inserts before, the predict() it replaces)
    new: str  # the call that replaces it (the text that replaces a text move's)
    capacity: Literal["more", "less", ""] = ""  # which way it moves the model's capacity ("": neither, or no rule says)
    about: str = ""  # a text move's edit in words, of the function its key names ("features(): ..."); "": a move of the model call

    @property
    def edit(self) -> str:
        return f"in {self.key.partition(':')[0]}, {self.about}" if self.about else f"in make_model(), replace `{self.old}` with `{self.new}`"


class UpdatePlan(Frozen):
    """The Memory Keeper's plan: a direction, a step size and the memories it drew on."""

    direction: str
    step_size: StepSize
    changes: list[str] = Field(default_factory=list, description="Concrete edits to make, in order.")
    memory_refs: list[str] = Field(default_factory=list, description="Ids of success-memory entries used.",
                                   json_schema_extra={GRAMMAR: {"maxItems": 3, "items": {"type": "string", "pattern": r"^m[0-9]+-[0-9]+$"}}})
    replaced: str = Field(default="", json_schema_extra={"internal": True})  # a failed direction this plan replaced
    move: Move | None = Field(default=None, json_schema_extra={"internal": True})  # the exact edit that carries it out

    def carrying(self, move: Move) -> UpdatePlan:
        """This plan carried out by a move: the move's edit is its one change, and a one-call edit is a targeted step."""
        return self.model_copy(update={"move": move, "changes": [move.edit], "step_size": StepSize.targeted})


class CodeUpdate(Frozen):
    """The Coder's output: a whole new script for one attempt."""

    attempt_id: str
    parent_id: str | None  # None for a first draft
    kind: AttemptKind
    code: str
    note: str = ""  # why no code was produced, when code is empty; else what gome did to the reply
    mode: Mode = "directed"
    plan: UpdatePlan | None = None  # the plan this update carries out
    cause: str = ""  # the attempt whose diagnosis led to the plan


class Evidence(Frozen):
    """What the harness measured about a submission on the dev split (never from private answers)."""

    noise: float | None = None  # bootstrap standard error of the dev score
    changed_share: float | None = None  # share of dev rows whose prediction differs from the parent's
    change_size: float | None = None  # mean |change| of numeric predictions vs the parent's, in prediction stds
    identical_to: str = ""  # an earlier attempt whose dev predictions are identical ("" when none)
    vs_best: str = ""  # the trace's best when the attempt ran ...
    gain_se: float | None = None  # ... and the paired-bootstrap standard error of the gain over it
    folds: int = 0  # a gain within the noise measured again: extra dev folds this attempt and the best ran on ...
    pooled_gain: float | None = None  # ... the gain over vs_best pooled over the dev split and those folds ...
    pooled_se: float | None = None  # ... and its standard error (gome.tasks.evidence.pooled_gain)
    errors: list[str] = Field(default_factory=list)  # where the errors are, one line each
    self_score: float | None = None  # the `validation_score:` the script printed for its own split ...
    fit_score: float | None = None  # ... and the `train_score:` on as many of the rows it was fit on

    @property
    def tested_se(self) -> float | None:
        """The standard error of the gain over vs_best that the acceptance test used: pooled over the folds
        where the gain was measured there, else the dev split's."""
        return self.pooled_se if self.folds else self.gain_se


class ExecutionReport(Frozen):
    """What the Executor saw: how the script ran and the harness's score of its submission."""

    attempt_id: str
    status: ExecStatus
    exit_code: int
    duration_s: float
    stdout_tail: str
    stderr_tail: str
    score: float | None  # None when there is no valid submission
    score_source: Literal["harness", "self-reported"] = "harness"
    error: str = ""  # one line: why there is no score
    evidence: Evidence | None = None  # the harness's measurements, when it could make them


class MemoryEntry(Frozen):
    """A direction tried before: a success (momentum) or a failure (negative momentum)."""

    id: str
    trace: int
    step: int
    direction: str
    changes: list[str]
    gain: float  # improvement in the task's direction (> 0 for a success, 0 for a failure)
    score: float | None
    outcome: Literal["success", "crash", "no-op", "worse", "tie", "vetoed"] = "success"
    gain_se: float | None = None  # the uncertainty of a success's gain (paired bootstrap on the dev split)
    step_size: StepSize = StepSize.moderate
    summary: str = ""  # the diagnosis that motivated the direction


class Attempt(Frozen):
    """One executed script in the journal of a trace: what led to it, what it was, what came of it."""

    id: str
    trace: int
    step: int
    parent_id: str | None
    kind: AttemptKind
    score: float | None
    status: ExecStatus
    accepted: bool
    outcome: Outcome | None = None  # None: not yet known (a crash that is still being debugged)
    gain: float | None = None  # over the trace's best when it ran, in the metric's direction (> 0: better)
    mode: Mode = "directed"
    code: str = ""
    plan: UpdatePlan | None = None  # the plan the Coder was asked to carry out (None: draft, explore step)
    cause: str = ""  # the attempt whose diagnosis led to the plan
    report: ExecutionReport | None = None
    diagnosis: Diagnosis | None = None  # this attempt's own diagnosis, once the Diagnostician has spoken
    note: str = ""  # what gome did to the Coder's reply (merges, import fixes, step size ignored)

    @property
    def contender(self) -> bool:
        """A candidate for the final submission: accepted, or a tie with a positive gain over the best (on the dev
        split, or pooled over the extra folds where it was measured there; within the noise: the final
        selection's extra splits judge it)."""
        return self.accepted or (self.outcome == "tie" and (self.gain or 0.0) > 0)

    def passed_test(self, accept_z: float) -> bool:
        """Accepted with a gain that passed the noise test at `accept_z` standard errors; False for a tie accepted
        as the cheaper script (gome.optim.state), read back from the gain and the standard error the test used."""
        ev = self.report.evidence if self.report is not None else None
        tie = ev is not None and ev.tested_se is not None and self.gain is not None and self.gain <= accept_z * ev.tested_se
        return self.accepted and not tie


class _Event(Frozen):
    ts: float = Field(default_factory=time.time)
    trace: int = 0
    step: int = 0


class RunStarted(_Event):
    kind: Literal["run_started"] = "run_started"
    run_id: str
    task: str
    config: dict[str, Any]
    resumed: bool = False  # True when `gome resume` continues an interrupted run
    roles: dict[str, str] = Field(default_factory=dict)  # role -> prompt file used


class AgentMessage(_Event):
    kind: Literal["agent_message"] = "agent_message"
    source: str
    target: str
    content: str
    structured: dict[str, Any] | None = None  # the typed payload, when the message carries one
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMCall(_Event):
    kind: Literal["llm_call"] = "llm_call"
    agent: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    ok: bool
    error: str = ""
    cached_tokens: int | None = None  # of prompt_tokens, served from the endpoint's prompt cache (None: not reported)


class LLMProgress(_Event):
    """A model call still generating (streamed): shown live, never written to the event log."""

    kind: Literal["llm_progress"] = "llm_progress"
    agent: str
    tokens: int
    tokens_per_s: float
    elapsed_s: float


class StructuredFailure(_Event):
    kind: Literal["structured_failure"] = "structured_failure"
    agent: str
    schema_name: str
    tries: int
    error: str


class Remeasure(_Event):
    """An attempt whose gain over the best is positive but within the noise, or above it by less than the
    folds' z standard errors, runs again, with the best, on the extra dev folds (gome.tools.folds): said when
    those runs start."""

    kind: Literal["remeasure"] = "remeasure"
    attempt: str
    best: str
    folds: int
    gain: float  # on the dev split ...
    gain_se: float  # ... and its standard error


class ExecutionDone(_Event):
    kind: Literal["execution"] = "execution"
    report: ExecutionReport
    isolation: list[str]


class OptimizerStep(_Event):
    kind: Literal["optimizer_step"] = "optimizer_step"
    attempt: Attempt
    best_score: float | None
    best_attempt: str | None
    step_size: StepSize
    memory_size: int
    debug_round: int
    failure_size: int = 0  # failure-memory entries (negative momentum)
    mode: Mode = "directed"  # the mode chosen for the next step
    reliability: float | None = None  # the hybrid's estimate of how often directed updates improve
    redo: bool = False  # the attempt changed nothing and the Coder carries out its plan again


class CoordinatorMerge(_Event):
    """The parameter server merged a trace's push and broadcast a new global version."""

    kind: Literal["merge"] = "merge"
    version: int
    source_trace: int
    attempt: str
    base_version: int
    stale: bool  # the trace computed its update on an older global version
    best_changed: bool
    global_best: float | None
    global_best_attempt: str | None
    memory_added: list[str]


class TraceStarted(_Event):
    """A trace team starts (or resumes): where it runs."""

    kind: Literal["trace_started"] = "trace_started"
    node: str  # the host, or the Ray node
    pid: int


class SyncStep(_Event):
    """A trace that trailed the global best for too long adopted it as its parameters."""

    kind: Literal["sync"] = "sync"
    local_best: float | None
    adopted_attempt: str
    adopted_score: float


BLEND_ID = "blend"  # the attempt id of the ensemble stage's blend


class Blended(_Event):
    """The ensemble stage: the best valid attempts of all traces blended on the dev split, and whether the
    blend's out-of-fold gain over the best single script passed the acceptance test."""

    kind: Literal["blend"] = "blend"
    attempt: str = BLEND_ID
    weights: dict[str, float]  # member attempt -> weight (only members with a weight above zero)
    tried: list[str]  # the attempts the weight search could use, best first
    best_single: str | None
    score: float | None  # the blend's out-of-fold dev score (None: nothing to blend)
    gain: float | None = None  # over the best single script, in the metric's direction
    gain_se: float | None = None
    accepted: bool = False
    contender: bool = False  # a final candidate: accepted, or within noise (extra splits judge it)
    reason: str = ""


class Selection(_Event):
    """Final selection: top candidates re-scored on dev splits with several seeds."""

    kind: Literal["selection"] = "selection"
    candidates: dict[str, list[float | None]]  # attempt id -> dev score per split (the search's first)
    chosen: str
    # what each candidate was ranked by: the mean of its scores (None: a run failed), a blend's without its first
    means: dict[str, float | None] = Field(default_factory=dict)


class RunFinished(_Event):
    kind: Literal["run_finished"] = "run_finished"
    best_attempt: str | None
    best_score: float | None
    grade: dict[str, Any] | None  # GradeReport fields, None when there was nothing to grade
    reason: str
    usage: dict[str, Any] = Field(default_factory=dict)  # tokens, cost and wall time per run, trace and agent
    ensemble: dict[str, Any] | None = None  # a chosen blend: its members' test scores and its gain over the best one


Event = Annotated[
    Union[
        RunStarted, AgentMessage, LLMCall, LLMProgress, StructuredFailure, Remeasure, ExecutionDone, OptimizerStep,
        CoordinatorMerge, TraceStarted, SyncStep, Blended, Selection, RunFinished,
    ],
    Field(discriminator="kind"),
]
EVENT_TYPES = (
    RunStarted, AgentMessage, LLMCall, LLMProgress, StructuredFailure, Remeasure, ExecutionDone, OptimizerStep,
    CoordinatorMerge, TraceStarted, SyncStep, Blended, Selection, RunFinished,
)
