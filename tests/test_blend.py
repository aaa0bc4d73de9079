"""The ensemble stage's blend: combination by metric kind, the weight search, and the acceptance test on
out-of-fold predictions (a blend of members that make independent errors is accepted; a member that only
adds noise never gets a blend accepted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gome.coordinator import Candidate
from gome.ensemble import _verdict, try_blend
from gome.tasks import load_task, make_dev_split, new_task
from gome.tasks._io import read_table, write_table
from gome.tasks.blend import combine, cross_fitted


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory):
    """A regression task (rmse) on the diabetes data that ships with scikit-learn, and its dev split."""
    from sklearn.datasets import load_diabetes

    root = tmp_path_factory.mktemp("blend")
    frame = load_diabetes(as_frame=True).frame
    frame.to_csv(root / "diabetes.csv", index=False)
    task = load_task(new_task(root / "diabetes.csv", "target", "rmse", root / "diabetes", ladder=False))
    split = make_dev_split(task, root / "dev", seed=0)
    answers = read_table(split.answers_path, task.id_column).reset_index(drop=True)
    return task, split, answers, root


def _member(root: Path, answers: pd.DataFrame, name: str, values: np.ndarray, score: float) -> tuple[Candidate, Path]:
    path = root / name / "submission.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(pd.DataFrame({"id": answers["id"], "target": values}), path)
    return Candidate(attempt=name, trace=0, score=score, code=""), path


def _blend(regression, noises: list[np.ndarray], tag: str, accept_z: float = 2.0, ties: bool = False):
    task, split, answers, root = regression
    truth = answers["target"].to_numpy(dtype=float)
    members = []
    for k, noise in enumerate(noises):
        values = truth + noise
        members.append(_member(root / tag, answers, f"m{k}", values, float(np.sqrt(np.mean(noise**2)))))
    members.sort(key=lambda m: m[0].score)  # the pool comes best first
    paths = {c.attempt: p for c, p in members}
    return try_blend(task, split, [c for c, _ in members], lambda c: paths[c.attempt], root / tag / "blend", accept_z, ties=ties)


def test_members_with_independent_errors_blend_into_an_accepted_gain(regression) -> None:
    n = len(regression[2])
    rng = np.random.default_rng(1)
    blend, event = _blend(regression, [rng.normal(0, 40, n), rng.normal(0, 40, n)], "independent")
    assert event.accepted and blend is not None, event.reason
    assert set(event.weights) == {"m0", "m1"} and all(0.3 <= w <= 0.7 for w in event.weights.values())
    best_single = min(c.score for c in blend.members)
    assert event.score < best_single and event.gain > 2 * event.gain_se
    assert (regression[3] / "independent" / "blend" / "submission.csv").is_file()
    assert "accepted" in event.reason


def test_a_member_that_only_adds_noise_never_gets_a_blend_accepted(regression) -> None:
    """The second member is the first plus noise unrelated to the target: any gain is dev-split noise.
    Over 20 draws the weight search fits some of it on the full dev rows, but no blend is accepted."""
    n = len(regression[2])
    fitted_in_sample = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        base = rng.normal(0, 40, n)
        blend, event = _blend(regression, [base, base + rng.normal(0, 6, n)], f"noise{seed}")
        assert not event.accepted and blend is None, (seed, event.reason)
        fitted_in_sample += len(event.weights) > 1
    assert fitted_in_sample >= 1  # the in-sample search did chase the noise at least once


def test_the_log_line_names_members_weights_and_verdict(regression) -> None:
    from gome.view.logs import blend_line

    n = len(regression[2])
    rng = np.random.default_rng(1)
    _, event = _blend(regression, [rng.normal(0, 40, n), rng.normal(0, 40, n)], "logline")
    line = blend_line(event)
    assert line.startswith("blend of m") and "×0." in line and "against m" in line and line.endswith(": accepted")
    _, single = _blend(regression, [rng.normal(0, 40, n)], "single")
    assert blend_line(single).startswith("no blend: fewer than two")


def test_identical_predictions_are_one_member(regression) -> None:
    n = len(regression[2])
    noise = np.random.default_rng(3).normal(0, 40, n)
    blend, event = _blend(regression, [noise, noise.copy()], "same")
    assert blend is None and event.tried == ["m0"] and "fewer than two" in event.reason


def _frames(column: str, *values: list) -> list[pd.DataFrame]:
    return [pd.DataFrame({"id": ["a", "b"], column: v}) for v in values]


def test_combine_follows_the_metric_kind(regression, tmp_path: Path) -> None:
    task = regression[0]
    averaged = combine(task, _frames("target", [1.0, 3.0], [3.0, 5.0]), [3, 1])
    assert averaged["target"].tolist() == [1.5, 3.5]

    qwk = task.model_copy(update={"metric": "qwk"})  # ordinal labels: averaged, then rounded (halves up)
    assert combine(qwk, _frames("target", [1, 2], [2, 3]), [1, 1])["target"].tolist() == [2, 3]

    accuracy = task.model_copy(update={"metric": "accuracy"})  # labels: weighted votes, ties to the earlier member
    frames = _frames("target", ["x", "x"], ["y", "z"], ["y", "z"])
    assert combine(accuracy, frames, [1, 1, 1])["target"].tolist() == ["y", "z"]
    assert combine(accuracy, frames, [2, 1, 1])["target"].tolist() == ["x", "x"]


def test_out_of_fold_predictions_never_see_their_own_rows(regression) -> None:
    """Each half of the dev rows is predicted with the weights searched on the other half: rewriting the
    answers of one half changes the weights used on the other half only."""
    task, _, answers, _ = regression
    n, rng = len(answers), np.random.default_rng(5)
    truth = answers["target"].to_numpy(dtype=float)
    frames = [pd.DataFrame({"id": answers["id"], "target": truth + rng.normal(0, 40, n)}) for _ in range(3)]
    second = np.sort(np.random.default_rng(0).permutation(n)[n // 2:])  # cross_fitted's halves for seed 0
    first = np.setdiff1d(np.arange(n), second)
    before = cross_fitted(task, answers, frames, seed=0)
    rewritten = answers.copy()
    rewritten.loc[second, "target"] = frames[2].loc[second, "target"]  # on these rows member 2 is now perfect
    after = cross_fitted(task, rewritten, frames, seed=0)
    assert np.allclose(after.loc[second, "target"], before.loc[second, "target"])
    assert not np.allclose(after.loc[first, "target"], before.loc[first, "target"])
    assert np.allclose(after.loc[first, "target"], frames[2].loc[first, "target"])  # half 2's weights: all member 2


def test_a_weaker_member_joins_at_a_small_weight(regression) -> None:
    """Errors of SD 40 and 80, independent: the best blend gives the weaker member a fifth. At half weight it
    is worse than the better member alone (variance 2000 against 1600), so a search whose first step is 1:1
    keeps the better member only; START lets the weaker one join at a quarter (variance 1300)."""
    n = len(regression[2])
    rng = np.random.default_rng(3)
    _, event = _blend(regression, [rng.normal(0, 40, n), rng.normal(0, 80, n)], "weaker")
    assert set(event.weights) == {"m0", "m1"} and 0.1 <= event.weights["m1"] <= 0.3, event.reason


def test_a_blend_within_noise_is_a_final_candidate_only_where_extra_splits_judge_it(regression) -> None:
    """Two members whose errors (SD 40 and 40) are correlated (0.6): among 40 draws, the first whose blend gains
    less than 2 SE. With `ties` (the final selection re-scores on extra splits) it is a candidate, not accepted;
    without, it is rejected. A blend below the best script but within the noise is a candidate too (the best's dev
    score was chosen on those rows; the blend's is out of fold); one worse by more than the margin is not."""
    task, split, answers, root = regression
    n = len(answers)
    truth = answers["target"].to_numpy(dtype=float)
    found = None
    for seed in range(40):
        rng = np.random.default_rng(200 + seed)
        noises = [rng.normal(0, 40, n), rng.normal(0, 40, n) * 0.6 + rng.normal(0, 40, n) * 0.8]
        members = sorted((_member(root / f"tie{seed}", answers, f"m{k}", truth + e, float(np.sqrt(np.mean(e**2))))
                          for k, e in enumerate(noises)), key=lambda m: m[0].score)
        paths = {c.attempt: p for c, p in members}
        pool = [c for c, _ in members]

        def blend(ties: bool, tag: str):
            return try_blend(task, split, pool, lambda c: paths[c.attempt], root / f"tie{seed}" / tag, 2.0, ties=ties)

        candidate, event = blend(True, "judged")
        if len(event.weights) == 2 and 0 < event.gain < 2 * event.gain_se:
            found = (candidate, event, *blend(False, "single-split"))
            break
    assert found is not None, "no draw gave a blend within noise"
    candidate, event, alone, alone_event = found
    assert candidate is not None and candidate.members and event.contender and not event.accepted
    assert "a final candidate" in event.reason
    assert alone is None and not alone_event.contender and "rejected" in alone_event.reason
    base = np.random.default_rng(9).normal(0, 40, n)
    below = 0
    for k in range(5):  # a second member that only adds noise: the blend's gain is at most noise
        _, noisy = _blend(regression, [base, base + np.random.default_rng(10 + k).normal(0, 6, n)], f"noisy{k}", ties=True)
        assert not noisy.accepted and noisy.contender == (len(noisy.weights) == 2), noisy.reason
        below += noisy.contender and noisy.gain < 0
    assert below >= 1, "no draw gave a blend below the best within the noise"
    assert _verdict(-0.5, 0.2, 2.0, 2, ties=True) == (False, False, "-0.5 ± 0.2 out of fold: worse, rejected")
