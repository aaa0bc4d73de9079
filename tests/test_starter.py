"""The starter script: it runs in the sandbox on every kind of submission, scores like a dummy, and a real
model swapped into make_model() improves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome.agents.views import fit_capacity
from gome.sandbox import SandboxLimits
from gome.tasks import grade_submission, load_task, make_dev_split, prepare_task
from gome.tasks.evidence import fit_score, submission_evidence
from gome.tasks.starter import starter_script
from gome.tools.harness import run_attempt

LIMITS = SandboxLimits(timeout_s=120, memory_mb=4000, threads=1)
# one task per kind: labels, binary probability with a named class, multiclass probabilities, regression
REAL_MODEL = {
    "penguins": ('DummyClassifier(strategy="most_frequent")', "RandomForestClassifier(random_state=0)", "ensemble"),
    "lending-club": ('DummyClassifier(strategy="prior")', "HistGradientBoostingClassifier()", "ensemble"),
    "hpc-jobs": ('DummyClassifier(strategy="prior")', "HistGradientBoostingClassifier()", "ensemble"),
    "vic-electricity": ('DummyRegressor(strategy="mean")', "HistGradientBoostingRegressor()", "ensemble"),
}


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("starter")
    for name in REAL_MODEL:
        prepare_task(name, root / name)
    return root


def _run(code: str, task_dir: Path, out: Path) -> tuple[float, float | None]:
    task = load_task(task_dir)
    report, _ = run_attempt("s", code, task.public_dir, out, lambda path: 0.0, LIMITS)
    assert report.status == "ok", report.error + report.stderr_tail
    assert "validation_score: " in report.stdout_tail and "train_score: " in report.stdout_tail
    grade = grade_submission(task, out / "submission.csv")
    assert grade.valid_submission, grade.error
    return grade.score, grade.normalized_score


@pytest.mark.parametrize("name", sorted(REAL_MODEL))
def test_starter_is_valid_and_a_real_model_improves_it(name: str, tasks_dir: Path, tmp_path: Path) -> None:
    task = load_task(tasks_dir / name)
    code = starter_script(task)
    placeholder, real, module = REAL_MODEL[name]
    assert placeholder in code and "ID, TARGET = 'id'" in code
    dummy, normalized = _run(code, tasks_dir / name, tmp_path / "dummy")
    if normalized is not None:  # penguins has no reference ladder
        assert abs(normalized) < 0.05  # the placeholder is the dummy level
    real_name = real.split("(")[0]
    better = code.replace(placeholder, real).replace("import numpy as np\n", f"import numpy as np\nfrom sklearn.{module} import {real_name}\n")
    score, _ = _run(better, tasks_dir / name, tmp_path / "real")
    assert (score < dummy) if task.lower_is_better else (score > dummy)


def test_no_starter_without_a_single_target_in_train(tasks_dir: Path) -> None:
    task = load_task(tasks_dir / "penguins")
    assert starter_script(task.model_copy(update={"validation": "self_reported"})) == ""
    assert starter_script(task.model_copy(update={"target_columns": ("species", "island")})) == ""


def test_rmsle_predictions_stay_in_the_targets_range(tmp_path: Path) -> None:
    # a linear model fitted on the raw price predicts a negative price for six of ames-prices' test houses:
    # clipped at 0, those rows alone made the test RMSLE 1.003 (the dummy's is 0.416) while the dev split
    # scored 0.146. The starter fits log1p(price) and keeps predictions in the training range: 0.173.
    task_dir = prepare_task("ames-prices", tmp_path / "ames-prices")
    code = starter_script(load_task(task_dir))
    linear = code.replace('DummyRegressor(strategy="mean")', "LinearRegression()").replace(
        "import numpy as np\n", "import numpy as np\nfrom sklearn.linear_model import LinearRegression\n")
    score, normalized = _run(linear, task_dir, tmp_path / "linear")
    assert normalized is not None and normalized > 0.7, score  # a range clip alone: 0.506


def test_the_starter_scores_the_rows_it_was_fit_on_and_a_deep_tree_reads_as_overfit(tasks_dir: Path, tmp_path: Path) -> None:
    """The starter prints train_score beside validation_score: an unpruned tree scores 1.0 on rows it was fit
    on and far less on new rows (overfit); the prior placeholder scores the same on both (it fits, and more
    capacity is the way to go)."""
    task = load_task(tasks_dir / "lending-club")
    split = make_dev_split(task, tmp_path / "dev")
    code = starter_script(task)
    tree = code.replace('DummyClassifier(strategy="prior")', "DecisionTreeClassifier(random_state=0)").replace(
        "import numpy as np\n", "import numpy as np\nfrom sklearn.tree import DecisionTreeClassifier\n")
    verdicts = {}
    for name, script in [("tree", tree), ("dummy", code)]:
        report, _ = run_attempt(name, script, split.input_dir, tmp_path / name, lambda path: 0.0, LIMITS)
        assert report.status == "ok", report.stderr_tail
        evidence = submission_evidence(task, split, tmp_path / name / "submission.csv", {}, report.stdout_tail)
        assert evidence.fit_score == fit_score(report.stdout_tail) is not None and evidence.self_score is not None
        verdicts[name] = (evidence.fit_score, evidence.self_score, fit_capacity(evidence, task.lower_is_better))
    assert verdicts["tree"][0] == 1.0 and verdicts["tree"][1] < 0.7 and verdicts["tree"][2] == "less", verdicts
    assert verdicts["dummy"][2] == "more", verdicts
