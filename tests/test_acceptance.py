"""Noise-aware acceptance end to end: on the bundled hpc-jobs task a Coder that only changes the random
seed of the same shallow forest (seeds 1-6 after a draft with seed 0; deterministic) gets no update
accepted with the default test (gain > 2 paired standard errors), while strict comparison of dev scores
(accept_z 0, the former rule) accepts seed noise as progress.

The paired bootstrap resamples dev rows; it does not see the variance of the model itself. Seed-only
changes here have paired z-scores spread over about ±2 (measured: +1.9, -1.4, -3.2, -2.5, -1.3, -0.9),
so one split alone would let a long run of them pass now and then. A gain within the margin is therefore measured
again on extra dev folds (--confirm-folds), whose spread of gains holds the model's own noise."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from pathlib import Path

import pytest

from gome.assemble import limits_of
from gome.config import RunConfig
from gome.events import read_events
from gome.llm import ScriptedChatCompletionClient
from gome.runner import run
from gome.schema import AgentMessage, Attempt, Blended, OptimizerStep, Remeasure, RunStarted, Selection
from gome.tasks import load_task, make_dev_split, prepare_task
from gome.tools.folds import Folds
from gome.view.logs import render_lines
from scripted_model import agent_of, policy

FOREST = '''```python
from sklearn.ensemble import RandomForestClassifier


def make_model():
    return RandomForestClassifier(n_estimators=15, max_depth=3, random_state={seed}, n_jobs=1)
```
'''


def _seed_only_coder():
    seeds = itertools.count()

    def reply(texts: list[str]) -> str:
        return FOREST.format(seed=next(seeds)) if agent_of(texts) == "coder" else policy(texts)

    return reply


@pytest.fixture(scope="module")
def hpc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_task("hpc-jobs", tmp_path_factory.mktemp("tasks") / "hpc-jobs")


def _run(task: Path, runs: Path, accept_z: float, final_seeds: int = 0) -> list:
    reply = _seed_only_coder()
    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=runs, steps=7, exec_timeout_s=120, final_seeds=final_seeds,
                       accept_z=accept_z, blend_size=1,  # the seeds' scripts alone, no blend
                       ensemble_after=1.0,  # every step an improvement: no ensemble-stage drafts
                       moves=False)  # the seed is all that changes: gome makes no edit of its own
    result = asyncio.run(run(config, client=client))
    return list(read_events(result.run_dir / "events.jsonl"))


def _steps(task: Path, runs: Path, accept_z: float) -> list[OptimizerStep]:
    return [e for e in _run(task, runs, accept_z) if isinstance(e, OptimizerStep)]


@pytest.mark.slow
def test_seed_only_changes_are_not_accepted_as_gains(hpc: Path, tmp_path: Path) -> None:
    steps = _steps(hpc, tmp_path / "noise-aware", accept_z=2.0)
    improves = [s.attempt for s in steps if s.attempt.kind == "improve"]
    assert len(improves) == 6 and all(a.report.evidence.gain_se > 0 for a in improves)
    assert not any(a.accepted for a in improves) and {a.outcome for a in improves} <= {"tie", "worse"}
    assert "tie" in {a.outcome for a in improves}  # a gain within the noise is said so
    assert steps[-1].memory_size == 0  # nothing "verified" enters the success memory
    strict = _steps(hpc, tmp_path / "strict", accept_z=0.0)
    assert any(s.attempt.accepted for s in strict if s.attempt.kind == "improve")  # the old rule chases noise


@pytest.mark.slow
def test_ties_that_scored_above_the_best_compete_in_the_final_selection(hpc: Path, tmp_path: Path) -> None:
    events = _run(hpc, tmp_path / "selection", accept_z=2.0, final_seeds=1)
    attempts = {e.attempt.id: e.attempt for e in events if isinstance(e, OptimizerStep)}
    above = {a.id for a in attempts.values() if a.outcome == "tie" and (a.gain or 0) > 0}
    selection = next(e for e in events if isinstance(e, Selection))
    assert above and above & set(selection.candidates)  # seed noise scored above the draft: the extra split judges it
    assert "0-001" in selection.candidates and all(len(s) == 2 for s in selection.candidates.values())
    run_dir = tmp_path / "selection" / next(e.run_id for e in events if isinstance(e, RunStarted))
    kept = {a: float(path.read_text()) for a in selection.candidates
            if (path := run_dir / "traces" / "0" / "folds" / a / "fold1" / "score.txt").is_file()}
    assert kept and above & set(kept)  # the ties' close calls ran them on the first extra fold: the selection's split
    assert all(selection.candidates[a][1] == score and not (run_dir / "selection" / a).exists() for a, score in kept.items())
    last = attempts[max(attempts)]
    diagnosed = {e.step for e in events if isinstance(e, AgentMessage) and e.source == "diagnostician"}
    assert not last.contender or last.step in diagnosed  # every candidate is diagnosed, the last attempt too


KNN = '''```python
from sklearn.neighbors import KNeighborsClassifier


def make_model():
    return KNeighborsClassifier(n_neighbors=25)
```
'''


@pytest.mark.slow
@pytest.mark.parametrize("final_seeds", [1, 0])
def test_a_blend_within_the_margin_competes_only_where_extra_splits_judge_it(hpc: Path, tmp_path: Path, final_seeds: int) -> None:
    """A forest and a KNN blend at a gain of about 8 SE; with a margin of 50 SE that is within it. Where the final
    selection re-scores on an extra split, the blend is a candidate there (not accepted); with none, it is rejected."""
    replies = iter([FOREST.format(seed=0), KNN])
    client = ScriptedChatCompletionClient(lambda messages: next(replies) if agent_of([str(m.content) for m in messages]) == "coder"
                                          else policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=hpc, runs_dir=tmp_path, steps=2, exec_timeout_s=120, final_seeds=final_seeds,
                       accept_z=50.0, blend_size=6, ensemble_after=1.0, moves=False)
    events = list(read_events(asyncio.run(run(config, client=client)).run_dir / "events.jsonl"))
    blended = next(e for e in events if isinstance(e, Blended))
    assert len(blended.weights) == 2 and 0 < blended.gain < 50 * blended.gain_se and not blended.accepted
    selection = next(e for e in events if isinstance(e, Selection))
    assert blended.contender == bool(final_seeds) == ("blend" in selection.candidates), blended.reason


BOOSTED = '''```python
from sklearn.ensemble import HistGradientBoostingClassifier


def make_model():
    return HistGradientBoostingClassifier(max_iter=100, {extra}early_stopping=False)
```
'''


@pytest.mark.slow
@pytest.mark.parametrize("confirm_time", [300.0, 0.0])
def test_a_real_gain_within_the_dev_splits_noise_passes_on_more_dev_rows(hpc: Path, tmp_path: Path, confirm_time: float) -> None:
    """Boosting for 100 rounds overfits hpc-jobs a little; l2 regularisation of 0.4 gains on every fold (measured:
    1.85, 2.01 and 2.03 paired SE on the dev split and two extra folds; deterministic). On the dev split alone that is
    within a margin of 2 SE, a tie; pooled with the two folds it is 3.4 SE, accepted, and the log says on how many.
    Where the fold runs do not fit in the close call's time, there are none: a tie."""
    confirm_folds = 2 if confirm_time else 0  # the folds the close call gets
    replies = iter([BOOSTED.format(extra=""), BOOSTED.format(extra="l2_regularization=0.4, ")])
    client = ScriptedChatCompletionClient(lambda messages: next(replies) if agent_of([str(m.content) for m in messages]) == "coder"
                                          else policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=hpc, runs_dir=tmp_path, steps=2, exec_timeout_s=120, final_seeds=0, blend_size=1,
                       ensemble_after=1.0, moves=False, confirm_folds=2, confirm_time_s=confirm_time)
    run_dir = asyncio.run(run(config, client=client)).run_dir
    events = list(read_events(run_dir / "events.jsonl"))
    update = [e.attempt for e in events if isinstance(e, OptimizerStep)][-1]
    ev = update.report.evidence
    assert update.kind == "improve" and ev.gain_se > 0 and ev.folds == confirm_folds
    if confirm_folds:
        assert update.accepted and update.gain == ev.pooled_gain > 2 * ev.pooled_se and ev.pooled_se < ev.gain_se
        assert sorted(p.name for p in (run_dir / "traces/0/folds").iterdir()) == ["0-001", "0-002"]  # the best's runs kept
    else:
        assert update.outcome == "tie" and 0 < update.gain < 2 * ev.gain_se
    said = [e for e in events if isinstance(e, Remeasure)]  # the fold runs are announced as they start
    assert [(e.attempt, e.best, e.folds) for e in said] == ([(update.id, "0-001", 2)] if confirm_folds else [])
    logs = "\n".join(render_lines(events))
    assert ("on 3 dev splits: accepted" in logs) == ("both run again on 2 more dev folds" in logs) == bool(confirm_folds)


def test_a_close_call_gets_only_the_folds_whose_runs_fit_in_its_time(hpc: Path, tmp_path: Path) -> None:
    """A diamonds-cut close call ran two 100-second scripts on four folds one at a time: 13 minutes. The folds a
    close call gets are those whose runs, the best's kept ones left out, fit in its time."""
    task = load_task(hpc)
    splits = [make_dev_split(task, tmp_path / f"fold{k}", fold=k) for k in (1, 2, 3, 4)]
    folds = Folds(task, splits, tmp_path / "runs", limits_of(RunConfig(task_dir=hpc)), time_s=300.0)
    assert folds.count(new_s=100.0, best_id="0-001", best_s=100.0) == 1  # 200 s a fold
    assert folds.count(new_s=10.0, best_id="0-001", best_s=10.0) == 4
    assert dataclasses.replace(folds, parallel=2).count(new_s=100.0, best_id="0-001", best_s=100.0) == 3
    for k in (1, 2):  # the best's runs on two folds are kept from an earlier close call
        (tmp_path / "runs" / "0-001" / f"fold{k}").mkdir(parents=True)
        (tmp_path / "runs" / "0-001" / f"fold{k}" / "score.txt").write_text("0.9")
    assert folds.count(new_s=100.0, best_id="0-001", best_s=100.0) == 2  # 100 + 100 s, then 200 more
    assert folds.count(new_s=400.0, best_id="0-001", best_s=1.0) == 0



BOOSTED_CUT = '''```python
from sklearn.ensemble import HistGradientBoostingClassifier


def make_model():
    return HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, early_stopping=False, random_state=0)
```
'''


def _boosted_cut_then(direction: str, tmp_path: Path) -> tuple[Attempt, Attempt]:
    """A diamonds-cut run of two steps: the Coder's HistGradientBoosting draft, then a plan in these words."""
    task = prepare_task("diamonds-cut", tmp_path / "diamonds-cut")
    plan = json.dumps({"direction": direction, "step_size": "moderate", "changes": [], "memory_refs": []})

    def reply(texts: list[str]) -> str:
        agent = agent_of(texts)
        return BOOSTED_CUT if agent == "coder" else plan if agent == "memory_keeper" else policy(texts)

    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", steps=2, exec_timeout_s=300, final_seeds=0, blend_size=1,
                       ensemble_after=1.0, confirm_folds=0)
    events = list(read_events(asyncio.run(run(config, client=client)).run_dir / "events.jsonl"))
    draft, update = [e.attempt for e in events if isinstance(e, OptimizerStep)]
    return draft, update


@pytest.mark.slow
def test_the_ratios_of_diamonds_dimensions_are_a_real_gain_the_test_accepts(tmp_path: Path) -> None:
    """diamonds-cut's cut is a matter of proportions (depth and table are already two of them): the move of the data,
    made by gome on a plan that asks for new features, gains far beyond the noise of the dev split, and the
    success memory keeps it with its size."""
    _, update = _boosted_cut_then("Engineer new features from the numeric columns", tmp_path)
    assert update.plan.move is not None and update.plan.move.key == "features(): ratios of the numeric columns"
    assert "_per_" in update.code and update.accepted and update.gain > 2 * update.report.evidence.gain_se


@pytest.mark.slow
def test_the_expected_grade_on_diamonds_is_a_real_gain_the_test_accepts(tmp_path: Path) -> None:
    """Quadratic weighted kappa counts how far off a grade is: the move of the predictions (the class labels weighted
    by their probabilities, rounded), made by gome on a plan that asks for the expected grade, gains beyond the
    noise of the dev split over the most probable grade of the same model."""
    draft, update = _boosted_cut_then("Predict the expected grade", tmp_path)
    assert update.plan.move is not None and update.plan.move.key == "predict(): the expected grade"
    assert update.code.replace(update.plan.move.new, update.plan.move.old) == draft.code  # gome's edit, nothing else
    assert update.accepted and update.gain > 2 * update.report.evidence.gain_se


LENDING_MODEL = '''
def make_model():
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, early_stopping=True, random_state=0{extra})
'''
LENDING_RATIOS = '''
def features(train, test):
    """Numeric columns, plus one-hot columns of text columns with few distinct values."""
    both = pd.concat([train.drop(columns=[ID, TARGET]), test.drop(columns=[ID])], keys=["train", "test"])
    few = [c for c in both.select_dtypes(exclude="number").columns if both[c].nunique() <= 30]
    keep = list(both.select_dtypes("number").columns) + few
    both = pd.get_dummies(both[keep], columns=few, dtype=float)
    both = both.fillna(both.median()).fillna(0)
    numeric = list(both.select_dtypes("number").columns)[:7]  # ratios of the numeric columns
    for i, a in enumerate(numeric):
        for b in numeric[i + 1:]:
            both[f"{a}_per_{b}"] = both[a] / both[b].replace(0, np.nan)
    return both.loc["train"], both.loc["test"]
'''


@pytest.mark.slow
@pytest.mark.parametrize("change", ["ratios", "max_leaf_nodes=15"])
def test_a_gain_just_above_the_margin_is_kept_only_where_it_holds_on_the_folds(tmp_path: Path, change: str) -> None:
    """The benchmark's lending-club cells at 1dc8c8a (seed 1) accepted two gains over the same HistGradientBoosting
    draft on the dev split alone: the ratios in features(), +0.0392 ± 0.016 (2.5 SE), which the selection's extra
    splits showed was no gain, and max_leaf_nodes=15, +0.0240 ± 0.011 (2.2 SE), which held there. Both are under 4
    SE, so both run again on the four extra folds: pooled, the ratios are a tie (measured: -0.002 ± 0.011) and the
    leaf cap is accepted (+0.011 ± 0.0044); the log says why they ran again. Deterministic scripts."""
    task = prepare_task("lending-club", tmp_path / "lending-club")
    update_reply = LENDING_RATIOS + LENDING_MODEL.format(extra="") if change == "ratios" else \
        LENDING_MODEL.format(extra=", max_leaf_nodes=15")
    replies = iter([LENDING_MODEL.format(extra=""), update_reply])
    client = ScriptedChatCompletionClient(lambda messages: f"```python\n{next(replies)}```"
                                          if agent_of([str(m.content) for m in messages]) == "coder"
                                          else policy([str(m.content) for m in messages]))
    config = RunConfig(task_dir=task, runs_dir=tmp_path / "runs", steps=2, exec_timeout_s=300, final_seeds=0,
                       blend_size=1, ensemble_after=1.0, moves=False, seed=1)
    events = list(read_events(asyncio.run(run(config, client=client)).run_dir / "events.jsonl"))
    update = [e.attempt for e in events if isinstance(e, OptimizerStep)][-1]
    ev = update.report.evidence
    said = [e for e in events if isinstance(e, Remeasure)]
    assert [(e.attempt, e.best) for e in said] == [(update.id, "0-001")]
    assert update.kind == "improve" and 2 * said[0].gain_se < said[0].gain < 4 * said[0].gain_se  # above the margin
    assert ev.folds == 4 and update.gain == ev.pooled_gain
    assert update.outcome == ("tie" if change == "ratios" else "accepted")
    assert update.passed_test(2.0) == (change != "ratios") == (update.gain > 2 * ev.pooled_se)
    assert "may be this split's alone: both run again on 4 more dev folds" in "\n".join(render_lines(events))
