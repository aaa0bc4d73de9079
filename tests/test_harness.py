"""The harness runs generated code where it cannot reach the private answers or the dev answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gome.sandbox import SandboxLimits, isolation_layers
from gome.tasks import load_task, make_dev_split, prepare_task, score_dev
from gome.tools.harness import run_attempt

PROBE = '''import pathlib, os
for path in {paths!r}:
    try:
        pathlib.Path(path).read_text()
        print("READ", path)
    except OSError as exc:
        print("DENIED", path, type(exc).__name__)
hits = [p for p in pathlib.Path("/").glob("tmp/**/answers.csv")]
print("FOUND", len(hits))
import pandas as pd
test = pd.read_csv("input/test.csv")
pd.DataFrame({{"id": test["id"], "species": "Adelie"}}).to_csv("submission.csv", index=False)
'''


@pytest.mark.skipif("uid:nobody" not in isolation_layers(), reason="needs root and an interpreter nobody can run")
def test_script_cannot_read_private_or_dev_answers(tmp_path: Path) -> None:
    root = tmp_path / "world"
    root.mkdir()
    root.chmod(0o755)  # even a world-searchable task folder keeps private/ closed
    task = load_task(prepare_task("penguins", root / "penguins"))
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    split = make_dev_split(task, run_dir / "dev", seed=0)
    secrets = [str(task.answers_path), str(split.answers_path)]
    code = PROBE.format(paths=secrets)
    report, result = run_attempt("0-001", code, split.input_dir, run_dir / "out", lambda p: score_dev(task, split, p),
                                 SandboxLimits(timeout_s=60))
    assert report.status == "ok", report.error
    assert "READ" not in result.stdout
    assert result.stdout.count("DENIED") == 2 and "FOUND 0" in result.stdout
    assert report.score is not None and 0 < report.score < 1  # the harness, not the script, scored it


def test_crash_hints_name_the_right_import() -> None:
    from gome.tools.hints import crash_hint

    hint = crash_hint("ImportError: cannot import name 'SimpleImputer' from 'sklearn.preprocessing' (/x.py)")
    assert "from sklearn.impute import SimpleImputer" in hint
    assert "not installed" in crash_hint("ModuleNotFoundError: No module named 'catboost'")
    assert crash_hint("ValueError: could not convert string to float: 'Biscoe'") == ""
    # a benchmark's debug rounds crashed twice on this: the hint lists the arguments the class takes
    hint = crash_hint("TypeError: HistGradientBoostingClassifier.__init__() got an unexpected keyword argument 'n_estimators'")
    assert hint.startswith("hint: HistGradientBoostingClassifier takes no argument n_estimators; its arguments are loss,")
    assert "max_iter" in hint and crash_hint("TypeError: Mine.__init__() got an unexpected keyword argument 'x'") == ""


def test_fix_imports_moves_names_to_their_module() -> None:
    from gome.tools.hints import fix_imports

    code = "from sklearn.preprocessing import SimpleImputer, OneHotEncoder\nfrom sklearn.compose import ColumnTransformer\n"
    fixed, notes = fix_imports(code)
    assert fixed.splitlines() == ["from sklearn.preprocessing import OneHotEncoder",
                                  "from sklearn.impute import SimpleImputer",
                                  "from sklearn.compose import ColumnTransformer"]
    assert notes == ["SimpleImputer is imported from sklearn.impute, not sklearn.preprocessing"]
    assert fix_imports("from mylib import Thing\n") == ("from mylib import Thing\n", [])



def test_fix_imports_turns_a_package_alias_imported_from_its_package_into_the_package() -> None:
    """A diamonds-cut debug chain kept `from lightgbm import lgb` through both rounds."""
    from gome.tools.hints import fix_imports

    fixed, notes = fix_imports("from lightgbm import lgb\nfrom numpy import np, mean\n")
    assert fixed.splitlines() == ["import lightgbm as lgb", "from numpy import mean", "import numpy as np"]
    assert notes[0] == "lgb is the package lightgbm itself: import lightgbm as lgb"


def test_fix_imports_finds_model_classes_in_other_packages_or_a_stand_in() -> None:
    """Seen in benchmark runs: a debug round kept `from sklearn.ensemble import ... XGBRegressor, LightGBMRegressor`
    twice, and `from lightgbm import HistGradientBoostingClassifier` crashed four attempts."""
    import importlib.util

    from gome.tools.hints import fix_imports

    fixed, notes = fix_imports("from lightgbm import HistGradientBoostingClassifier\n")
    assert fixed == "from sklearn.ensemble import HistGradientBoostingClassifier"
    assert notes == ["HistGradientBoostingClassifier is imported from sklearn.ensemble, not lightgbm"]
    if importlib.util.find_spec("lightgbm") is None or importlib.util.find_spec("xgboost") is not None:
        pytest.skip("the stand-in is for a machine with lightgbm and without xgboost")
    fixed, notes = fix_imports("from sklearn.ensemble import RandomForestRegressor, XGBRegressor, LightGBMRegressor\n")
    assert fixed.splitlines() == ["from sklearn.ensemble import RandomForestRegressor",
                                  "from lightgbm import LGBMRegressor as XGBRegressor",
                                  "from lightgbm import LGBMRegressor as LightGBMRegressor"]
    assert notes[0] == "XGBRegressor is not installed: lightgbm's LGBMRegressor stands in for it"
    namespace: dict = {}
    exec(fixed, namespace)  # the rewritten imports import
    assert namespace["XGBRegressor"].__name__ == "LGBMRegressor"


def test_a_forgotten_import_of_a_model_class_is_added_and_the_script_runs(tmp_path: Path) -> None:
    """The ensemble-stage draft of a benchmark run crashed on NameError: RandomForestClassifier."""
    import subprocess
    import sys

    from gome.tools.hints import add_missing_imports

    code = ('from __future__ import annotations\nimport pandas as pd\n\n\ndef make_model(n: int):\n'
            '    return RandomForestClassifier(n_estimators=n, random_state=0)\n\n'
            'print(type(make_model(3)).__name__, np.zeros(2).sum(), pd.__name__)\n')
    fixed, notes = add_missing_imports(code)
    assert notes == ["added the missing import: from sklearn.ensemble import RandomForestClassifier",
                     "added the missing import: import numpy as np"]
    assert fixed.splitlines()[0] == "from __future__ import annotations"  # still first
    (tmp_path / "s.py").write_text(fixed)
    out = subprocess.run([sys.executable, str(tmp_path / "s.py")], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["RandomForestClassifier", "0.0", "pandas"]
    local = "def f(x):\n    Model = dict\n    return Model(a=x), [Z for Z in range(2)]\n"
    assert add_missing_imports(local) == (local, [])  # names it binds itself, builtins: nothing added
    assert add_missing_imports("def broken(:\n") == ("def broken(:\n", [])


def test_self_reported_task_uses_the_printed_score(tmp_path: Path) -> None:
    import asyncio
    import json

    import scripted_model as sm

    from gome.config import RunConfig
    from gome.events import read_events
    from gome.llm import ScriptedChatCompletionClient
    from gome.runner import run
    from gome.schema import ExecutionDone

    task = prepare_task("penguins", tmp_path / "penguins")
    config_file = task / "config.yaml"
    config_file.write_text(config_file.read_text() + "validation: self_reported\n")

    def reply(texts: list[str]) -> str:
        if sm.agent_of(texts) == "coder":
            return sm._fence(sm.IMPROVED_FOREST + 'print("validation_score: 0.9731")\n')
        return sm.policy(texts)

    client = ScriptedChatCompletionClient(lambda messages: reply([str(m.content) for m in messages]))
    result = asyncio.run(run(RunConfig(task_dir=task, runs_dir=tmp_path / "runs", steps=2, final_seeds=2,
                                       exec_timeout_s=120), client=client))
    reports = [e.report for e in read_events(result.run_dir / "events.jsonl") if isinstance(e, ExecutionDone)]
    assert [(r.score, r.score_source) for r in reports] == [(0.9731, "self-reported")] * 2
    assert not (result.run_dir / "dev").exists()  # no harness split for this task
    assert json.loads((result.run_dir / "best" / "grade.json").read_text())["valid_submission"]


def test_crash_hint_for_dropping_the_target_from_test() -> None:
    from gome.tools.hints import crash_hint

    hint = crash_hint('KeyError: "[\'species\'] not found in axis"')
    assert "no column 'species'" in hint and "drop the target from train only" in hint
