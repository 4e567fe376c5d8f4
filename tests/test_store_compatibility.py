"""A store written by liftbench before the restructure (commit 3a5a9a7, `liftbench run --suite smoke`)
still opens, reads, reports and resumes with today's code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.loading import load_runs
from benchmark.cli import cli
from benchmark.harness.store import ResultStore

OLD_STORE = Path(__file__).parent / "data" / "store-3a5a9a7.sqlite"
OLD_RUNS = 6  # logreg, majority and tree on iris and moons, split seed 0


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_STORE, path)
    return path


def test_an_old_store_opens_and_reads(old_store: Path) -> None:
    store = ResultStore(old_store)
    runs = store.runs(status="ok")
    assert len(runs) == OLD_RUNS
    assert set(runs["method"]) == {"logreg", "majority", "tree"} and set(runs["task"]) == {"iris", "moons"}
    for run_hash in runs["run_hash"]:
        predictions = store.predictions(run_hash, split="test")
        assert len(predictions) > 0 and predictions["y_true"].notna().all()
    frame = load_runs(store)
    assert len(frame) == OLD_RUNS
    iris_logreg = frame[(frame["task"] == "iris") & (frame["method"] == "logreg")]
    assert float(iris_logreg["metric.accuracy"].iloc[0]) == pytest.approx(0.9667, abs=1e-4)


def test_an_old_store_lists_and_reports_through_the_cli(old_store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["results", "list", "--store", str(old_store)])
    assert result.exit_code == 0, result.output
    assert result.output.count("iris") >= 3 and result.output.count("moons") >= 3
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", "--store", str(old_store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").is_file()


def test_an_old_store_compares_by_auc_from_its_stored_probabilities(old_store: Path) -> None:
    """Its runs were stored before AUC was a metric; `results compare --metric auc` computes it."""
    result = CliRunner().invoke(cli, ["results", "compare", "--metric", "auc", "--store", str(old_store)])
    assert result.exit_code == 0, result.output
    assert "test auc" in result.output
    rows = {
        line.split()[0]: re.findall(r"(\d\.\d{4})(?:±\S+)? \(n=", line)
        for line in result.output.splitlines()[3:]
        if line.strip()
    }
    assert set(rows) == {"iris", "moons(n=200)"}
    for values in rows.values():  # logreg, majority, tree: the majority's constant scores give 0.5
        assert len(values) == 3 and float(values[1]) == 0.5
        assert all(0.5 <= float(value) <= 1.0 for value in values)


def test_an_old_store_resumes_by_redoing_its_runs_once_and_keeping_them_superseded(old_store: Path) -> None:
    """Its runs have no effective configuration to compare, so the smoke suite redoes them once."""
    args = ["run", "--suite", "smoke", "--store", str(old_store), "--wandb", "disabled"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"{OLD_RUNS} redone because their stored configuration differs" in result.output
    store = ResultStore(old_store)
    assert len(store.runs()) == OLD_RUNS and store.runs()["config_hash"].notna().all()
    assert store.runs(include_superseded=True)["superseded_by"].notna().sum() == OLD_RUNS
    again = CliRunner().invoke(cli, args)
    assert f"0 runs done (0 failed), {OLD_RUNS} were already stored" in again.output
