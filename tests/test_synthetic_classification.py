"""The synthetic classification generators and their catalogue entries."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

import tasks.synthetic_classification as sc
from tasks import registry
from tasks.errors import LiftbenchError

# task name -> (generator, small keyword set, number of classes, number of features)
CASES = {
    "gaussian9": (sc.gaussian9, {"n": 301}, 9, 2),
    "blobs": (sc.blobs, {"n": 301, "centers": 5, "dims": 3}, 5, 3),
    "circles": (sc.circles, {"n": 301}, 2, 2),
    "moons": (sc.moons, {"n": 301}, 2, 2),
    "two-circles": (sc.two_circles, {"n": 301}, 2, 2),
    "rolls": (sc.rolls, {"n": 301}, 2, 2),
    "nn-teacher": (sc.nn_teacher, {"n": 301, "dims": 3, "n_classes": 3, "difficulty": 2}, 3, 3),
}


@pytest.mark.parametrize("name", CASES)
def test_shape_dtypes_and_every_class_has_rows(name: str) -> None:
    generator, params, k, dims = CASES[name]
    X, y = generator(**params)
    assert X.shape == (301, dims) and X.dtype == np.float64
    assert np.issubdtype(y.dtype, np.integer) and y.shape == (301,)
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.min() > 0
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", [n for n in CASES if n != "nn-teacher"])
def test_classes_are_shared_out_evenly(name: str) -> None:
    generator, params, k, _ = CASES[name]
    _, y = generator(**params)
    counts = np.bincount(y, minlength=k)
    assert counts.max() - counts.min() <= 1  # 301 rows: as even as possible


def test_nn_teacher_classes_are_balanced_by_the_output_biases() -> None:
    for n_classes, difficulty in [(2, 1), (3, 5), (5, 10)]:
        _, y = sc.nn_teacher(n=3000, n_classes=n_classes, difficulty=difficulty, seed=7)
        share = np.bincount(y, minlength=n_classes) / 3000
        assert np.all(np.abs(share * n_classes - 1) < 0.2), share


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_rows_other_seed_other_rows(name: str) -> None:
    generator, params, _, _ = CASES[name]
    X1, y1 = generator(**params, seed=5)
    X2, y2 = generator(**params, seed=5)
    X3, _ = generator(**params, seed=6)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("name", CASES)
def test_no_global_random_state_is_used(name: str) -> None:
    generator, params, _, _ = CASES[name]
    np.random.seed(0)
    X1, _ = generator(**params)
    np.random.seed(1)
    X2, _ = generator(**params)
    np.testing.assert_array_equal(X1, X2)


def test_gaussian9_uses_all_n_rows_around_the_grid_with_variance_noise() -> None:
    X, y = sc.gaussian9(n=9 * 400 + 4, noise=0.5, seed=1)
    assert len(X) == 3604
    assert np.bincount(y).tolist() == [401] * 4 + [400] * 5
    grid = [-10.0, 0.0, 10.0]
    for label in range(9):
        rows = X[y == label]
        np.testing.assert_allclose(rows.mean(axis=0), [grid[label // 3], grid[label % 3]], atol=0.12)
        np.testing.assert_allclose(rows.var(axis=0), [0.5, 0.5], rtol=0.2)  # noise is a variance


def test_sklearn_generators_make_the_papers_calls_at_seed_123() -> None:
    X, y = sc.blobs()
    X_ref, y_ref = make_blobs(n_samples=2000, centers=4, n_features=2, random_state=123)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(
        sc.circles()[0], make_circles(2000, noise=0.1, factor=0.8, random_state=123)[0]
    )
    np.testing.assert_array_equal(sc.moons()[0], make_moons(2000, noise=0.1, random_state=123)[0])


def test_blobs_noise_is_the_cluster_std() -> None:
    X, y = sc.blobs(n=4000, centers=2, dims=3, noise=2.0, seed=4)
    spread = np.concatenate([X[y == c] - X[y == c].mean(axis=0) for c in (0, 1)])
    np.testing.assert_allclose(spread.std(axis=0), [2.0, 2.0, 2.0], rtol=0.1)


def test_two_circles_labels_are_y1_and_flipped_y2() -> None:
    X, y = sc.two_circles(n=400, noise=0.0, factor=0.5, shift=3.0, seed=2)
    second = X[:, 0] > 1.5
    radius = np.hypot(X[:, 0] - np.where(second, 3.0, 0.0), X[:, 1])
    inner = radius < 0.75
    np.testing.assert_allclose(radius, np.where(inner, 0.5, 1.0), atol=1e-9)
    np.testing.assert_array_equal(y[~second], inner[~second].astype(int))  # make_circles: inner = 1
    np.testing.assert_array_equal(y[second], 1 - inner[second].astype(int))
    assert second.sum() == 200


@pytest.mark.parametrize("dims", [2, 3])
def test_rolls_are_two_spirals_rotated_by_pi(dims: int) -> None:
    X, y = sc.rolls(n=500, noise=0.0, turns=2.0, dims=dims, seed=3)
    plane = X[:, [0, -1]]
    theta = np.hypot(plane[:, 0], plane[:, 1])  # the radius of the spiral r = θ is its angle
    assert theta.min() >= 1.5 * np.pi - 1e-9 and theta.max() <= 5.5 * np.pi + 1e-9
    angle = np.arctan2(plane[:, 1], plane[:, 0])
    offset = np.where(y == 0, 0.0, np.pi)
    np.testing.assert_allclose(np.cos(angle - theta - offset), 1.0, atol=1e-9)
    if dims == 3:
        assert X[:, 1].min() >= 0 and X[:, 1].max() <= sc.ROLL_HEIGHT


def test_rolls_are_a_learnable_two_class_task() -> None:
    X, y = sc.rolls(n=1000, seed=0)
    assert cross_val_score(KNeighborsClassifier(5), X, y, cv=3).mean() > 0.95
    assert cross_val_score(LogisticRegression(), X, y, cv=3).mean() < 0.8  # and not a linear one


def test_nn_teacher_labels_come_from_the_public_teacher() -> None:
    X, y = sc.nn_teacher(n=400, dims=2, n_classes=3, difficulty=4, seed=11)
    assert X.min() >= -6 and X.max() <= 6
    teacher = sc.make_nn_teacher(dims=2, n_classes=3, difficulty=4, seed=11)
    np.testing.assert_array_equal(teacher.predict(X), y)
    X_small, y_small = sc.nn_teacher(n=100, dims=2, n_classes=3, difficulty=4, seed=11)
    np.testing.assert_array_equal(X_small, X[:100])  # the teacher and the inputs do not depend on n
    np.testing.assert_array_equal(y_small, y[:100])


def test_nn_teacher_difficulty_makes_the_boundary_less_linear() -> None:
    def linear_fit(difficulty: int) -> float:
        scores = []
        for seed in (0, 1, 2):
            X, y = sc.nn_teacher(n=1000, difficulty=difficulty, seed=seed)
            scores.append(LogisticRegression().fit(X, y).score(X, y))
        return float(np.mean(scores))

    easy, medium, hard = linear_fit(1), linear_fit(4), linear_fit(9)
    assert easy > 0.93 and easy > medium + 0.05 and medium > hard + 0.05, (easy, medium, hard)


@pytest.mark.parametrize(
    ("generator", "params", "match"),
    [
        (sc.moons, {"n": -1}, "'n': -1"),
        (sc.gaussian9, {"n": 5}, "at least 9"),
        (sc.circles, {"noise": -0.1}, "'noise'"),
        (sc.circles, {"factor": 1.0}, "'factor'"),
        (sc.blobs, {"centers": 1}, "'centers'"),
        (sc.blobs, {"dims": 0}, "'dims'"),
        (sc.rolls, {"dims": 4}, "2 or 3"),
        (sc.rolls, {"turns": 0.0}, "'turns'"),
        (sc.two_circles, {"shift": float("inf")}, "'shift'"),
        (sc.nn_teacher, {"difficulty": 0}, "'difficulty'"),
        (sc.nn_teacher, {"difficulty": 11}, "1..10"),
        (sc.nn_teacher, {"n_classes": 1}, "'n_classes'"),
        (sc.moons, {"seed": -3}, "'seed'"),
    ],
)
def test_bad_parameters_raise_one_clear_liftbench_error(generator, params: dict, match: str) -> None:
    with pytest.raises(LiftbenchError, match=match) as info:
        generator(**params)
    assert "\n" not in str(info.value) and "must be" in str(info.value)


def test_specs_are_registered_with_defaults_citation_and_suite() -> None:
    names = ["gaussian9", "blobs", "circles", "moons", "two-circles", "rolls", "nn-teacher"]
    assert registry.suites()[sc.SUITE] == names
    for name in names:
        spec = registry.get_spec(name)
        generator = CASES[name][0]
        assert spec.kind == "classification" and spec.source == "synthetic"
        signature = inspect.signature(generator).parameters
        assert spec.defaults == {key: value.default for key, value in signature.items()}
        assert {"n", "seed"} <= set(spec.defaults)
        assert "Dinh et al., LIFT" in spec.citation and spec.description
    assert registry.get_spec("moons").defaults == {"n": 2000, "noise": 0.1, "seed": 123}
    assert registry.get_spec("gaussian9").class_labels == tuple(str(k) for k in range(9))
    assert [f.name for f in registry.get_spec("circles").features] == ["x1", "x2"]
    assert registry.get_spec("blobs").class_labels is None  # depends on `centers`
    assert "Scikit-learn" in registry.get_spec("moons").citation
    assert "Scikit-learn" not in registry.get_spec("gaussian9").citation


def test_load_task_gives_task_data_and_coerces_string_params() -> None:
    data = registry.load_task("moons", n=100, seed=3)
    assert data.kind == "classification" and data.source == "synthetic"
    assert list(data.X.columns) == ["x1", "x2"] and (data.X.dtypes == np.float64).all()
    assert isinstance(data.y, pd.Series) and data.y.dtype == np.int64
    assert data.classes == ("0", "1") and data.n_rows == 100
    assert data.feature_types == {"x1": "numeric", "x2": "numeric"}
    assert "moons(" in data.source_detail and "n=100" in data.source_detail and "seed=3" in data.source_detail
    assert data.spec is registry.get_spec("moons") and data.params["n"] == 100
    np.testing.assert_array_equal(data.X.to_numpy(), sc.moons(n=100, seed=3)[0])

    again = registry.load_task("moons", n="100", seed="3", noise="0.1")
    assert again.checksum == data.checksum
    assert registry.load_task("moons", n=100, seed=4).checksum != data.checksum

    nine = registry.load_task("gaussian9", n="50")
    assert nine.classes == tuple(str(k) for k in range(9)) and nine.n_rows == 50
    rolls3 = registry.load_task("rolls", dims=3, n=60)
    assert list(rolls3.X.columns) == ["x1", "x2", "x3"]


def test_load_task_rejects_bad_params_with_liftbench_error() -> None:
    with pytest.raises(LiftbenchError, match="noise"):
        registry.load_task("moons", noise="abc")
    with pytest.raises(LiftbenchError, match="'n': -1"):
        registry.load_task("moons", n="-1")
    with pytest.raises(LiftbenchError, match="difficulty"):
        registry.load_task("nn-teacher", difficulty="12")
    with pytest.raises(LiftbenchError, match="has no parameter"):
        registry.load_task("moons", factor=0.5)
