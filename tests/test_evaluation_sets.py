"""Evaluation sets: grids and lines with the right shape, range and truth, predicted and stored by runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from benchmark.core.rows import task_params_for
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.execute import execute_run
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError
from tasks.evaluation_sets import EVALUATION_SETS, evaluation_rows, make_evaluation_set
from tasks.registry import load_task
from tasks.splits import make_split
from tasks.synthetic_classification import make_nn_teacher
from tasks.synthetic_regression import REGRESSION_FUNCTIONS


def test_registry_and_param_errors() -> None:
    assert {"grid", "line"} <= set(EVALUATION_SETS)
    with pytest.raises(LiftbenchError, match="unknown evaluation set 'gird' \\(did you mean: grid"):
        make_evaluation_set("gird")
    with pytest.raises(LiftbenchError, match="'resolution': 1 is invalid; it must be an integer >= 2"):
        make_evaluation_set("grid", {"resolution": 1})
    with pytest.raises(LiftbenchError, match="has no parameter 'points' \\(did you mean: n_points"):
        make_evaluation_set("line", {"points": 10})


def test_grid_covers_the_padded_training_range_of_each_feature() -> None:
    data = load_task("blobs", n=300, centers=3, seed=4)
    split = make_split(data, seed=1)
    rows = evaluation_rows("grid", data, split, resolution=30)
    assert rows.X.shape == (900, 2) and list(rows.X.columns) == ["x1", "x2"]
    assert np.isnan(rows.y_true).all()  # blobs has no known labelling rule
    train = data.X.iloc[split.train].to_numpy()
    low, high = train.min(axis=0), train.max(axis=0)
    pad = 0.1 * (high - low)
    for j, column in enumerate(["x1", "x2"]):  # each axis its own range (the paper used x1's for both)
        axis = np.unique(rows.X[column])
        assert axis.size == 30
        assert axis[0] == pytest.approx(low[j] - pad[j]) and axis[-1] == pytest.approx(high[j] + pad[j])
        assert rows.meta["axes"][column] == pytest.approx([low[j] - pad[j], high[j] + pad[j]])
    grid = rows.X.to_numpy().reshape(30, 30, 2)  # "ij": the second feature runs fastest
    assert (grid[:, 0, 0] == np.unique(rows.X["x1"])).all() and (
        grid[0, :, 1] == np.unique(rows.X["x2"])
    ).all()
    assert rows.meta["shape"] == [30, 30] and rows.meta["indexing"] == "ij" and rows.meta["truth"] is None
    again = evaluation_rows("grid", data, split, resolution=30)
    assert again.X.equals(rows.X) and again.meta == rows.meta


def test_grid_truth_is_the_teachers_label() -> None:
    data = load_task("nn-teacher", n=400, difficulty=2, seed=3)
    split = make_split(data, seed=0)
    rows = evaluation_rows("grid", data, split)
    assert len(rows.X) == 60 * 60 and rows.meta["truth"] == "teacher"
    teacher = make_nn_teacher(2, 2, 2, 3)
    np.testing.assert_array_equal(rows.y_true, teacher.predict(rows.X.to_numpy()))
    # The truth agrees with the task's own labels: neighbours of the data predict it well.
    knn = KNeighborsClassifier(5).fit(data.X, data.y)
    inside = (np.abs(rows.X.to_numpy()) <= 6).all(axis=1)
    assert (knn.predict(rows.X[inside]) == rows.y_true[inside]).mean() > 0.9


def test_grid_truth_of_a_2d_regression_function_and_integer_coordinates() -> None:
    data = load_task("linear", p=2, beta=2.0, n_train=80, seed=1)
    rows = evaluation_rows("grid", data, make_split(data), resolution=10)
    np.testing.assert_allclose(rows.y_true, 2.0 * rows.X.to_numpy().mean(axis=1))
    assert rows.meta["truth"] == "function"
    integers = load_task("cosine", p=2, integer=True, n_train=80, seed=1)
    rows = evaluation_rows("grid", integers, make_split(integers), resolution=10)
    assert (rows.X.dtypes == np.int64).all()
    np.testing.assert_allclose(rows.y_true, REGRESSION_FUNCTIONS["cosine"](rows.X.to_numpy()))


def test_line_is_the_papers_extrapolation_grid() -> None:
    data = load_task("quadratic", n_train=50, seed=2)
    rows = evaluation_rows("line", data, make_split(data))
    points = rows.X["x1"].to_numpy()
    assert points.size == 200 and points[0] == -20.0 and points[-1] == 20.0
    np.testing.assert_allclose(rows.y_true, (points**2 - 50) * 9 / 50)
    assert rows.meta["range"] == [-20.0, 20.0] and rows.meta["task_range"] == [-10.0, 10.0]


@pytest.mark.parametrize(
    ("name", "task", "params", "message"),
    [
        ("grid", "blobs", {"dims": 3}, "exactly 2 numeric features; task 'blobs' has 3"),
        ("grid", "linear", {}, "exactly 2 numeric features; task 'linear' has 1"),
        ("line", "moons", {}, "needs a synthetic regression task"),
        ("line", "rolling", {}, "needs a synthetic regression task"),
        ("line", "linear", {"p": 2}, "needs a task with 1 feature; task 'linear' has 2"),
    ],
)
def test_sets_refuse_tasks_they_are_not_defined_for(name: str, task: str, params: dict, message: str) -> None:
    data = load_task(task, **params)
    with pytest.raises(LiftbenchError) as err:
        make_evaluation_set(name).check(data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_run_stores_grid_predictions_and_reads_them_back(tmp_path: Path) -> None:
    noisy = RunSpec(
        task="moons",
        task_params={"n": 200},
        method="logreg",
        perturbation={"name": "feature-noise", "params": {"kind": "gaussian", "scale": 0.5}},
        evaluations=("grid",),
    )
    clean = RunSpec(task="moons", task_params={"n": 200}, method="logreg", evaluations=("grid",))
    assert check_runs([noisy, clean]) == [noisy, clean]
    store = ResultStore(tmp_path / "store.sqlite")
    results = [execute_run(spec) for spec in (noisy, clean)]
    for result in results:
        store.write_run(result.record, result.predictions)
    record = store.get_run(noisy.hash)
    assert record.spec["evaluations"] == [{"name": "grid", "params": {}}]
    meta = record.provenance["evaluations"]["grid"]
    assert meta["shape"] == [60, 60] and meta["rows"] == 3600 and meta["predict_seconds"] >= 0
    assert record.provenance["perturbation"]["report"]["rows"] == record.provenance["split_sizes"]["test"]

    grid = store.predictions(noisy.hash, split="eval:grid")
    assert list(grid["row_index"]) == list(range(3600))
    assert grid["y_true"].isna().all() and set(grid["y_pred"]) == {0, 1}
    test = store.predictions(noisy.hash, split="test")
    assert len(test) == record.provenance["split_sizes"]["test"] and test["y_true"].dtype == np.int64
    assert len(store.predictions(noisy.hash)) == len(test) + 3600

    # The rows are rebuilt from the task alone: the fitted model's boundary splits the moons.
    data = load_task("moons", **task_params_for(noisy))
    rows = evaluation_rows("grid", data, make_split(data, seed=0))
    share = grid["y_pred"].mean()
    assert 0.2 < share < 0.8
    assert rows.meta["axes"] == meta["axes"]
    # Test-row noise cannot change the fit, so the clean run predicts the same grid.
    clean_grid = store.predictions(clean.hash, split="eval:grid")
    np.testing.assert_array_equal(clean_grid["y_pred"], grid["y_pred"])
    assert "perturbation" not in store.get_run(clean.hash).provenance


def test_regression_run_with_outliers_predicts_the_line(tmp_path: Path) -> None:
    spec = RunSpec(
        task="linear",
        task_params={"n_train": 60, "n_val": 20, "n_test": 20},
        method="knn",
        perturbation={"name": "outliers", "params": {"fraction": 0.1}},
        evaluations=({"name": "line", "params": {"n_points": 50}},),
    )
    check_runs([spec])
    store = ResultStore(tmp_path / "store.sqlite")
    result = execute_run(spec)
    store.write_run(result.record, result.predictions)
    line = store.predictions(spec.hash, split="eval:line")
    assert len(line) == 50
    points = np.linspace(-20, 20, 50)
    np.testing.assert_allclose(line["y_true"], 0.9 * points)
    # k nearest neighbours cannot extrapolate: flat beyond the training range.
    assert np.ptp(line["y_pred"].to_numpy()[:5]) < 1e-9 and np.ptp(line["y_pred"].to_numpy()[-5:]) < 1e-9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RunSpec(task="iris", method="logreg", evaluations=("grid",)), "exactly 2 numeric features"),
        (RunSpec(task="moons", method="logreg", evaluations=("line",)), "needs a synthetic regression task"),
        (RunSpec(task="moons", method="logreg", evaluations=("gird",)), "did you mean: grid"),
        (
            RunSpec(task="moons", method="logreg", perturbation="irrelevant-features", evaluations=("grid",)),
            "changes the feature columns",
        ),
    ],
)
def test_check_runs_refuses_bad_evaluations_up_front(spec: RunSpec, message: str) -> None:
    with pytest.raises(LiftbenchError) as err:
        check_runs([spec], where="suite file s.yaml")
    assert str(err.value).startswith("suite file s.yaml: run ") and message in str(err.value)
