"""No method can read the test rows or their labels while it fits.

`FitData` cuts its task to the training and validation rows, and every registered method fits and
predicts exactly the same when the test labels (and the test rows' features) are scrambled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.core.methods import FitData, Predictions, make_method, method_entries
from tasks.spec import TaskData

N_TRAIN, N_VAL, N_TEST = 24, 8, 12
# The LM methods with a tiny model and one epoch, so the whole catalogue fits in seconds.
PARAMS = {
    "lift": {"model": "tiny-gpt2", "epochs": 1, "enable_progress_bar": False},
    "lift-icl": {"model": "tiny-gpt2", "k": 4},
}


def task(kind: str, seed: int = 0) -> TaskData:
    n = N_TRAIN + N_VAL + N_TEST
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n).round(2), "x2": rng.normal(size=n).round(2)})
    if kind == "classification":
        y, classes = pd.Series((X["x1"] > 0).astype(int)), ("0", "1")
    else:
        y, classes = pd.Series(2 * X["x1"] - X["x2"]), None
    return TaskData("toy", kind, X, y, {"x1": "numeric", "x2": "numeric"}, classes, "synthetic")


def scrambled_test_rows(data: TaskData) -> TaskData:
    """The same task with other test labels and other test features."""
    X, y = data.X.copy(), data.y.copy()
    test = slice(N_TRAIN + N_VAL, None)
    y.iloc[test] = (1 - y.iloc[test]) if data.kind == "classification" else y.iloc[test] * -7 + 3
    X.iloc[test] = X.iloc[test].to_numpy() * 10
    return TaskData(data.name, data.kind, X, y, data.feature_types, data.classes, data.source)


def fit_data(data: TaskData) -> FitData:
    y = data.y.to_numpy()
    val = slice(N_TRAIN, N_TRAIN + N_VAL)
    return FitData(data, data.X.iloc[:N_TRAIN], y[:N_TRAIN], data.X.iloc[val], y[val], seed=0)


def test_fit_data_holds_only_the_training_and_validation_rows() -> None:
    data = task("classification")
    data.fixed_split = {"train": np.arange(N_TRAIN), "test": np.arange(N_TRAIN, len(data.X))}
    given = fit_data(data)
    assert given.task.X.index.tolist() == list(range(N_TRAIN + N_VAL))
    assert given.task.y.tolist() == data.y.iloc[: N_TRAIN + N_VAL].tolist()
    assert given.task.fixed_split is None
    assert (given.task.name, given.task.kind, given.task.classes) == (data.name, data.kind, data.classes)
    assert len(data.X) == N_TRAIN + N_VAL + N_TEST  # the caller's task is left as it was


def _answers(name: str, kind: str, data: TaskData, rows: pd.DataFrame) -> Predictions:
    method = make_method(name, kind, 0, PARAMS.get(name, {}))
    method.fit(fit_data(data))
    return method.predict(rows)


def _module_of(factory: object) -> str:
    """The module a factory lives in; a lazy one is written "module:attribute", a partial wraps one."""
    if isinstance(factory, str):
        return factory.partition(":")[0]
    return getattr(factory, "func", factory).__module__


# The project's methods: those its method families register (test modules register stand-ins of their own).
PROJECT_METHODS = [
    (name, kind)
    for name, entry in sorted(method_entries().items())
    if _module_of(entry.factory).split(".")[0] in ("baselines", "benchmark")
    for kind in entry.kinds
]


def test_the_project_methods_are_all_here() -> None:
    assert {name for name, _ in PROJECT_METHODS} >= {"lift", "lift-icl", "logreg", "xgboost", "gp", "mean"}


@pytest.mark.parametrize(("name", "kind"), PROJECT_METHODS)
def test_every_method_answers_the_same_whatever_the_test_labels(name: str, kind: str) -> None:
    if not method_entries()[name].available():
        pytest.skip(f"{name} needs {', '.join(method_entries()[name].requires)}")
    clean = task(kind)
    rows = clean.X.iloc[N_TRAIN + N_VAL :]
    first = _answers(name, kind, clean, rows)
    second = _answers(name, kind, scrambled_test_rows(clean), rows)
    np.testing.assert_array_equal(first.y_pred, second.y_pred)
    for field in ("proba", "std", "invalid"):
        a, b = getattr(first, field), getattr(second, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=field)
