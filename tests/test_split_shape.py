"""A dev split shaped like the test split: forecasts (time column) and repeated entities (group column),
detected at `tasks adopt` / `tasks new` time from bundled data, recorded in the config, used by the harness."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from gome.cli import main
from gome.tasks import TaskError, load_task, make_dev_split, new_task, prepare_task
from gome.tasks.devsplit import folds_possible
from gome.tasks.shape import split_shape
from test_mlebench import _kaggle_board


@pytest.fixture(scope="module")
def electricity(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """vic-electricity's rows (a forecast: its test rows are November and December), labels joined back."""
    task = load_task(prepare_task("vic-electricity", tmp_path_factory.mktemp("t") / "vic"))
    test = pd.read_csv(task.public_dir / "test.csv").merge(pd.read_csv(task.answers_path), on="id")
    return pd.read_csv(task.public_dir / "train.csv"), test


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    task = load_task(prepare_task("penguins", tmp_path_factory.mktemp("p") / "penguins"))
    test = pd.read_csv(task.public_dir / "test.csv").merge(pd.read_csv(task.answers_path), on="id")
    return pd.concat([pd.read_csv(task.public_dir / "train.csv"), test], ignore_index=True)


def _as_mlebench(root: Path, cid: str, train: pd.DataFrame, test: pd.DataFrame, target: str, grader: str) -> Path:
    """`root/data/<cid>` as mlebench prepares it, with a registry folder; no time column is configured."""
    public, private = root / "data" / cid / "prepared" / "public", root / "data" / cid / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=target).to_csv(public / "test.csv", index=False)
    test[["id"]].assign(**{target: train[target].iloc[0]}).to_csv(public / "sample_submission.csv", index=False)
    test.to_csv(private / "test.csv", index=False)
    (public / "description.md").write_text(f"# {cid}\n")
    registry = root / "registry" / cid
    registry.mkdir(parents=True)
    (registry / "config.yaml").write_text(yaml.safe_dump({
        "id": cid, "name": cid, "dataset": {"answers": f"{cid}/prepared/private/test.csv",
                                            "sample_submission": f"{cid}/prepared/public/sample_submission.csv"},
        "grader": {"name": grader, "grade_fn": f"mlebench.competitions.{cid}.grade:grade"}}))
    _kaggle_board(registry / "leaderboard.csv", pd.Series(range(30)).to_numpy() / 10)
    return root / "data" / cid


def _times(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["time"])


def test_adopted_forecast_holds_out_the_latest_rows(electricity, tmp_path: Path, capsys) -> None:
    train, test = electricity
    comp = _as_mlebench(tmp_path, "elec", train, test, "Demand", "root-mean-squared-error")
    out = tmp_path / "tasks" / "elec"
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "registry"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dev split: the latest rows of train by `time` (a forecast: every test row (2014-11-01 00:00 on)" in printed
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["time_column"] == "time" and config["split_note"] in printed
    split = make_dev_split(load_task(out), tmp_path / "dev", seed=1)
    dev_train, dev_test = pd.read_csv(split.input_dir / "train.csv"), pd.read_csv(split.input_dir / "test.csv")
    assert _times(dev_test).min() > _times(dev_train).max()  # every dev row lies after the dev train rows
    assert len(dev_test) == split.n_test > 0


def test_time_column_can_be_switched_off(electricity, tmp_path: Path, capsys) -> None:
    train, test = electricity
    comp = _as_mlebench(tmp_path, "elec", train, test, "Demand", "root-mean-squared-error")
    out = tmp_path / "tasks" / "elec"
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "registry"), "--out", str(out),
                 "--time-column", "none"]) == 0
    assert "a random share of train" in capsys.readouterr().out
    task = load_task(out)
    assert task.time_column == "" and "time_column" not in yaml.safe_load((out / "config.yaml").read_text())
    split = make_dev_split(task, tmp_path / "dev", seed=1)
    dev_test = pd.read_csv(split.input_dir / "test.csv")
    assert _times(dev_test).min() < _times(pd.read_csv(split.input_dir / "train.csv")).max()


def test_tasks_new_detects_a_forecast(electricity, tmp_path: Path) -> None:
    train, test = electricity
    train.drop(columns="id").to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns="id").to_csv(tmp_path / "test.csv", index=False)
    root = new_task(tmp_path / "train.csv", "Demand", "rmse", tmp_path / "elec", test_path=tmp_path / "test.csv",
                    ladder=False)
    task = load_task(root)
    assert task.time_column == "time" and "a forecast" in task.split_note
    split = make_dev_split(task, tmp_path / "dev")
    assert _times(pd.read_csv(split.input_dir / "test.csv")).min() > _times(pd.read_csv(split.input_dir / "train.csv")).max()


def test_tasks_new_makes_its_own_test_split_by_time(electricity, tmp_path: Path, capsys) -> None:
    """No labelled test file: with --time-column, gome's own test rows are the latest too."""
    train, _ = electricity
    train.drop(columns="id").to_csv(tmp_path / "train.csv", index=False)
    assert main(["tasks", "new", "--train", str(tmp_path / "train.csv"), "--target", "Demand", "--metric", "rmse",
                 "--out", str(tmp_path / "elec"), "--no-ladder", "--time-column", "time"]) == 0
    assert "by `time` (a forecast: set by option)" in capsys.readouterr().out
    task = load_task(tmp_path / "elec")
    test = pd.read_csv(task.public_dir / "test.csv")
    assert _times(test).min() > _times(pd.read_csv(task.public_dir / "train.csv")).max()
    assert "latest 20% of your training rows by `time`" in task.description


def test_repeated_entities_give_a_group_split(penguins, tmp_path: Path, capsys) -> None:
    """Test rows from an island the training rows never saw: the dev split holds out whole islands."""
    frame = penguins[["id", "island", "bill_length_mm", "flipper_length_mm", "body_mass_g", "species"]].dropna()
    test, train = frame[frame["island"] == "Torgersen"], frame[frame["island"] != "Torgersen"]
    comp = _as_mlebench(tmp_path, "isles", train, test, "species", "accuracy")
    out = tmp_path / "tasks" / "isles"
    assert main(["tasks", "adopt", str(comp), "--registry", str(tmp_path / "registry"), "--out", str(out)]) == 0
    assert "dev split: whole groups of `island` held out" in capsys.readouterr().out
    task = load_task(out)
    assert task.group_column == "island" and task.time_column == ""
    split = make_dev_split(task, tmp_path / "dev", seed=0)
    dev_train, dev_test = pd.read_csv(split.input_dir / "train.csv"), pd.read_csv(split.input_dir / "test.csv")
    assert set(dev_train["island"]).isdisjoint(dev_test["island"]) and len(dev_test) > 0


def test_no_shape_on_a_random_split(penguins) -> None:
    shuffled = penguins.sample(frac=1.0, random_state=0)
    shape = split_shape(shuffled.iloc[:250], shuffled.iloc[250:], ("id", "species"))
    assert (shape.time_column, shape.group_column) == ("", "") and "random share" in shape.note


def test_extra_folds_hold_out_disjoint_rows_like_the_dev_split(tmp_path: Path, electricity) -> None:
    """The extra dev folds (gome.tools.folds) hold out as many rows as the dev split, disjoint from it and from each
    other, stratified on the label like it; a time-ordered split has none, and folds that do not fit are refused."""
    task = load_task(prepare_task("penguins", tmp_path / "penguins"))
    splits = [make_dev_split(task, tmp_path / f"fold{k}", seed=3, fold=k) for k in range(3)]
    train = pd.read_csv(task.public_dir / "train.csv")
    held = [set(pd.read_csv(s.answers_path)["id"]) for s in splits]
    assert all(a.isdisjoint(b) for i, a in enumerate(held) for b in held[i + 1:])
    assert len({len(h) for h in held}) == 1 and all(s.stratified and s.fold == k for k, s in enumerate(splits))
    for split, ids in zip(splits, held):
        fit = set(pd.read_csv(split.input_dir / "train.csv")["id"])
        assert fit.isdisjoint(ids) and fit | ids == set(train["id"])
        shares = pd.read_csv(split.answers_path)["species"].value_counts(normalize=True)
        assert (shares - train["species"].value_counts(normalize=True)).abs().max() < 0.03
    assert make_dev_split(task, tmp_path / "again", seed=3, fold=2).n_test == splits[2].n_test
    assert set(pd.read_csv(tmp_path / "again" / "answers.csv")["id"]) == held[2]  # the same rows again
    assert folds_possible(task, 0.2, 4) and not folds_possible(task, 0.4, 2)
    last = make_dev_split(task, tmp_path / "last", seed=3, holdout=0.25, fold=3)  # four folds cover train.csv
    assert 0 < last.n_test <= splits[0].n_test * 1.25 + 1 and last.n_train + last.n_test == len(train)
    with pytest.raises(TaskError, match="no dev fold 2: 3 folds of 0.4 of train.csv do not fit"):
        make_dev_split(task, tmp_path / "no", holdout=0.4, fold=2)
    train, test = electricity
    train.drop(columns="id").to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns="id").to_csv(tmp_path / "test.csv", index=False)
    forecast = load_task(new_task(tmp_path / "train.csv", "Demand", "rmse", tmp_path / "elec",
                                  test_path=tmp_path / "test.csv", ladder=False))
    assert not folds_possible(forecast, 0.2, 1)
