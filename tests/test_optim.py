"""The optimiser's state without agents: the journal, the update rule (outcomes, acceptance, step size),
both memories and their retrieval, vetoes, and a snapshot round trip."""

from __future__ import annotations

from gome.optim import Journal, Memory, Strategy, TraceState, reply_cap, step_violation
from gome.optim.state import UNFIXED
from gome.schema import Attempt, CodeUpdate, Diagnosis, Evidence, ExecutionReport, MemoryEntry, StepSize, UpdatePlan

PLAN = UpdatePlan(direction="add gradient boosting with tuned learning rate", step_size=StepSize.moderate,
                  changes=["use HistGradientBoostingClassifier"])


def _update(state: TraceState, kind: str = "improve", plan: UpdatePlan | None = PLAN, code: str | None = None) -> CodeUpdate:
    step = state.step + 1
    parent = state.last.id if kind == "debug" and state.last else state.best_id  # a debug round fixes the crash
    return CodeUpdate(attempt_id=f"0-{step:03d}", parent_id=parent, kind=kind, code=code or f"print({step})\n",
                      plan=plan, cause=state.last.id if state.last else "")  # type: ignore[arg-type]


def _report(state: TraceState, score: float | None, identical_to: str = "", gain_se: float | None = None,
            seconds: float = 1.0, error: str = "") -> ExecutionReport:
    evidence = Evidence(noise=0.01, identical_to=identical_to, gain_se=gain_se,
                        vs_best=state.best_id or "" if gain_se is not None else "")
    crashed = score is None
    return ExecutionReport(attempt_id=f"0-{state.step + 1:03d}", status="crashed" if crashed else "ok",
                           exit_code=1 if crashed else 0, duration_s=seconds, stdout_tail="", stderr_tail="",
                           score=score, evidence=evidence, error=error or (f"ValueError: step {state.step + 1}" if crashed else ""))


def _step(state: TraceState, score: float | None, **kw: object) -> Attempt:
    identical, error = str(kw.pop("identical_to", "")), str(kw.pop("error", ""))
    se, seconds = kw.pop("gain_se", None), float(kw.pop("seconds", 1.0))  # type: ignore[arg-type]
    return state.record(_update(state, **kw), _report(state, score, identical, se, seconds, error))  # type: ignore[arg-type]


def _state() -> TraceState:
    state = TraceState(trace=0, lower_is_better=False, max_steps=20)
    _step(state, 0.70, kind="draft", plan=None)
    return state


def test_outcomes_and_acceptance() -> None:
    state = _state()
    assert state.best_id == "0-001" and state.last.outcome == "accepted" and state.last.code == "print(1)\n"
    assert _step(state, 0.80).outcome == "accepted" and state.best.score == 0.80
    assert _step(state, 0.80).outcome == "tie"
    assert _step(state, 0.75).outcome == "worse"
    assert _step(state, 0.90, identical_to="0-002").outcome == "no-op"  # identical predictions never count as a gain
    assert state.best_id == "0-002"
    record = state.journal["0-002"]
    assert record.plan == PLAN and record.cause == "0-001" and record.report.score == 0.80  # one record holds it all


def test_memories_record_successes_and_failures_with_their_outcome() -> None:
    state = _state()
    _step(state, 0.80)
    _step(state, 0.80, plan=PLAN.model_copy(update={"direction": "tune the forest depth"}))
    rename = PLAN.model_copy(update={"direction": "rename a variable"})
    _step(state, 0.80, identical_to="0-002", plan=rename)
    assert state.needs_redo() and len(state.memory.entries) == 2  # the plan's fate is its redo's
    _step(state, 0.80, identical_to="0-002", plan=rename)  # the redo changes nothing either
    assert [(e.id, e.outcome) for e in state.memory.entries] == [("m0-2", "success"), ("f0-3", "tie"), ("f0-5", "no-op")]
    assert abs(state.memory.successes[0].gain - 0.1) < 1e-9
    assert state.memory.failures[1].direction == "rename a variable" and state.memory.failures[1].step_size == StepSize.moderate


def test_a_crash_is_remembered_only_when_its_debug_chain_ends_without_a_fix() -> None:
    state = _state()
    _step(state, None)  # the improvement crashes: its outcome waits for the debug rounds
    assert state.last.outcome is None and state.needs_debug() and not state.memory.failures
    fixed = _step(state, 0.85, kind="debug", plan=PLAN)
    assert fixed.accepted and state.journal["0-002"].outcome == "crash" and not state.memory.failures
    _step(state, None)
    _step(state, None, kind="debug")
    _step(state, None, kind="debug")  # max_debug_rounds = 2: the chain ends here
    assert not state.needs_debug() and [e.outcome for e in state.memory.failures] == ["crash"]
    assert all(state.journal[f"0-{i:03d}"].outcome == "crash" for i in (4, 5, 6))


def test_a_debug_round_that_sends_the_crashed_script_back_ends_the_chain() -> None:
    """ames-prices' no-memory cell at 1dc8c8a: both debug rounds of a KeyError sent the crashed script back."""
    state = _state()
    _step(state, None)
    _step(state, None, kind="debug", identical_to="0-002")  # the fix is the crashed script: not run, nothing to debug
    assert not state.needs_debug() and state.journal["0-002"].outcome == "crash"
    assert [e.outcome for e in state.memory.failures] == ["crash"] and state.mode == "directed"


def test_a_debug_round_that_crashes_with_its_parents_error_ends_the_chain() -> None:
    """hpc-jobs seed 1 (stops 23, 27, 29): the draft's AttributeError came back from the first debug round, and the
    second sent the same script; none of the 16 rounds after such a round in the kept benchmarks fixed the crash."""
    state = _state()
    _step(state, None, error="AttributeError: 'numpy.ndarray' object has no attribute 'index'\nhint: a frame")
    other = _step(state, None, kind="debug", error="KeyError: 'class'")  # another error: the fix changed something
    assert other.outcome is None and state.needs_debug() and UNFIXED not in other.note
    _step(state, 0.85, kind="debug")  # fixed
    _step(state, None, error="AttributeError: 'numpy.ndarray' object has no attribute 'index'\nhint: a frame")
    unfixed = _step(state, None, kind="debug", error="AttributeError: 'numpy.ndarray' object has no attribute 'index'")
    assert not state.needs_debug() and unfixed.outcome == "crash" and state.journal["0-005"].outcome == "crash"
    assert UNFIXED in unfixed.note and [e.outcome for e in state.memory.failures] == ["crash"]
    explore = _state()  # the tree's debugging (and the hybrid's exploratory) is its policy's: no chain to end
    _step(explore, None, error="KeyError: 'class'")
    update = _update(explore, kind="debug").model_copy(update={"mode": "explore"})
    assert explore.record(update, _report(explore, None, error="KeyError: 'class'")).outcome is None


def test_step_size_shrinks_after_failures_and_grows_on_plateaus() -> None:
    state = _state()
    assert state.step_size == StepSize.moderate
    _step(state, 0.60)  # worse
    assert state.step_size == StepSize.targeted
    _step(state, 0.70)  # a tie with the best ...
    assert state.step_size == StepSize.targeted
    _step(state, 0.70, identical_to="0-001")  # ... and a no-op, after its redo: a plateau of two
    assert state.step_size == StepSize.targeted and state.needs_redo()
    _step(state, 0.70, identical_to="0-001")
    assert state.step_size == StepSize.moderate
    _step(state, 0.70)
    _step(state, 0.70)
    assert state.step_size == StepSize.rewrite


def test_a_no_op_goes_back_to_the_coder_once_before_its_plan_counts_as_failed() -> None:
    state = _state()
    _step(state, 0.70, identical_to="0-001")
    assert state.needs_redo() and state.mode == "directed" and not state.memory.failures and state.plateau == 0
    restored = TraceState(trace=0, lower_is_better=False, max_steps=20)
    restored.restore(state.snapshot())
    assert restored.needs_redo() and restored.redo_round == 1  # a resumed trace still owes the redo
    redo = _step(state, 0.80)  # the redo carries the plan out: accepted like any update
    assert redo.accepted and not state.needs_redo() and state.journal["0-002"].outcome == "no-op"
    assert [e.id for e in state.memory.entries] == ["m0-3"]
    _step(state, 0.80, identical_to="0-003")
    _step(state, 0.80, identical_to="0-003")  # its redo changes nothing either: no third try
    assert not state.needs_redo() and [e.id for e in state.memory.failures] == ["f0-5"]
    last = TraceState(trace=0, lower_is_better=False, max_steps=2)
    _step(last, 0.70, kind="draft", plan=None)
    _step(last, 0.70, identical_to="0-001")  # the budget's last step: nothing left to redo it with
    assert not last.needs_redo() and [e.id for e in last.memory.failures] == ["f0-2"]
    explore = _state()
    explore.record(_update(explore).model_copy(update={"mode": "explore"}), _report(explore, 0.70, "0-001"))
    assert not explore.needs_redo()  # tree search's scalar feedback has no plan to carry out again


def test_step_size_bounds_the_reply_and_names_a_violation() -> None:
    parent = "\n".join(f"x{i} = {i}" for i in range(100)) + "\n"
    small = parent.replace("x1 = 1", "x1 = 2")
    large = "\n".join(f"y{i} = {i}" for i in range(100)) + "\n"
    assert step_violation(StepSize.targeted, parent, small) is None
    assert step_violation(StepSize.targeted, parent, large) == (200, 20)
    assert step_violation(StepSize.rewrite, parent, large) is None
    caps = [reply_cap(parent, size, 4096) for size in (StepSize.targeted, StepSize.moderate, StepSize.rewrite)]
    assert caps[0] < caps[1] < caps[2] <= 4096 and reply_cap(parent, StepSize.rewrite, 700) == 700


def _entry(id: str, direction: str, step: int, gain: float = 0.1, outcome: str = "success") -> MemoryEntry:
    return MemoryEntry(id=id, trace=0, step=step, direction=direction, changes=[], gain=gain, score=0.5,
                       outcome=outcome)  # type: ignore[arg-type]


def test_retrieval_weighs_relevance_age_and_gain() -> None:
    memory = Memory(half_life=4)
    memory.add(_entry("m0-1", "one-hot encode the island column", 10))
    memory.add(_entry("m0-2", "gradient boosting with a lower learning rate", 10))
    memory.add(_entry("m0-5", "drop the id column", 10))
    assert memory.retrieve("try gradient boosting", now=10, k=2)[0].id == "m0-2"  # relevance
    memory.add(_entry("m0-3", "gradient boosting with a lower learning rate", 2))
    assert memory.retrieve("gradient boosting", now=10, k=2)[0].id == "m0-2"  # the newer of two equals
    memory.add(_entry("m0-4", "scale the numeric columns", 10, gain=0.5))
    assert "m0-4" in [e.id for e in memory.retrieve("gradient boosting", now=10, k=2)]  # the largest gain stays


def test_a_failed_direction_is_recognised_when_proposed_again() -> None:
    memory = Memory(half_life=30)
    memory.add(_entry("f0-3", "Replace DummyRegressor with RandomForestRegressor", 3, 0.0, "no-op"))
    assert memory.repeats("replace the DummyRegressor with a RandomForestRegressor", now=5).id == "f0-3"
    assert memory.repeats("add target encoding of the neighbourhood column", now=5) is None
    assert memory.retrieve("random forest", now=5) == []  # failures are not momentum
    assert [e.id for e in memory.retrieve_failures("random forest regressor", now=5)] == ["f0-3"]


def test_veto_reverts_the_best_and_its_success() -> None:
    state = _state()
    _step(state, 0.99)
    assert state.best_id == "0-002" and [e.id for e in state.memory.successes] == ["m0-2"]
    assert state.veto("0-002")
    assert state.best_id == "0-001" and not state.memory.successes
    assert state.journal["0-002"].outcome == "vetoed" and not state.journal["0-002"].accepted
    assert not state.veto("0-001x")


def test_snapshot_round_trip_keeps_the_journal_and_memories() -> None:
    state = _state()
    _step(state, 0.8)
    _step(state, 0.7)
    state.diagnose("0-003", Diagnosis(summary="worse", direction="go back"))
    copy = TraceState(trace=0, lower_is_better=False, max_steps=20)
    copy.restore(state.snapshot())
    assert list(copy.journal) == list(state.journal) and copy.memory.entries == state.memory.entries
    assert copy.best_id == "0-002" and copy.journal["0-003"].diagnosis.direction == "go back"
    assert copy.step_size == state.step_size and copy.step == 3


def test_journal_finds_an_identical_script() -> None:
    journal = Journal()
    journal.add(Attempt(id="0-001", trace=0, step=1, parent_id=None, kind="draft", score=0.5, status="ok", accepted=True,
                        code="a = 1\n", report=_report(TraceState(0, False, 1), 0.5)))
    assert journal.same_code("a = 1\n\n").id == "0-001" and journal.same_code("a = 2\n") is None


def test_a_gain_within_the_noise_of_the_dev_estimate_is_a_tie() -> None:
    state = _state()
    seed_only = _step(state, 0.72, gain_se=0.03)  # better by 0.02 ± 0.03: noise
    assert seed_only.outcome == "tie" and not seed_only.accepted and abs(seed_only.gain - 0.02) < 1e-9
    real = _step(state, 0.80, gain_se=0.03)  # better by 0.10 ± 0.03
    assert real.accepted and [(e.id, e.gain_se) for e in state.memory.successes] == [("m0-3", 0.03)]
    assert _step(state, 0.70, gain_se=0.03).outcome == "worse"
    assert not _step(state, 0.80, gain_se=0.03, seconds=0.5).accepted  # half of one second: timing noise
    slow = TraceState(trace=0, lower_is_better=False, max_steps=5)
    _step(slow, 0.70, kind="draft", plan=None, seconds=30.0)
    cheap = _step(slow, 0.71, gain_se=0.03, seconds=12.0)  # as good, in 18 s less
    assert cheap.accepted and slow.best_id == cheap.id and not slow.memory.successes  # no gain to remember
    loose = TraceState(trace=0, lower_is_better=True, max_steps=5, accept_z=0.0)
    _step(loose, 3.0, kind="draft", plan=None)
    assert _step(loose, 2.99, gain_se=0.5).accepted  # accept_z 0: any improvement (lower is better here)


def test_the_last_accepted_attempt_is_diagnosed_before_the_trace_stops() -> None:
    state = TraceState(trace=0, lower_is_better=False, max_steps=2)
    _step(state, 0.7, kind="draft", plan=None)
    _step(state, 0.9)
    assert not state.done and state.awaits_diagnosis and state.mode == "directed"
    state.diagnose("0-002", Diagnosis(summary="fine", direction="stop"))
    assert state.done
    rejected = TraceState(trace=0, lower_is_better=False, max_steps=2)
    _step(rejected, 0.7, kind="draft", plan=None)
    _step(rejected, 0.6)
    assert rejected.done  # a rejected last attempt is no candidate: nothing to diagnose


def test_a_last_tie_better_on_the_dev_split_is_a_candidate_diagnosed_and_vetoable() -> None:
    state = TraceState(trace=0, lower_is_better=False, max_steps=3)
    _step(state, 0.70, kind="draft", plan=None)
    below = _step(state, 0.69, gain_se=0.03)  # a tie below the best: no candidate
    assert below.outcome == "tie" and not below.contender
    above = _step(state, 0.72, gain_se=0.03)  # better by 0.02 ± 0.03: a tie, and a candidate
    assert above.outcome == "tie" and above.contender and state.best_id == "0-001"
    assert not state.done and state.awaits_diagnosis  # every candidate is diagnosed, the last one too
    assert state.veto(above.id) and state.journal[above.id].outcome == "vetoed" and state.best_id == "0-001"
    assert state.done and not state.veto(below.id)


def test_harness_signals_veto_and_a_vetoed_script_stays_vetoed() -> None:
    state = TraceState(trace=0, lower_is_better=False, max_steps=20, references={"dummy": 0.5, "expert": 0.75})
    _step(state, 0.70, kind="draft", plan=None)
    leak = _step(state, 0.99)  # normalised 1.96: beyond what the ladder makes plausible
    assert leak.outcome == "vetoed" and not leak.accepted and "implausible" in leak.note and state.best_id == "0-001"
    peek = _step(state, 0.72, code='import pandas as pd\nanswers = pd.read_csv("/data/private/answers.csv")\n')
    assert peek.outcome == "vetoed" and "/data/private/answers.csv" in peek.note
    good = _step(state, 0.74, code="fine = 1\n")
    assert good.accepted and state.veto(good.id)  # the Diagnostician's flag
    assert state.best_id == "0-001" and not state.memory.successes and state.journal[good.id].outcome == "vetoed"
    again = _step(state, 0.74, code="fine = 1\n")  # the same script, accepted again later
    assert again.outcome == "vetoed" and "vetoed before" in again.note
    worse = _step(state, 0.60, code='x = open("/data/private/answers.csv")\n')  # not accepted, but a blend could use it
    assert worse.outcome == "vetoed" and "/data/private/answers.csv" in worse.note
    assert {e.outcome for e in state.memory.failures} == {"vetoed"}


def test_a_dev_score_far_above_the_scripts_own_is_flagged() -> None:
    from gome.optim.veto import harness_flags

    def flags(score: float, own: float, lower: bool = False) -> list[str]:
        report = ExecutionReport(attempt_id="0-002", status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                                 stderr_tail="", score=score, evidence=Evidence(noise=0.02, self_score=own))
        return harness_flags("x = 1\n", report, {}, lower)

    assert flags(0.95, 0.80) and "beats the script's own validation score" in flags(0.95, 0.80)[0]
    assert flags(0.83, 0.80) == [] and flags(0.90, 0.80) == []  # within four standard errors of the difference
    assert flags(0.20, 0.50, lower=True) and flags(0.50, 0.20, lower=True) == []  # direction-aware


def test_a_model_flag_needs_the_harness_evidence_behind_it() -> None:
    from gome.optim.veto import supports_flag

    def report(score: float, own: float | None) -> ExecutionReport:
        return ExecutionReport(attempt_id="0-001", status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                               stderr_tail="", score=score, evidence=Evidence(noise=0.02, self_score=own))

    ladder = {"dummy": 0.5, "expert": 0.73}
    assert not supports_flag(report(0.54, 0.64), ladder, False)  # an ordinary draft, its own validation optimistic
    assert supports_flag(report(0.70, 0.60), ladder, False)  # the harness's score beats the script's own
    assert supports_flag(report(0.80, None), ladder, False)  # beyond the expert level
    assert supports_flag(report(0.54, None), {}, False)  # nothing to judge by: the flag stands


def test_a_flag_is_not_backed_by_a_gap_of_two_standard_errors() -> None:
    from gome.optim.veto import supports_flag

    report = ExecutionReport(attempt_id="0-001", status="ok", exit_code=0, duration_s=1.0, stdout_tail="", stderr_tail="",
                             score=1.588, evidence=Evidence(noise=0.0459, self_score=1.681))  # a food-delivery draft
    assert not supports_flag(report, {"dummy": 3.0, "expert": 1.4}, True)  # MAE: 2.03 SE better than its own split


def test_a_flag_is_not_backed_by_the_gap_two_honest_hpc_jobs_drafts_showed() -> None:
    """Both drafts of an hpc-jobs run (the starter with a forest, then with LightGBM) were vetoed: log loss
    3.4 and 3.5 dev-score noises better than their own splits, which vary that much from one split to the next."""
    from gome.optim.veto import harness_flags, supports_flag

    ladder = {"dummy": 1.12786, "expert": 0.42194}
    for score, own, noise in ((0.4563, 0.5513, 0.0276), (0.4348, 0.5680, 0.0380)):
        report = ExecutionReport(attempt_id="0-001", status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                                 stderr_tail="", score=score, evidence=Evidence(noise=noise, self_score=own))
        assert not supports_flag(report, ladder, True) and harness_flags("x = 1\n", report, ladder, True) == []


def test_a_trace_carries_out_its_redo_before_it_synchronises(tmp_path) -> None:
    from gome.coordinator import Candidate, GlobalState
    from gome.tools.rundir import RunDir
    from gome.trace import TraceLink

    state = _state()
    _step(state, 0.70, identical_to="0-001")  # a no-op: its redo is pending
    link = TraceLink(state, RunDir(tmp_path), emit=lambda event: None, handle=None, sync_margin=0.0,  # type: ignore[arg-type]
                     sync_patience=1)
    remote = GlobalState(version=1, best=Candidate(attempt="1-003", trace=1, step=3, score=0.9, code="print(9)\n"),
                         memory=[], drafts={}, stopped=False)
    link._merge(remote)
    assert state.best_id == "0-001" and state.needs_redo()  # the plan in progress ends first
    _step(state, 0.70, identical_to="0-001")
    link._merge(remote)
    assert state.best_id == "1-003"


def test_the_evidence_calls_a_gap_a_possible_leak_only_where_it_would_back_a_flag() -> None:
    from gome.agents.views import evidence_text
    from gome.optim.veto import supports_flag
    from gome.roles import load_messages
    from gome.schema import Attempt

    def shown(score: float, own: float) -> tuple[str, bool]:
        report = ExecutionReport(attempt_id="0-002", status="ok", exit_code=0, duration_s=1.0, stdout_tail="",
                                 stderr_tail="", score=score, evidence=Evidence(noise=0.056, self_score=own))
        attempt = Attempt(id="0-002", trace=0, step=2, parent_id=None, kind="improve", score=score, status="ok", accepted=False,
                          report=report)
        text = evidence_text(load_messages(), attempt, True)
        return text, supports_flag(report, {}, True)

    ordinary, backed = shown(0.573, 0.749)  # an hpc-jobs attempt: 3.1 dev-score noises (2.2 SE of the difference)
    assert "more than the noise of two splits, too little to suspect a leak" in ordinary and not backed
    assert "agree within the noise" in shown(0.70, 0.749)[0]  # 0.9 noises
    assert "agree" not in ordinary and "can mean a leak" not in ordinary
    leaky, backed = shown(0.40, 0.749)  # 6.2 noises
    assert "which can mean a leak" in leaky and backed


def test_a_script_is_the_same_script_whatever_its_imports_comments_and_layout() -> None:
    from gome.optim.journal import script_key

    script = ("import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n\n"
              "def make():\n    return RandomForestClassifier(n_estimators=50)\n")
    moved = ('"""a docstring"""\nimport numpy as np  # never used\nimport pandas as pd\n\n\ndef make():\n'
             "    from sklearn.ensemble import RandomForestClassifier\n    return RandomForestClassifier( n_estimators = 50 )\n")
    assert script_key(script) == script_key(moved)
    assert script_key(moved.replace("    from sklearn", "    # from sklearn")) != script_key(moved)  # nothing imports it
    assert script_key(script) != script_key(script.replace("import RandomForestClassifier", "import ExtraTreesClassifier as RandomForestClassifier"))
    assert script_key(script) != script_key(script.replace("n_estimators=50", "n_estimators=60"))
    star = "from sklearn.ensemble import *\nm = RandomForestClassifier()\n"
    assert script_key(star) != script_key(star.replace("sklearn.ensemble", "sklearn.tree"))
    assert script_key("def f(:\n  pass\n") == "def f(:\n  pass"  # does not parse: the text


def test_the_hybrids_steps_in_the_ensemble_stage_are_directed() -> None:
    """The hybrid explores where its directed updates have not paid; in the ensemble stage its steps are the
    gradient's all the same, so that gome drafts the blend's members (hpc-jobs, seed 1, at 1dc8c8a: the hybrid spent
    its last two steps on a Coder draft and its crash where the gradient drafted the two members of its winning blend)."""
    modes = {}
    for stage in (False, True):
        state = TraceState(trace=0, lower_is_better=False, max_steps=20, strategy=Strategy("hybrid"),
                           ensembling=lambda stage=stage: stage)  # type: ignore[misc]
        state.strategy.trials = 10  # none accepted: the hybrid explores nine steps in ten
        _step(state, 0.70, kind="draft", plan=None)
        modes[stage] = [state.mode] + [(_step(state, 0.60), state.mode)[1] for _ in range(8)]
    assert modes[False].count("explore") >= 6
    assert modes[True] == ["directed"] * 9


def test_the_hybrid_explores_from_its_draft_and_the_tests_best_where_the_tree_drafts_again_and_climbs_a_tie() -> None:
    """The tree drafts `num_drafts` times, then improves the node of best dev score, a tie the test rejected too; the
    hybrid explores from its own directed draft and improves the best its directed steps improve, the test's."""
    picks = {}
    for name, drafts in (("hybrid", 3), ("tree", 3), ("tree", 1)):
        state = TraceState(trace=0, lower_is_better=False, max_steps=20,
                           strategy=Strategy(name, num_drafts=drafts, debug_prob=0.0))  # type: ignore[arg-type]
        _step(state, 0.70, kind="draft", plan=None)
        first = state.explore_pick()
        tie = _step(state, 0.75, gain_se=0.05)  # +0.05 ± 0.05: within the noise
        picks[(name, drafts)] = (first, tie.outcome, state.explore_pick())
    assert picks == {("hybrid", 3): (("improve", "0-001"), "tie", ("improve", "0-001")),
                     ("tree", 3): (("draft", None), "tie", ("draft", None)),
                     ("tree", 1): (("improve", "0-001"), "tie", ("improve", "0-002"))}
