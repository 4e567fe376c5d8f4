"""The classical baselines: real scikit-learn and XGBoost estimators on tiny self-made tasks."""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import benchmark.core.methods as methods
from baselines.classification import CLASSIFIERS
from baselines.regression import REGRESSORS
from benchmark.core.methods import FitData, available_methods, make_method, method_entries
from benchmark.core.metrics import compute_metrics
from tasks.errors import LiftbenchError
from tasks.spec import TaskData

CENTRES = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])


def classification_task(n: int, seed: int, classes: tuple[str, ...] = ("a", "b", "c")) -> TaskData:
    """Well-separated Gaussian blobs, one per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n)
    X = pd.DataFrame(rng.normal(size=(n, 2)) + CENTRES[y], columns=["x1", "x2"])
    return TaskData(
        "blobs", "classification", X, pd.Series(y), {"x1": "numeric", "x2": "numeric"}, classes, "synthetic"
    )


def regression_task(n: int, seed: int, cubic: bool = False) -> TaskData:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    y = (x**3 - x if cubic else 2 * x) + rng.normal(0, 0.1, n)
    return TaskData(
        "line", "regression", pd.DataFrame({"x": x}), pd.Series(y), {"x": "numeric"}, None, "synthetic"
    )


def split(
    task: TaskData, n_train: int, n_val: int, seed: int = 0
) -> tuple[FitData, pd.DataFrame, np.ndarray]:
    """FitData over the first rows, and the remaining rows as a test set."""
    X, y = task.X, task.y.to_numpy()
    val = slice(n_train, n_train + n_val)
    fit = FitData(task, X.iloc[:n_train], y[:n_train], X.iloc[val], y[val], seed=seed)
    return fit, X.iloc[n_train + n_val :], y[n_train + n_val :]


def r2(y: np.ndarray, y_pred: np.ndarray) -> float:
    return 1 - float(np.mean((y - y_pred) ** 2) / np.var(y))


def test_every_baseline_is_registered_for_its_kinds() -> None:
    entries = method_entries()
    for name in CLASSIFIERS:
        assert "classification" in entries[name].kinds
    for name in REGRESSORS:
        assert "regression" in entries[name].kinds
    assert entries["knn"].kinds == ("classification", "regression")
    assert entries["xgboost"].requires == ("xgboost",)
    assert type(make_method("knn", "classification", 0)).__name__ == "TunedClassifier"
    assert type(make_method("knn", "regression", 0)).__name__ == "TunedRegressor"
    with pytest.raises(LiftbenchError, match="does not do regression"):
        make_method("logreg", "regression", 0)


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_fits_and_predicts(name: str) -> None:
    fit, X_test, y_test = split(classification_task(140, seed=1), 60, 20)
    method = make_method(name, "classification", seed=0)
    info = method.fit(fit)
    pred = method.predict(X_test)
    assert pred.proba is not None and pred.proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(pred.proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    with warnings.catch_warnings():  # scikit-learn's scores find the rows summing to one (xgboost's float32)
        warnings.simplefilter("error")
        compute_metrics("classification", y_test, pred, n_classes=3)
    assert info.extra["selection_metric"] == "accuracy" and info.extra["fitted_on"] == "train"
    json.dumps([info.selected, info.extra])  # stored with the result row
    accuracy = float(np.mean(pred.y_pred == y_test))
    if name == "majority":
        assert np.all(pred.y_pred == np.bincount(fit.y_train).argmax())
    else:
        assert accuracy > (0.9 if name == "logreg" else 0.8), accuracy


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor_fits_and_predicts(name: str) -> None:
    fit, X_test, y_test = split(regression_task(140, seed=2), 60, 20)
    method = make_method(name, "regression", seed=0)
    info = method.fit(fit)
    pred = method.predict(X_test)
    assert pred.y_pred.shape == (len(X_test),) and np.all(np.isfinite(pred.y_pred))
    assert info.extra["selection_metric"] == "rmse"
    json.dumps([info.selected, info.extra])
    if name == "mean":
        np.testing.assert_allclose(pred.y_pred, fit.y_train.mean())
    else:
        assert r2(y_test, pred.y_pred) > 0.8, name
    if name in ("gp", "rf"):
        assert pred.std is not None and pred.std.shape == pred.y_pred.shape and np.all(pred.std >= 0)
    else:
        assert pred.std is None


def test_poly_fits_a_cubic() -> None:
    fit, X_test, y_test = split(regression_task(120, seed=3, cubic=True), 60, 20)
    method = make_method("poly", "regression", seed=0)
    method.fit(fit)
    assert r2(y_test, method.predict(X_test).y_pred) > 0.9


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_proba_has_every_task_class_when_one_is_missing_from_train(name: str) -> None:
    task = classification_task(200, seed=4)
    keep = task.y.to_numpy() != 1
    train_X, train_y = task.X[keep].iloc[:60], task.y.to_numpy()[keep][:60]
    fit = FitData(task, train_X, train_y, task.X.iloc[150:170], task.y.to_numpy()[150:170], seed=0)
    method = make_method(name, "classification", seed=0)
    method.fit(fit)
    pred = method.predict(task.X.iloc[170:])
    assert pred.proba.shape == (30, 3)
    np.testing.assert_allclose(pred.proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(pred.proba[:, 1] == 0)
    assert set(pred.y_pred) <= {0, 2}


def test_selection_uses_validation_rows_only() -> None:
    """Validation rows repeat the noisy training rows, so 1-NN is best on validation while a wide
    neighbourhood is best on the clean test rows: the validation-best point must win."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["x1", "x2"])
    clean = (X["x1"] > 0).to_numpy().astype(int)
    noisy = np.where(rng.random(300) < 0.25, 1 - clean, clean)
    task = TaskData(
        "half",
        "classification",
        X,
        pd.Series(clean),
        {"x1": "numeric", "x2": "numeric"},
        ("n", "p"),
        "synthetic",
    )
    fit = FitData(task, X.iloc[:100], noisy[:100], X.iloc[:100], noisy[:100], seed=0)
    X_test, y_test = X.iloc[100:], clean[100:]
    grid = {"n_neighbors": [15, 1]}
    info = make_method("knn", "classification", 0, {"grid": grid, "params": {"p": 2}}).fit(fit)
    val_scores = {r["params"]["n_neighbors"]: r["val_accuracy"] for r in info.extra["grid"]}
    test_scores = {}
    for k in grid["n_neighbors"]:
        method = make_method("knn", "classification", 0, {"params": {"n_neighbors": k, "p": 2}})
        method.fit(fit)
        test_scores[k] = float(np.mean(method.predict(X_test).y_pred == y_test))
    assert max(val_scores, key=val_scores.get) == 1 and max(test_scores, key=test_scores.get) == 15
    assert info.selected == {"n_neighbors": 1, "p": 2}


def test_estimators_and_scaler_see_training_rows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    task = classification_task(120, seed=6)
    task.X.iloc[60:] += 10.0  # validation and test rows far from the training rows
    fit, X_test, _ = split(task, 60, 20)
    seen: list[int] = []
    original = LogisticRegression.fit

    def spy(
        self: LogisticRegression, X: np.ndarray, y: np.ndarray, *args: object, **kwargs: object
    ) -> object:
        seen.append(len(X))
        return original(self, X, y, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    method = make_method("logreg", "classification", seed=0)
    method.fit(fit)
    assert seen == [60, 60, 60]
    train = method.preprocessor_.transform(fit.X_train)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-9)
    train_rows = fit.X_train.to_numpy()
    expected = (X_test.to_numpy() - train_rows.mean(axis=0)) / train_rows.std(axis=0)
    np.testing.assert_allclose(method.preprocessor_.transform(X_test), expected, atol=1e-9)


def test_ties_go_to_the_first_grid_point() -> None:
    """A depth-1 tree separates two of three blobs; depths 5 and 3 tie, and 5 comes first."""
    fit, _, _ = split(classification_task(100, seed=7), 60, 20)
    info = make_method("tree", "classification", 0, {"grid": {"max_depth": [1, 5, 3]}}).fit(fit)
    scores = [r["val_accuracy"] for r in info.extra["grid"]]
    assert scores[0] < scores[1] == scores[2]
    assert info.selected == {"max_depth": 5}


@pytest.mark.parametrize(
    ("name", "kind"), [("rf", "classification"), ("mlp", "regression"), ("gp", "regression")]
)
def test_same_seed_same_model(name: str, kind: str) -> None:
    task = classification_task(100, seed=8) if kind == "classification" else regression_task(100, seed=8)
    runs = []
    for seed in (3, 3, 4):
        fit, X_test, _ = split(task, 60, 20, seed=seed)
        method = make_method(name, kind, seed=seed, params={"grid": {}})
        method.fit(fit)
        pred = method.predict(X_test)
        runs.append(pred.proba if kind == "classification" else pred.y_pred)
    np.testing.assert_array_equal(runs[0], runs[1])
    if name != "gp":  # the GP's restarts may all reach the same optimum
        assert not np.array_equal(runs[0], runs[2])


def test_missing_optional_dependency_is_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    method_entries()  # load the catalogue before hiding xgboost
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "xgboost" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(methods.importlib.util, "find_spec", find_spec)
    with pytest.warns(UserWarning, match="skipping method 'xgboost'"):
        names = available_methods("regression")
    assert "xgboost" not in names and "gbt" in names
    with pytest.raises(LiftbenchError, match="needs xgboost"):
        make_method("xgboost", "classification", 0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"C": 10}, "has no parameter 'C'"),
        ({"params": {"CC": 10}}, "did you mean: C"),
        ({"grid": {"C": 10}}, "non-empty list"),
        ({"grid": {"C": []}}, "non-empty list"),
        ({"params": [1, 2]}, "mapping"),
        ({"scale": "sometimes"}, "true or false"),
    ],
)
def test_bad_options_are_user_errors(params: dict, match: str) -> None:
    with pytest.raises(LiftbenchError, match=match):
        make_method("logreg", "classification", 0, params)


def test_fixed_params_skip_the_search_and_scale_is_recorded() -> None:
    fit, _, _ = split(classification_task(100, seed=9), 60, 20)
    info = make_method("logreg", "classification", 0, {"params": {"C": 10}, "scale": "false"}).fit(fit)
    assert info.selected == {"C": 10}
    assert info.extra["selection"] == "single grid point" and len(info.extra["grid"]) == 1
    assert info.extra["scale"] is False


def test_failing_grid_points_are_skipped_and_all_failing_is_a_user_error() -> None:
    fit, X_test, _ = split(classification_task(40, seed=10), 4, 20)
    info = make_method("knn", "classification", 0).fit(fit)
    failed = [r for r in info.extra["grid"] if "error" in r]
    assert {r["params"]["n_neighbors"] for r in failed} == {5}
    assert info.selected["n_neighbors"] in (1, 3)
    with pytest.raises(LiftbenchError, match="every grid point failed"):
        make_method("mlp", "classification", 0).fit(fit)  # too few rows for early stopping


def test_no_validation_rows_takes_the_first_grid_point() -> None:
    fit, _, _ = split(classification_task(80, seed=11), 60, 0)
    with pytest.warns(UserWarning, match="no validation rows"):
        info = make_method("knn", "classification", 0).fit(fit)
    assert info.selected == {"n_neighbors": 5, "p": 1}
    assert info.extra["selection"].startswith("no validation rows")


@pytest.mark.parametrize(
    ("name", "kind"), [("logreg", "classification"), ("xgboost", "classification"), ("gp", "regression")]
)
def test_categorical_features_and_missing_values(name: str, kind: str) -> None:
    rng = np.random.default_rng(12)
    n = 160
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.2] = np.nan
    colour_obj = colour.astype(object)
    colour_obj[rng.random(n) < 0.1] = None
    X = pd.DataFrame({"colour": colour_obj, "size": size})
    code = pd.Series(colour).map({"red": 0, "green": 1, "blue": 2}).to_numpy()
    y = code if kind == "classification" else code * 3.0 + rng.normal(0, 0.05, n)
    classes = ("red", "green", "blue") if kind == "classification" else None
    task = TaskData(
        "mixed", kind, X, pd.Series(y), {"colour": "categorical", "size": "numeric"}, classes, "synthetic"
    )
    fit, X_test, y_test = split(task, 80, 30)
    method = make_method(name, kind, 0)
    info = method.fit(fit)
    pred = method.predict(X_test)
    known = X_test["colour"].notna().to_numpy()
    assert info.extra["n_features_in"] == 6  # size, its missing indicator, 3 colours + missing
    if kind == "classification":
        assert np.mean(pred.y_pred[known] == y_test[known]) > 0.95
    else:
        assert r2(y_test[known], pred.y_pred[known]) > 0.9


def test_scaling_defaults_follow_the_paper_per_kind() -> None:
    """Classification baselines saw standardized features; regression ones raw features (their grids
    are sized for raw units), unless the user says otherwise."""
    fit, _, _ = split(classification_task(100, seed=9), 60, 20)
    assert make_method("knn", "classification", 0).fit(fit).extra["scale"] is True
    fit, _, _ = split(regression_task(100, seed=9), 60, 20)
    assert make_method("knn", "regression", 0).fit(fit).extra["scale"] is False
    assert make_method("knn", "regression", 0, {"scale": True}).fit(fit).extra["scale"] is True
