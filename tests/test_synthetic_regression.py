"""The synthetic regression functions, their generation protocol and their catalogue entries."""

from __future__ import annotations

import numpy as np
import pytest

import tasks.synthetic_regression as sr
from tasks import registry
from tasks.errors import LiftbenchError
from tasks.spec import TaskData

NAMES = ["linear", "quadratic", "exponential", "cosine", "l1norm", "piecewise"]


def rows(data: TaskData, split: str) -> tuple[np.ndarray, np.ndarray]:
    idx = data.fixed_split[split]
    return data.X.to_numpy()[idx], data.y.to_numpy()[idx]


def one(function, *x: float) -> float:
    return float(function(np.array([x]))[0])


def test_formulas_on_hand_computed_values() -> None:
    assert one(sr.quadratic, 0.0) == pytest.approx(-9.0)
    assert one(sr.quadratic, 10.0) == pytest.approx(9.0)
    assert one(sr.quadratic, 5.0) == pytest.approx((25 - 50) * 9 / 50)
    assert one(sr.cosine, 0.0) == pytest.approx(9.0)
    assert one(sr.cosine, 2.0) == pytest.approx(-9.0)
    assert one(sr.cosine, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert one(sr.exponential, -10.0) == pytest.approx(-9.0)
    assert one(sr.exponential, 10.0) == pytest.approx(9.0)
    assert one(sr.exponential, 0.0) == pytest.approx(18 * ((1 - np.exp(-2)) / (np.exp(2) - np.exp(-2)) - 0.5))
    assert one(sr.l1norm, 0.0) == pytest.approx(-9.0)
    assert one(sr.l1norm, 10.0) == pytest.approx(9.0)
    assert one(sr.l1norm, -5.0) == pytest.approx(0.0)
    # piecewise: g(-5) = 1, g(0) = 0, g(5) = -1, g(-3) = 0 (the flat piece starts at -3), g(3) = -3
    assert one(sr.piecewise, -5.0) == pytest.approx(2.25)
    assert one(sr.piecewise, 0.0) == pytest.approx(0.0)
    assert one(sr.piecewise, 5.0) == pytest.approx(-2.25)
    assert one(sr.piecewise, -3.0) == pytest.approx(0.0)
    assert one(sr.piecewise, 3.0) == pytest.approx(-6.75)
    assert one(sr.piecewise, -10.0) == pytest.approx(-9.0)
    assert one(sr.piecewise, 10.0) == pytest.approx(9.0)
    assert one(sr.linear, 10.0) == pytest.approx(9.0)  # beta 0.9 by default
    assert float(sr.linear(np.array([[2.0, 4.0]]), beta=5.1)[0]) == pytest.approx(15.3)


def test_functions_are_means_over_coordinates() -> None:
    assert one(sr.linear, 1.0, 2.0, 3.0) == pytest.approx(1.8)
    assert one(sr.quadratic, 0.0, 10.0) == pytest.approx(0.0)
    assert one(sr.cosine, 0.0, 2.0) == pytest.approx(0.0)
    assert one(sr.l1norm, 10.0, -10.0, 0.0) == pytest.approx(3.0)
    assert one(sr.piecewise, -5.0, 5.0) == pytest.approx(0.0)
    X = np.random.default_rng(0).uniform(-10, 10, size=(7, 4))
    for name, function in sr.REGRESSION_FUNCTIONS.items():
        y = function(X)
        assert y.shape == (7,), name
        per_column = np.column_stack([function(X[:, [j]]) for j in range(4)])
        np.testing.assert_allclose(y, per_column.mean(axis=1), err_msg=name)


def test_regression_functions_table_and_1d_input() -> None:
    assert list(sr.REGRESSION_FUNCTIONS) == NAMES
    np.testing.assert_allclose(sr.quadratic(np.array([0.0, 10.0])), [-9.0, 9.0])


def test_function_grid() -> None:
    X, y = sr.function_grid("quadratic", 1, -10.0, 10.0, 5)
    np.testing.assert_allclose(X[:, 0], [-10, -5, 0, 5, 10])
    np.testing.assert_allclose(y, sr.quadratic(X))
    X2, y2 = sr.function_grid("cosine", 2, -2.0, 2.0, 3)
    assert X2.shape == (9, 2)
    np.testing.assert_allclose(X2[1], [-2.0, 0.0])  # the second coordinate runs fastest
    assert y2.reshape(3, 3)[1, 1] == pytest.approx(9.0)
    with pytest.raises(LiftbenchError, match="1 or 2"):
        sr.function_grid("cosine", 3, -1.0, 1.0, 3)
    with pytest.raises(LiftbenchError, match="did you mean: cosine"):
        sr.function_grid("cosin", 1, -1.0, 1.0, 3)
    with pytest.raises(LiftbenchError, match="below high"):
        sr.function_grid("cosine", 1, 1.0, 1.0, 3)


@pytest.mark.parametrize("name", [*NAMES, "rolling"])
def test_shapes_split_and_provenance(name: str) -> None:
    p = 2 if name == "rolling" else 3
    data = registry.load_task(name, p=p, n_train=40, n_val=10, n_test=20, n_outliers=3)
    assert data.kind == "regression" and data.source == "synthetic" and data.classes is None
    assert data.X.shape == (73, p) and list(data.X.columns) == [f"x{j + 1}" for j in range(p)]
    assert (data.X.dtypes == np.float64).all() and data.y.dtype == np.float64
    split = data.fixed_split
    assert [len(split[s]) for s in ("train", "val", "test")] == [43, 10, 20]
    assert all(split[s].dtype == np.int64 for s in split)
    np.testing.assert_array_equal(np.sort(np.concatenate(list(split.values()))), np.arange(73))
    assert f"synthetic_regression.{name}(" in data.source_detail and "seed=0" in data.source_detail
    spec = registry.get_spec(name)
    assert spec.suites == (sr.SUITE,) and "Dinh et al., LIFT" in spec.citation


def test_registered_defaults_follow_the_papers_protocol() -> None:
    defaults = registry.get_spec("quadratic").defaults
    assert defaults == sr.COMMON_DEFAULTS
    assert defaults["n_train"] == 200 and defaults["n_val"] == 50 and defaults["n_test"] == 100
    assert defaults["noise"] == 0.1 and (defaults["low"], defaults["high"]) == (-10.0, 10.0)
    assert registry.get_spec("linear").defaults["beta"] == 0.9
    assert registry.get_spec("rolling").defaults["p"] == 2
    assert registry.suites()[sr.SUITE] == [*NAMES, "rolling"]
    data = registry.load_task("cosine")
    assert [len(data.fixed_split[s]) for s in ("train", "val", "test")] == [200, 50, 100]
    assert data.X.to_numpy().min() >= -10 and data.X.to_numpy().max() <= 10


@pytest.mark.parametrize("name", ["quadratic", "rolling"])
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a = registry.load_task(name, seed=1, n_train=30)
    b = registry.load_task(name, seed=1, n_train=30)
    c = registry.load_task(name, seed=2, n_train=30)
    assert a.checksum == b.checksum
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.fixed_split[split], b.fixed_split[split])
        assert not np.allclose(rows(a, split)[0], rows(c, split)[0])  # inputs differ, test set included


def test_other_seed_other_noise() -> None:
    def noise(seed: int) -> np.ndarray:
        X, y = rows(registry.load_task("quadratic", seed=seed), "train")
        return y - sr.quadratic(X)

    assert not np.allclose(noise(1), noise(2))
    assert np.std(noise(1)) > 0


def test_noiseless_test_targets_are_the_clean_function() -> None:
    data = registry.load_task("exponential", p=2, seed=4)
    X_test, y_test = rows(data, "test")
    np.testing.assert_array_equal(y_test, sr.exponential(X_test))
    X_train, y_train = rows(data, "train")
    assert not np.allclose(y_train, sr.exponential(X_train))
    noisy = registry.load_task("exponential", p=2, seed=4, noiseless_test="false")
    X_noisy, y_noisy = rows(noisy, "test")
    np.testing.assert_array_equal(X_noisy, X_test)
    assert not np.allclose(y_noisy, y_test)


def test_noise_std_is_noise_times_the_std_of_the_clean_train_and_val_targets() -> None:
    def residuals(noise: float) -> tuple[np.ndarray, float]:
        data = registry.load_task("l1norm", n_train=3000, n_val=1000, noise=noise, seed=8)
        idx = np.concatenate([data.fixed_split["train"], data.fixed_split["val"]])
        X, y = data.X.to_numpy()[idx], data.y.to_numpy()[idx]
        clean = sr.l1norm(X)
        return y - clean, float(np.std(clean))

    small, clean_std = residuals(0.1)
    large, _ = residuals(0.4)
    np.testing.assert_allclose(large, 4 * small)  # the same draws, scaled: X does not move with noise
    assert np.std(small) == pytest.approx(0.1 * clean_std, rel=0.05)
    none, _ = residuals(0.0)
    np.testing.assert_array_equal(none, 0.0)
    wide = registry.load_task("l1norm", n_train=3000, n_val=1000, noise=0.1, seed=8, low=-100.0, high=100.0)
    X, y = wide.X.to_numpy()[:4000], wide.y.to_numpy()[:4000]
    assert np.std(y - sr.l1norm(X)) == pytest.approx(0.1 * np.std(sr.l1norm(X)), rel=0.05)


def test_linear_beta_is_used() -> None:
    data = registry.load_task("linear", beta="5.1", noise=0.0, p=2)
    X, y = rows(data, "train")
    np.testing.assert_allclose(y, 5.1 * X.mean(axis=1))


def test_integer_mode_rounds_inputs_and_noisy_targets_but_not_the_clean_test() -> None:
    data = registry.load_task("quadratic", integer="true", low=-150.0, high=150.0, n_outliers=2, seed=3)
    X = data.X.to_numpy()
    np.testing.assert_array_equal(X, np.round(X))
    assert set(data.feature_types.values()) == {"integer"}
    for split in ("train", "val"):
        y = rows(data, split)[1]
        np.testing.assert_array_equal(y, np.round(y))
    X_test, y_test = rows(data, "test")
    np.testing.assert_array_equal(y_test, sr.quadratic(X_test))
    assert not np.array_equal(y_test, np.round(y_test))
    assert registry.load_task("quadratic").feature_types == {"x1": "numeric"}


@pytest.mark.parametrize("p", [1, 2])
def test_donut_excludes_the_central_box_from_train_and_val_only(p: int) -> None:
    data = registry.load_task("piecewise", p=p, donut=True, n_train=500, n_test=500, n_outliers=5, seed=5)
    a, b = -10 + 20 / 3, 10 - 20 / 3
    for split in ("train", "val"):
        X = rows(data, split)[0]
        assert not np.any(np.all((X >= a) & (X <= b), axis=1))
        if p == 2:  # one central coordinate alone is allowed
            assert np.any((X[:, 0] >= a) & (X[:, 0] <= b))
    X_test = rows(data, "test")[0]
    assert np.any(np.all((X_test >= a) & (X_test <= b), axis=1))


def test_donut_with_integer_inputs_checks_the_rounded_values() -> None:
    data = registry.load_task("linear", donut=True, integer=True, low=-4.0, high=4.0, seed=1)
    X = rows(data, "train")[0][:, 0]
    assert set(np.unique(X)) <= {-4.0, -3.0, -2.0, 2.0, 3.0, 4.0}
    with pytest.raises(LiftbenchError, match="donut"):
        registry.load_task("linear", donut=True, integer=True, low=-0.4, high=0.4)


def test_outliers_are_appended_to_train_only() -> None:
    base = registry.load_task("cosine", seed=6)
    data = registry.load_task("cosine", seed=6, n_outliers=4, outlier_scale=50.0)
    assert len(data.fixed_split["train"]) == 204 and len(data.X) == 354
    X_train, y_train = rows(data, "train")
    X_base, y_base = rows(base, "train")
    np.testing.assert_array_equal(X_train[:200], X_base)  # the clean rows do not move
    np.testing.assert_array_equal(y_train[:200], y_base)
    for split in ("val", "test"):
        np.testing.assert_array_equal(rows(data, split)[0], rows(base, split)[0])
        np.testing.assert_array_equal(rows(data, split)[1], rows(base, split)[1])
    X_out, y_out = X_train[200:], y_train[200:]
    assert np.all(y_out >= 0) and np.all((X_out >= -10) & (X_out <= 10))
    assert not np.allclose(y_out, sr.cosine(X_out))
    big = registry.load_task("cosine", seed=6, n_outliers=2000, outlier_scale=50.0)
    y_big = rows(big, "train")[1][200:]
    assert np.mean(y_big) == pytest.approx(50.0 * np.sqrt(2 / np.pi), rel=0.08)  # E|N(0, s²)| = s·√(2/π)


def test_test_range_for_extrapolation_with_string_params() -> None:
    data = registry.load_task("linear", test_low="20", test_high="30")
    X_test = rows(data, "test")[0]
    assert X_test.min() >= 20 and X_test.max() <= 30
    X_train = rows(data, "train")[0]
    assert X_train.min() >= -10 and X_train.max() <= 10
    assert "test_low=20.0" in data.source_detail


@pytest.mark.parametrize("p", [2, 3])
def test_rolling_targets_are_the_position_along_the_roll(p: int) -> None:
    data = registry.load_task("rolling", p=p, noise=0.0, low=0.0, high=1.0, seed=2)
    X, y = rows(data, "train")
    assert y.min() >= 0.0 and y.max() <= 1.0
    plane = X[:, [0, -1]]
    np.testing.assert_allclose(plane, sr.roll_points(y, 0.0, 1.0)[:, [0, -1]], atol=1e-12)
    theta = np.hypot(plane[:, 0], plane[:, 1])  # radius = angle on the roll
    np.testing.assert_allclose(theta, 1.5 * np.pi + 3 * np.pi * y, atol=1e-12)
    if p == 3:
        assert X[:, 1].min() >= 0 and X[:, 1].max() <= sr.ROLL_HEIGHT
    X_test, y_test = rows(data, "test")
    np.testing.assert_allclose(X_test[:, [0, -1]], sr.roll_points(y_test, 0.0, 1.0)[:, [0, -1]], atol=1e-12)


def test_rolling_donut_removes_the_middle_of_the_roll() -> None:
    data = registry.load_task("rolling", donut=True, noise=0.0, n_test=300, seed=3)
    for split in ("train", "val"):
        assert not np.any(np.abs(rows(data, split)[1]) <= 10 / 3)
    assert np.any(np.abs(rows(data, "test")[1]) <= 10 / 3)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("quadratic", {"n_train": -1}, "'n_train': -1"),
        ("quadratic", {"n_test": 0}, "'n_test'"),
        ("quadratic", {"p": 0}, "'p': 0"),
        ("quadratic", {"noise": "abc"}, "'noise'"),
        ("quadratic", {"noise": -0.5}, "'noise'"),
        ("quadratic", {"low": 5.0, "high": 5.0}, "below high"),
        ("quadratic", {"low": "10", "high": "-10"}, "below high"),
        ("quadratic", {"test_low": 3.0, "test_high": 1.0}, "below test_high"),
        ("quadratic", {"test_low": "abc"}, "'test_low'"),
        ("quadratic", {"n_outliers": -2}, "'n_outliers'"),
        ("quadratic", {"outlier_scale": -1.0}, "'outlier_scale'"),
        ("quadratic", {"seed": -1}, "'seed'"),
        ("quadratic", {"beta": 2.0}, "has no parameter"),
        ("rolling", {"p": 1}, "2 or 3"),
        ("rolling", {"test_low": -100.0}, "angle reaches 0"),
    ],
)
def test_bad_params_raise_one_clear_liftbench_error(name: str, params: dict, match: str) -> None:
    with pytest.raises(LiftbenchError, match=match) as info:
        registry.load_task(name, **params)
    assert "\n" not in str(info.value)


def test_loaders_called_directly_fill_in_defaults() -> None:
    data = registry.get_spec("piecewise").loader(n_train=10)
    assert len(data.fixed_split["train"]) == 10 and data.params["n_test"] == 100
    assert data.params["test_low"] == -10.0
