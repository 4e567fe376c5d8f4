"""Small tasks and fit data that the LIFT tests share: fast to fit with a tiny model, with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.core.methods import FitData
from tasks.spec import TaskData


def digit_task(n: int = 60, n_classes: int = 2, seed: int = 0) -> TaskData:
    """`n_classes` classes; the answer is a copy of the integer feature `a`, `b` is noise."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_classes, n)
    return TaskData(
        name="copy" if n_classes == 2 else "three" if n_classes == 3 else f"copy{n_classes}",
        kind="classification",
        X=pd.DataFrame({"a": a, "b": rng.normal(size=n).round(2)}),
        y=pd.Series(a),
        feature_types={"a": "integer", "b": "numeric"},
        classes=tuple(str(k) for k in range(n_classes)),
        source="synthetic",
    )


def line_task(n: int = 40, seed: int = 0) -> TaskData:
    """Regression: y = 2x + 1 on x ~ U(-1, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return TaskData(
        name="line",
        kind="regression",
        X=pd.DataFrame({"x": x}),
        y=pd.Series(2 * x + 1),
        feature_types={"x": "numeric"},
        classes=None,
        source="synthetic",
    )


def fit_data(task: TaskData, n_train: int, n_val: int, seed: int = 0) -> FitData:
    """The first `n_train` rows to train on, the next `n_val` to validate on."""
    y = task.y.to_numpy()
    return FitData(
        task=task,
        X_train=task.X.iloc[:n_train],
        y_train=y[:n_train],
        X_val=task.X.iloc[n_train : n_train + n_val],
        y_val=y[n_train : n_train + n_val],
        seed=seed,
    )
