"""Every result tied to the configuration that produced it: effective configurations, resume that
compares them, superseded results, forced reruns, failures and validation before the first fit."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.loading import load_runs
from benchmark.cli import main
from benchmark.commands.results_table import compare_table
from benchmark.core import methods
from benchmark.core.methods import FitInfo, MethodEntry, Predictions, register_method
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.effective import config_hash, planned_config
from benchmark.harness.execute import execute_run
from benchmark.harness.runner import run_suite
from benchmark.harness.store import ResultStore

REPO = Path(__file__).resolve().parent.parent


class _Shifted:
    """Predicts class `offset` for every row: its accuracy tells which default it ran with."""

    name = "shifted"

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def fit(self, data):  # noqa: ANN001, ANN201
        return FitInfo()

    def predict(self, X):  # noqa: ANN001, ANN201
        return Predictions(y_pred=np.full(len(X), self.offset, dtype=int))


_flaky = {"fail": False}


class _Flaky:
    name = "flaky"

    def fit(self, data):  # noqa: ANN001, ANN201
        if _flaky["fail"]:
            raise RuntimeError("flaky learner failed this time")
        return FitInfo()

    def predict(self, X):  # noqa: ANN001, ANN201
        return Predictions(y_pred=np.zeros(len(X), dtype=int))


register_method(
    MethodEntry(
        "test-shifted",
        lambda kind, seed, offset: _Shifted(offset),
        ("classification",),
        defaults={"offset": 0},
    )
)
register_method(MethodEntry("test-flaky", lambda **_: _Flaky(), ("classification",)))


def _moons(method: str, split_seed: int = 0, **fields) -> RunSpec:
    return RunSpec(task="moons", task_params={"n": 90}, method=method, split_seed=split_seed, **fields)


def test_a_stored_run_holds_the_configuration_resume_computes() -> None:
    spec = _moons("logreg", train_size=20)
    record = execute_run(spec).record
    config = record.config
    assert config["method_params"]["grid"] == {"C": [1, 10, 100]}  # the registered default, spelled out
    assert config["method_params"]["estimator"] == "LogisticRegression"
    assert config["task_params"] == {
        "n": 90,
        "noise": pytest.approx(config["task_params"]["noise"]),
        "seed": 0,
    }
    assert config["data_checksum"] == record.provenance["data_checksum"]
    assert config["split_hash"] == record.provenance["split_hash"] and config["train_size"] == 20
    assert record.config_hash == config_hash(planned_config(spec)) == config_hash(config)
    executed = record.provenance["executed_by"]
    assert executed["pid"] == os.getpid() and executed["host"]


@pytest.fixture
def shifted_default() -> Iterator[Callable[[int], None]]:
    """Re-register `test-shifted` with another default offset, as a code change would; restored after."""
    original = methods.get_method("test-shifted")

    def change(offset: int) -> None:
        methods.METHODS.unregister("test-shifted")
        register_method(dataclasses.replace(original, defaults={"offset": offset}))

    yield change
    methods.METHODS.unregister("test-shifted")
    register_method(original)


def test_a_changed_method_default_redoes_the_run_and_tables_keep_the_two_apart(
    tmp_path: Path, shifted_default: Callable[[int], None]
) -> None:
    store = ResultStore(tmp_path / "store.sqlite")
    runs = check_runs([_moons("test-shifted", split_seed=s) for s in (0, 1)])
    first = run_suite(runs, store)
    assert len(first.done) == 2 and first.redone == 0
    before = store.runs().set_index("run_hash")["metric.accuracy"]

    shifted_default(1)
    second = run_suite(runs, store)
    assert second.skipped == 0 and second.redone == 2 and all(r.ok for r in second.done)
    after = store.runs().set_index("run_hash")["metric.accuracy"]
    assert list(after.index) == list(before.index)  # the same run hashes, now the new results
    assert np.allclose(before + after, 1.0)  # balanced moons: class 0 and class 1 each score the rest
    for spec in runs:
        (old,) = store.superseded(spec.hash)
        assert old.config["method_params"] == {"offset": 0}
        assert store.get_run(spec.hash).config["method_params"] == {"offset": 1}
    table = compare_table(store, "accuracy")
    (cell,) = table.to_numpy().ravel()
    assert cell.startswith(f"{after.mean():.4f}") and "(n=2; split 0-1; seed 0)" in cell
    loaded = load_runs(store)
    assert sorted(loaded["metric.accuracy"]) == sorted(after)

    third = run_suite(runs, store)
    assert third.skipped == 2 and not third.done


def test_force_keeps_the_stored_result_until_a_rerun_succeeds(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store.sqlite")
    spec = _moons("test-flaky")
    _flaky["fail"] = False
    run_suite([spec], store)
    stored = store.get_run(spec.hash)
    _flaky["fail"] = True
    try:
        forced = run_suite([spec], store, force=True)
    finally:
        _flaky["fail"] = False
    assert len(forced.failed) == 1 and forced.kept == 1
    kept = store.get_run(spec.hash)
    assert kept.status == "ok" and kept.created_at == stored.created_at
    again = run_suite([spec], store, force=True)
    assert again.done[0].ok and store.get_run(spec.hash).created_at != stored.created_at


def _suite_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_failed_runs_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = _suite_file(
        tmp_path,
        """\
        name: failing
        grid:
          tasks: [{name: moons, params: {n: 90}}]
          methods: [test-flaky, majority]
        """,
    )
    args = ["run", "--suite", str(suite), "--store", str(tmp_path / "s.sqlite"), "--wandb", "disabled"]
    _flaky["fail"] = True
    try:
        assert main(args) == 1
    finally:
        _flaky["fail"] = False
    assert "1 failed" in capsys.readouterr().out
    assert main(args) == 0  # the failed run is retried, the ok one skipped


def test_a_bad_parameter_in_the_last_run_fails_before_the_first_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = _suite_file(
        tmp_path,
        """\
        name: late-mistake
        blocks:
          - tasks: [iris]
            methods: [logreg, tree]
          - tasks: [iris]
            methods: [{name: lift, params: {model: tiny-gpt2, lr: -1}}]
        """,
    )
    store = tmp_path / "s.sqlite"
    assert main(["run", "--suite", str(suite), "--store", str(store), "--wandb", "disabled"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lr=-1" in err and "iris/lift" in err
    assert not store.exists() or ResultStore(store).runs().empty


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_edited_data_file_is_run_again(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    data["label"] = np.where(data["a"] > 0, "yes", "no")
    csv = tmp_path / "mine.csv"
    data.to_csv(csv, index=False)
    suite = _suite_file(
        tmp_path,
        f"""\
        name: my-file
        grid:
          tasks: [{{name: file, params: {{path: {csv}, target: label}}}}]
          methods: [logreg]
        """,
    )
    args = ("run", "--suite", str(suite), "--store", str(tmp_path / "s.sqlite"))
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    assert _cli(*args).stdout.count("0 runs done") == 1

    data.loc[:20, "label"] = "no"  # the same path, other contents
    data.to_csv(csv, index=False)
    edited = _cli(*args)
    assert edited.returncode == 0, edited.stderr
    assert "1 runs done (0 failed), 0 were already stored" in edited.stdout
    assert "1 redone because their stored configuration differs" in edited.stdout
    store = ResultStore(tmp_path / "s.sqlite")
    (current,) = store.runs()["run_hash"]
    (old,) = store.superseded(current)
    assert old.config["data_checksum"] != store.get_run(current).config["data_checksum"]
    assert list(compare_table(store, "accuracy").index) == ["mine"]  # the file's stem; one current cell


CLASSIFIERS = ("majority", "logreg", "knn", "tree", "svm", "mlp", "rf", "xgboost")
REGRESSORS = ("mean", "poly", "knn", "krr", "mlp", "gbt", "rf", "xgboost", "gp")


@pytest.mark.parametrize(
    "spec",
    [_moons(method, train_size=40) for method in CLASSIFIERS]
    + [RunSpec(task="linear", task_params={"p": 1, "n_train": 60}, method=method) for method in REGRESSORS]
    + [
        _moons(
            "lift",
            method_params={"model": "tiny-gpt2", "epochs": 1, "enable_progress_bar": False},
            train_size=24,
        )
    ],
    ids=lambda spec: spec.label().split()[0],
)
def test_the_same_spec_twice_gives_identical_metrics_and_predictions(spec: RunSpec) -> None:
    first, second = execute_run(spec), execute_run(spec)
    assert first.ok and second.ok, (first.record.error, second.record.error)
    np.testing.assert_equal(first.record.metrics, second.record.metrics)
    pd.testing.assert_frame_equal(first.predictions, second.predictions)
    assert first.record.config == second.record.config
    assert first.record.config_hash == config_hash(planned_config(spec))


@pytest.mark.parametrize(
    "spec",
    [
        _moons("logreg", perturbation={"name": "label-corruption", "params": {"fraction": 0.2}}),
        _moons("tree", evaluations=["grid"], train_size=30),
        _moons("knn", perturbation={"name": "adversarial", "params": {"epsilon": 0.3}}),
    ],
    ids=["label-corruption", "grid", "adversarial"],
)
def test_resume_computes_the_stored_configuration_of_perturbed_and_evaluated_runs(spec: RunSpec) -> None:
    """Resume computes the configuration from the clean rows (no perturbing), and gets what was stored."""
    stored = execute_run(spec).record
    assert stored.status == "ok", stored.error
    assert config_hash(planned_config(spec)) == stored.config_hash
    assert stored.config["perturbation"] == (
        None if spec.perturbation is None else spec.perturbation.to_json()
    )
