"""The optimiser state of one trace: parameters (best script), step size, momentum, journal.

`record` is the update rule: an attempt is accepted only if its harness score improves on the best;
the step size shrinks after a failure and grows on a plateau; an accepted improvement becomes a
success-memory entry. `veto` reverts an acceptance that the next diagnosis flags as leaky or overfit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gome.schema import Attempt, AttemptKind, CodeUpdate, ExecutionReport, MemoryEntry, StepSize, UpdatePlan
from gome.tools.memory import SuccessMemory
from gome.tools.strategy import Mode, Strategy, tree_pick

__all__ = ["TraceState", "STEP_SIZES"]

STEP_SIZES = (StepSize.targeted, StepSize.moderate, StepSize.rewrite)


@dataclass
class _Best:
    attempt_id: str
    score: float
    code: str


@dataclass
class TraceState:
    trace: int
    lower_is_better: bool
    max_steps: int
    max_debug_rounds: int = 2
    plateau_patience: int = 2
    step: int = 0  # attempts executed so far
    debug_round: int = 0
    step_size: StepSize = StepSize.moderate
    failures: int = 0
    plateau: int = 0
    best: _Best | None = None
    history: list[_Best | None] = field(default_factory=list)  # previous bests, for vetoes
    last_update: CodeUpdate | None = None
    last_report: ExecutionReport | None = None
    last_plan: UpdatePlan | None = None
    memory: SuccessMemory = field(default_factory=SuccessMemory)
    journal: list[Attempt] = field(default_factory=list)
    stopped: bool = False
    use_memory: bool = True  # False: the ablation without success memory
    strategy: Strategy = field(default_factory=Strategy)
    mode: Mode = "directed"  # of the step in progress: directed (diagnosis -> plan -> code) or explore (tree)
    reports: dict[str, ExecutionReport] = field(default_factory=dict)  # attempt id -> its execution report

    @property
    def done(self) -> bool:
        return self.stopped or self.step >= self.max_steps

    def improves(self, score: float) -> bool:
        if self.best is None:
            return True
        return score < self.best.score if self.lower_is_better else score > self.best.score

    def needs_debug(self) -> bool:
        """The last attempt crashed and a debug round is still allowed."""
        report = self.last_report
        return (
            report is not None
            and report.status != "ok"
            and bool(self.last_update and self.last_update.code)
            and self.debug_round < self.max_debug_rounds
        )

    def _resize(self, delta: int) -> None:
        index = STEP_SIZES.index(self.step_size) + delta
        self.step_size = STEP_SIZES[max(0, min(len(STEP_SIZES) - 1, index))]

    def record(self, update: CodeUpdate, report: ExecutionReport) -> Attempt:
        """Applies the update rule to an executed attempt and returns its journal entry."""
        self.step += 1
        self.last_update, self.last_report = update, report
        self.debug_round = self.debug_round + 1 if update.kind == "debug" else 0
        accepted = report.status == "ok" and report.score is not None and self.improves(report.score)
        if accepted:
            assert report.score is not None
            gain = 0.0 if self.best is None else abs(report.score - self.best.score)
            self.history.append(self.best)
            self.best = _Best(update.attempt_id, report.score, update.code)
            self.failures = self.plateau = 0
            self.debug_round = 0
            if gain > 0 and self.last_plan is not None and self.use_memory:
                self.memory.add(MemoryEntry(
                    id=f"m{self.trace}-{self.step}", trace=self.trace, step=self.step,
                    direction=self.last_plan.direction, changes=list(self.last_plan.changes),
                    gain=gain, score=report.score,
                ))
        elif report.status != "ok":
            self.failures += 1
            self._resize(-1)
        else:
            self.plateau += 1
            if self.plateau >= self.plateau_patience:
                self._resize(+1)
                self.plateau = 0
        attempt = Attempt(
            id=update.attempt_id, trace=self.trace, step=self.step, parent_id=update.parent_id,
            kind=update.kind, score=report.score, status=report.status, accepted=accepted,
        )
        self.journal.append(attempt)
        self.reports[attempt.id] = report
        self.strategy.observe(attempt, self.mode)
        self.mode = self.strategy.next_mode(self.trace, self.step, self.best is not None, self.needs_debug())
        return attempt

    def explore_pick(self) -> tuple[AttemptKind, str | None]:
        """The tree-search choice for an exploratory step: (kind, parent attempt id)."""
        s = self.strategy
        return tree_pick(self.journal, self.lower_is_better, s.rng(self.trace, self.step), s.num_drafts,
                         s.debug_prob, s.max_debug_depth)

    def veto(self, attempt_id: str) -> bool:
        """Reverts the acceptance of `attempt_id` if it is the current best; True if reverted."""
        if self.best is None or self.best.attempt_id != attempt_id:
            return False
        self.best = self.history.pop() if self.history else None
        self.memory.entries = [e for e in self.memory.entries if e.step != self.step]
        return True

    def adopt(self, attempt_id: str, score: float, code: str) -> None:
        """Takes another trace's solution as this trace's parameters (synchronisation)."""
        self.history.append(self.best)
        self.best = _Best(attempt_id, score, code)
        self.plateau = self.failures = 0

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue this trace after a crash, as JSON-ready data."""
        dump = lambda model: model.model_dump(mode="json") if model is not None else None  # noqa: E731
        return {
            "trace": self.trace, "step": self.step, "debug_round": self.debug_round, "step_size": self.step_size.value,
            "failures": self.failures, "plateau": self.plateau,
            "best": asdict(self.best) if self.best else None,
            "history": [asdict(b) if b else None for b in self.history],
            "last_update": dump(self.last_update), "last_report": dump(self.last_report), "last_plan": dump(self.last_plan),
            "memory": [dump(m) for m in self.memory.entries], "journal": [dump(a) for a in self.journal],
            "mode": self.mode, "reports": {k: dump(r) for k, r in self.reports.items()},
            "strategy": {"trials": self.strategy.trials, "successes": self.strategy.successes},
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Loads a `snapshot` into this state (its limits and switches stay as configured)."""
        load = lambda cls, value: cls.model_validate(value) if value is not None else None  # noqa: E731
        self.step, self.debug_round = data["step"], data["debug_round"]
        self.step_size, self.failures, self.plateau = StepSize(data["step_size"]), data["failures"], data["plateau"]
        self.best = _Best(**data["best"]) if data["best"] else None
        self.history = [_Best(**b) if b else None for b in data["history"]]
        self.last_update = load(CodeUpdate, data["last_update"])
        self.last_report = load(ExecutionReport, data["last_report"])
        self.last_plan = load(UpdatePlan, data["last_plan"])
        self.memory.entries = [MemoryEntry.model_validate(m) for m in data["memory"]]
        self.journal = [Attempt.model_validate(a) for a in data["journal"]]
        self.mode = data["mode"]
        self.reports = {k: ExecutionReport.model_validate(r) for k, r in data["reports"].items()}
        self.strategy.trials, self.strategy.successes = data["strategy"]["trials"], data["strategy"]["successes"]
