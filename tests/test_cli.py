"""Bad input at the command line: one clear error line and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gome.cli import main
from gome.config import RunConfig
from gome.llm import ModelConfig
from gome.schema import RunFinished
from gome.tasks import prepare_task


@pytest.fixture()
def task(tmp_path: Path) -> Path:
    return prepare_task("penguins", tmp_path / "penguins")


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_missing_train_csv(task: Path, tmp_path: Path, capsys) -> None:
    (task / "prepared" / "public" / "train.csv").unlink()
    assert main(["run", str(task), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "train.csv" in _error(capsys)
    assert not (tmp_path / "runs").exists()  # nothing written half


def test_unknown_metric(task: Path, capsys) -> None:
    config = task / "config.yaml"
    config.write_text(config.read_text().replace("metric: accuracy", "metric: accuracyy"))
    assert main(["grade", str(task), str(task / "prepared" / "public" / "sample_submission.csv")]) == 2
    assert "accuracyy" in _error(capsys)


def test_submission_with_wrong_columns(task: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text((task / "prepared" / "public" / "sample_submission.csv").read_text().replace("species", "label", 1))
    assert main(["grade", str(task), str(bad)]) == 1
    out = capsys.readouterr().out
    assert '"valid_submission": false' in out and "species" in out


def test_unknown_bundled_task_and_bad_roles_dir(tmp_path: Path, task: Path, capsys) -> None:
    assert main(["tasks", "prepare", "nope", "--out", str(tmp_path)]) == 2
    assert "penguins" in _error(capsys)
    assert main(["run", str(task), "--roles", str(tmp_path / "missing"), "--runs-dir", str(tmp_path / "r")]) == 2
    assert "roles folder not found" in _error(capsys)


def test_task_folder_without_private_answers(task: Path, capsys) -> None:
    shutil.rmtree(task / "prepared" / "private")
    assert main(["grade", str(task), str(task / "prepared" / "public" / "sample_submission.csv")]) == 2
    assert "answers.csv" in _error(capsys)


def test_roles_list_show_export_and_use(tmp_path: Path, task: Path, capsys) -> None:
    assert main(["roles", "list"]) == 0
    assert "diagnostician" in capsys.readouterr().out
    assert main(["roles", "show", "coder"]) == 0
    assert "You are the Coder" in capsys.readouterr().out
    assert main(["roles", "export", str(tmp_path / "mine")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "coder.md", "diagnostician.md", "memory_keeper.md", "messages.yaml", "preamble.md"]
    (tmp_path / "mine" / "coder.md").write_text("{{ tusk }}\n<!-- user -->\n")
    assert main(["roles", "list", "--roles", str(tmp_path / "mine")]) == 2
    assert "coder.md: unknown variable(s) tusk" in _error(capsys)
    assert main(["roles", "export", str(tmp_path / "mine")]) == 2  # never overwrites edits
    assert "already exists" in _error(capsys)


def test_optimiser_flags_reach_the_run_config(task: Path) -> None:
    from gome.cli import _config, _parser
    from gome.config import ModelConfig

    args = _parser().parse_args(["run", str(task), "--noop-redos", "0", "--accept-z", "1.5"])
    config = _config(args, ModelConfig(), None)
    assert (config.noop_redos, config.accept_z) == (0, 1.5)
    assert _config(_parser().parse_args(["run", str(task)]), ModelConfig(), None).noop_redos == 1


@pytest.mark.parametrize("command", ["run", "bench"])
def test_bad_option_values_name_the_option_before_any_model_is_reached(command: str, task: Path, tmp_path: Path, capsys) -> None:
    unreachable = ["--model", "m", "--base-url", "http://127.0.0.1:9/v1"]  # checked after the options: its error would show
    where = ["--runs-dir", str(tmp_path / "runs")] if command == "run" else ["--out", str(tmp_path / "bench")]
    for option, value, said in [("--steps", "0", "--steps 0: input should be greater than or equal to 1"),
                                ("--exec-timeout", "-1", "--exec-timeout -1.0: input should be greater than 0")]:
        assert main([command, str(task), option, value, *unreachable, *where]) == 2
        assert _error(capsys) == f"gome: error: {said}\n"
    assert not (tmp_path / "runs").exists()


def test_resuming_a_finished_run_is_refused_before_the_endpoint_is_announced(task: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    config = RunConfig(task_dir=task, model=ModelConfig(model="m", base_url="http://127.0.0.1:9/v1"))
    (run / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
    finished = RunFinished(trace=0, step=0, best_attempt=None, best_score=None, grade=None, reason="steps spent")
    (run / "events.jsonl").write_text(finished.model_dump_json() + "\n")
    assert main(["resume", str(run)]) == 2
    assert _error(capsys) == f"gome: error: {run}: this run has already finished\n"  # the only line: no endpoint line before it
    (run / "events.jsonl").unlink()
    assert main(["resume", str(run)]) == 2
    assert "not a gome run folder" in _error(capsys)
