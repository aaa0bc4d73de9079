"""The optimiser state of one trace: parameters (the best attempt), step size, memories, journal.

`record` is the update rule and the only place an executed attempt enters the state: its outcome
(accepted, no-op, tie, worse, crash), acceptance against the best (the gain must exceed `accept_z`
standard errors of the paired dev-split estimate; a tie goes to the cheaper script), the step-size
adaptation (shrink after crashes and worse scores, grow on plateaus of ties and no-ops), and the memory
entry the attempt's direction earns: a success when its gain passed the test, a failure when its debug
chain ends without one. A directed update that changed nothing goes back to the Coder (a redo) before
its plan counts as failed. `veto` reverts an acceptance that a diagnosis flags as leaky or overfit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gome.optim.journal import Journal, script_key
from gome.optim.memory import Memory
from gome.optim.stepsize import resized
from gome.optim.strategy import Strategy, tree_pick
from gome.optim.veto import harness_flags
from gome.schema import Attempt, AttemptKind, CodeUpdate, Diagnosis, ExecutionReport, MemoryEntry, Mode, Outcome, StepSize

__all__ = ["TraceState", "CHEAPER_S"]

CHEAPER_S = 5.0  # seconds a tie must save to count as the cheaper script
UNFIXED = "the debug round crashed with its parent's error, so the debug chain ends"


@dataclass
class TraceState:
    trace: int
    lower_is_better: bool
    max_steps: int
    max_debug_rounds: int = 2
    max_redo_rounds: int = 1  # a directed update that changed nothing goes back to the Coder this often
    plateau_patience: int = 2
    step: int = 0  # attempts executed so far
    debug_round: int = 0
    redo_round: int = 0  # redos the plan in progress has had
    redo_pending: bool = False  # the last attempt was a no-op that the Coder now carries out again
    step_size: StepSize = StepSize.moderate
    failures: int = 0
    plateau: int = 0
    best_id: str | None = None
    history: list[str | None] = field(default_factory=list)  # previous bests, for vetoes
    journal: Journal = field(default_factory=Journal)
    adopted: dict[str, Attempt] = field(default_factory=dict)  # other traces' bests taken by a sync step
    memory: Memory = field(default_factory=Memory)
    stopped: bool = False
    use_memory: bool = True  # False: the ablation without memory
    strategy: Strategy = field(default_factory=Strategy)
    mode: Mode = "directed"  # of the step in progress: directed (diagnosis -> plan -> code) or explore (tree)
    accept_z: float = 2.0  # a gain must exceed this many standard errors of the paired dev estimate
    references: dict[str, float] = field(default_factory=dict)  # the task's ladder (dummy, expert, ...), for vetoes
    vetoed_codes: set[str] = field(default_factory=set)  # scripts vetoed once stay vetoed
    ensembling: Callable[[], bool] | None = None  # whether the step to come is in the ensemble stage (the trace's context)

    @property
    def done(self) -> bool:
        """Stopped, or the steps are spent and the last attempt, if accepted, has been diagnosed (every
        candidate for the final submission is diagnosed, so that a veto can still reach it)."""
        return self.stopped or (self.step >= self.max_steps and not self.awaits_diagnosis)

    @property
    def awaits_diagnosis(self) -> bool:
        last = self.last
        return self.strategy.name != "tree" and last is not None and last.contender and last.diagnosis is None

    def attempt(self, attempt_id: str | None) -> Attempt | None:
        """An attempt of this trace, or another trace's that this one adopted."""
        return self.journal.get(attempt_id) or self.adopted.get(attempt_id or "")

    @property
    def best(self) -> Attempt | None:
        return self.attempt(self.best_id)

    @property
    def last(self) -> Attempt | None:
        return self.journal.last

    def improves(self, score: float) -> bool:
        best = self.best
        if best is None or best.score is None:
            return True
        return score < best.score if self.lower_is_better else score > best.score

    def needs_debug(self) -> bool:
        """The last attempt crashed and a debug round is still allowed."""
        last = self.last
        return last is not None and last.outcome is None and bool(last.code) and self.debug_round < self.max_debug_rounds

    def needs_redo(self) -> bool:
        """The last attempt, a directed update, changed nothing, and the Coder carries out its plan again."""
        return self.redo_pending

    def gain(self, report: ExecutionReport) -> tuple[float | None, float]:
        """(gain over the best in the metric's direction, the margin it must exceed): accept_z standard
        errors of the paired estimate when the harness measured one against this best, else 0; pooled over
        the extra dev folds where a gain within the noise was measured again."""
        best = self.best
        if best is None or best.score is None or report.score is None:
            return None, 0.0
        gain = (best.score - report.score) if self.lower_is_better else (report.score - best.score)
        ev = report.evidence
        if ev is None or ev.vs_best != best.id:
            return gain, 0.0
        if ev.folds and ev.pooled_gain is not None:  # measured again on more dev rows
            gain = ev.pooled_gain
        return gain, self.accept_z * (ev.tested_se or 0.0)

    def _outcome(self, report: ExecutionReport) -> tuple[Outcome, bool]:
        """The attempt's outcome, and whether its gain passed the noise test (what success memory keeps).
        Within noise is a tie, and a tie goes to the cheaper script: a fifth less run time and at least
        CHEAPER_S seconds saved (the run time of a short script is mostly noise on a busy machine)."""
        if report.status != "ok" or report.score is None:
            return "crash", False
        if report.evidence is not None and report.evidence.identical_to:
            return "no-op", False
        gain, margin = self.gain(report)
        if gain is None:
            return "accepted", False
        if gain > margin:
            return "accepted", True
        if gain < -margin:
            return "worse", False
        best_report = self.best.report if self.best is not None else None
        saved = best_report.duration_s - report.duration_s if best_report is not None else 0.0
        cheaper = best_report is not None and gain >= 0 and saved >= max(CHEAPER_S, 0.2 * best_report.duration_s)
        return ("accepted" if cheaper else "tie"), False

    def _veto_reasons(self, update: CodeUpdate, report: ExecutionReport) -> list[str]:
        """Why the harness vetoes an attempt that would be accepted: its own signals, or a script vetoed before."""
        if script_key(update.code) in {script_key(code) for code in self.vetoed_codes}:
            return ["vetoed: this script was vetoed before"]
        return ["vetoed: " + flag for flag in harness_flags(update.code, report, self.references, self.lower_is_better)]

    def record(self, update: CodeUpdate, report: ExecutionReport) -> Attempt:
        """Applies the update rule to an executed attempt and returns its journal record."""
        self.step += 1
        outcome, significant = self._outcome(report)
        gain, margin = self.gain(report)
        # a valid attempt may join the final blend even when not accepted: the harness's flags reach it too
        reasons = self._veto_reasons(update, report) if outcome in ("accepted", "worse", "tie") else []
        if reasons:
            outcome, significant = "vetoed", False
            self.vetoed_codes.add(update.code.strip())
            update = update.model_copy(update={"note": "; ".join(filter(None, [update.note, *reasons]))})
        self.debug_round = self.debug_round + 1 if update.kind == "debug" else 0
        # a debug reply that sent back a script that already ran ends the chain: 20 of the 75 debug rounds kept from the
        # benchmarks of stops 15 to 23 did, and none of the 4 rounds that came after such a repeat fixed the crash
        repeated = report.evidence is not None and bool(report.evidence.identical_to)
        chain_open = outcome == "crash" and bool(update.code) and self.debug_round < self.max_debug_rounds and not repeated
        if chain_open and self._unfixed(update, report):
            chain_open = False
            update = update.model_copy(update={"note": "; ".join(filter(None, [update.note, UNFIXED]))})
        attempt = Attempt(
            id=update.attempt_id, trace=self.trace, step=self.step, parent_id=update.parent_id, kind=update.kind,
            score=report.score, status=report.status, accepted=outcome == "accepted", outcome=outcome, gain=gain,
            mode=update.mode, code=update.code, plan=update.plan, cause=update.cause, report=report, note=update.note,
        )
        if chain_open:
            attempt = attempt.model_copy(update={"outcome": None})  # its fate is the debug chain's
        self.redo_pending = (outcome == "no-op" and update.mode == "directed" and update.kind == "improve"
                             and self.redo_round < self.max_redo_rounds and self.step < self.max_steps)
        self.redo_round = self.redo_round + 1 if self.redo_pending else 0
        self.journal.add(attempt)
        if attempt.accepted:
            self.history.append(self.best_id)
            self.best_id, self.failures, self.plateau, self.debug_round = attempt.id, 0, 0, 0
            if significant:
                se = report.evidence.tested_se if report.evidence is not None else None
                self._remember(attempt, "success", gain or 0.0, se if margin > 0 else None)
            self._settle(attempt, "crash")
        elif not chain_open and not self.redo_pending:  # a redo's outcome speaks for the plan
            self._close_chain(attempt, outcome)
        self.strategy.observe(attempt)
        self.mode = self.strategy.next_mode(self.trace, self.step, self.best_id is not None,
                                            self.needs_debug() or self.redo_pending)
        if self.mode == "explore" and self.strategy.name == "hybrid" and self.ensembling is not None and self.ensembling():
            self.mode = "directed"  # the hybrid's ensemble stage is the gradient's: gome drafts the blend's members
        if self.step >= self.max_steps and self.awaits_diagnosis:
            self.mode = "directed"  # the last word goes to the Diagnostician
        return attempt

    def _unfixed(self, update: CodeUpdate, report: ExecutionReport) -> bool:
        """A directed debug round that crashed with its parent's error (the first line), which ends the chain: after
        23 such rounds in the benchmarks of stops 15 to 29, none of the 16 rounds that came next fixed the crash."""
        parent = self.journal.get(update.parent_id) if update.kind == "debug" and update.mode == "directed" else None
        if parent is None or parent.report is None or parent.status == "ok":
            return False
        return (parent.report.error or "").split("\n")[0].strip() == (report.error or "").split("\n")[0].strip()

    def _close_chain(self, attempt: Attempt, outcome: Outcome) -> None:
        """A direction that did not help: adapt the step size and remember the failure."""
        if outcome in ("crash", "worse", "vetoed"):
            self.failures += 1
            self.step_size = resized(self.step_size, -1)
        else:  # no-op, tie: a plateau
            self.plateau += 1
            if self.plateau >= self.plateau_patience:
                self.step_size, self.plateau = resized(self.step_size, +1), 0
        self._settle(attempt, outcome)
        self._remember(attempt, outcome, 0.0)

    def _settle(self, attempt: Attempt, outcome: Outcome) -> None:
        """Gives the crashed attempts that `attempt` debugged (their outcome still open) an outcome."""
        node = attempt
        while node.kind == "debug" and node.parent_id in self.journal:
            node = self.journal[node.parent_id]  # type: ignore[index]
            if node.outcome is None:
                self.journal.update(node.id, outcome=outcome)

    def _remember(self, attempt: Attempt, outcome: Outcome | str, gain: float, gain_se: float | None = None) -> None:
        plan = attempt.plan
        if plan is None or not self.use_memory:
            return
        cause = self.attempt(attempt.cause)
        summary = cause.diagnosis.summary if cause is not None and cause.diagnosis is not None else ""
        prefix = "m" if outcome == "success" else "f"
        self.memory.add(MemoryEntry(
            id=f"{prefix}{self.trace}-{attempt.step}", trace=self.trace, step=attempt.step, direction=plan.direction,
            changes=list(plan.changes), gain=gain, score=attempt.score, outcome=outcome,  # type: ignore[arg-type]
            step_size=plan.step_size, summary=summary, gain_se=gain_se,
        ))

    def diagnose(self, attempt_id: str, diagnosis: Diagnosis) -> Attempt:
        """Attaches an attempt's own diagnosis to its journal record."""
        return self.journal.update(attempt_id, diagnosis=diagnosis)

    def explore_pick(self) -> tuple[AttemptKind, str | None]:
        """The tree-search choice for an exploratory step: (kind, parent attempt id). The hybrid's is the tree's
        improving and debugging, from its own directed draft (26 of its 38 exploratory steps in the benchmark runs
        of stops 22-28 were more drafts, 18 of them tied, lost or changed nothing) and of the best that its
        directed steps improve, the test's (from the best dev score, three exploratory steps of a lending-club run
        built on ties the test had rejected, a line of their own: BENCHMARKS.md, stop 29)."""
        s = self.strategy
        hybrid = s.name == "hybrid"
        return tree_pick(list(self.journal), self.lower_is_better, s.rng(self.trace, self.step),
                         1 if hybrid else s.num_drafts, s.debug_prob, s.max_debug_depth,
                         best=self.best_id if hybrid else None)

    def veto(self, attempt_id: str) -> bool:
        """Vetoes a candidate (an accepted attempt or a tie better on the dev split) wherever it stands: it
        leaves the best (the latest earlier best not vetoed takes its place) and the success memory, becomes a
        failure, and its script stays vetoed. True if it was a candidate (the Coordinator must hear of it)."""
        attempt = self.journal.get(attempt_id)
        if attempt is None or not attempt.contender:
            return False
        self.vetoed_codes.add(attempt.code.strip())
        self.memory.remove(f"m{self.trace}-{attempt.step}")
        vetoed = self.journal.update(attempt_id, accepted=False, outcome="vetoed")
        self._remember(vetoed, "vetoed", 0.0)
        if self.best_id == attempt_id:
            self.best_id = None
            while self.history and self.best_id is None:
                previous = self.attempt(self.history.pop())
                self.best_id = previous.id if previous is not None and previous.outcome != "vetoed" else None
        return True

    def adopt(self, attempt: Attempt) -> None:
        """Takes another trace's solution as this trace's parameters (synchronisation)."""
        self.adopted[attempt.id] = attempt
        self.history.append(self.best_id)
        self.best_id = attempt.id
        self.plateau = self.failures = 0

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue this trace after a crash, as JSON-ready data."""
        return {
            "step": self.step, "debug_round": self.debug_round, "redo": [self.redo_round, self.redo_pending],
            "step_size": self.step_size.value,
            "failures": self.failures, "plateau": self.plateau, "best_id": self.best_id, "history": self.history,
            "vetoed_codes": sorted(self.vetoed_codes),
            "journal": [a.model_dump(mode="json") for a in self.journal],
            "adopted": [a.model_dump(mode="json") for a in self.adopted.values()],
            "memory": [m.model_dump(mode="json") for m in self.memory.entries], "mode": self.mode,
            "strategy": {"trials": self.strategy.trials, "successes": self.strategy.successes},
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Loads a `snapshot` into this state (its limits and switches stay as configured)."""
        self.step, self.debug_round = data["step"], data["debug_round"]
        self.redo_round, self.redo_pending = data.get("redo", [0, False])
        self.step_size, self.failures, self.plateau = StepSize(data["step_size"]), data["failures"], data["plateau"]
        self.best_id, self.history = data["best_id"], list(data["history"])
        self.vetoed_codes = set(data.get("vetoed_codes", []))
        self.journal = Journal([Attempt.model_validate(a) for a in data["journal"]])
        self.adopted = {a["id"]: Attempt.model_validate(a) for a in data["adopted"]}
        self.memory.entries = [MemoryEntry.model_validate(m) for m in data["memory"]]
        self.mode = data["mode"]
        self.strategy.trials, self.strategy.successes = data["strategy"]["trials"], data["strategy"]["successes"]
