"""Extra evaluation sets: rows beyond the test split that a run predicts for the analysis (grids, lines).

An evaluation set is made from a task's data and split alone, deterministically, so an analysis can
rebuild its coordinates (`evaluation_rows(name, data, split, **params)`) without the results store
holding them; the store keeps only the predictions (split `eval:<name>`, row_index 0..n-1) and the
run's provenance keeps the set's `meta` (shape, axis ranges). `y_true` holds the true target where
the task knows it (the teacher's label, the clean regression function) and NaN where it does not.

The runner builds the sets from the task's clean data and the run's split (after any training-size
subset, before any perturbation), so a clean run and a label-corrupted one predict the same points.

Registered sets:

* `grid` (tasks with exactly two numeric features): `resolution` x `resolution` points over the
  training rows' range of each feature, padded by `padding` (10 %) of that range on both sides (the
  paper used feature 0's range for both axes). Rows run over the second feature fastest (numpy "ij"),
  so `y.reshape(resolution, resolution)[i, j]` belongs to (axis0[i], axis1[j]). Truth: nn-teacher's
  teacher label, or the clean function of a synthetic regression task (`lift-spec.md` section 2's
  decision boundaries, section 3.2's 2-D grids); NaN otherwise.
* `line` (synthetic regression functions with one feature): `n_points` (200) points over the task's
  [low, high] extended by `extension` (half) of its width on each side, the paper's extrapolation grid
  (-20, 20) for (-10, 10); truth: the clean function.

Integer features get integer coordinates (rounded).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError
from tasks.lazy_registry import Registry
from tasks.perturbations import NUMERIC_TYPES, ParamSpec, integer, number, validate_params
from tasks.spec import TaskData
from tasks.splits import Split
from tasks.synthetic_classification import make_nn_teacher
from tasks.synthetic_regression import REGRESSION_FUNCTIONS

SPLIT_PREFIX = "eval:"  # the store's split name of an evaluation set is SPLIT_PREFIX + its name


@dataclass(frozen=True)
class EvalRows:
    """The rows of an evaluation set: features as the task's columns, the truth (NaN: unknown), meta."""

    X: pd.DataFrame
    y_true: np.ndarray
    meta: dict[str, Any]


class EvaluationSet(ABC):
    """A named, parameterised set of extra rows; subclasses set `name`, `description`, `param_specs`."""

    name: str
    description: str
    param_specs: Mapping[str, ParamSpec] = {}

    def __init__(self, **params: Any) -> None:
        self.params = validate_params(f"evaluation set {self.name!r}", self.param_specs, params)

    @abstractmethod
    def check(self, data: TaskData) -> None:
        """Raise a LiftbenchError if the set is not defined for `data`."""

    @abstractmethod
    def rows(self, data: TaskData, split: Split) -> EvalRows: ...

    @abstractmethod
    def capped(self, limit: int) -> EvaluationSet:
        """The same set, coarser where needed so that it has at most `limit` rows (never fewer than
        its minimum), keeping its shape: a smoke run's evaluation set (`RunSpec.row_limit`)."""


EVALUATION_SETS: Registry[type[EvaluationSet]] = Registry("evaluation set")
register_evaluation_set = EVALUATION_SETS.register_class


def make_evaluation_set(name: str, params: Mapping[str, Any] | None = None) -> EvaluationSet:
    """The registered evaluation set `name` with `params` checked."""
    return EVALUATION_SETS.get(name)(**dict(params or {}))


def evaluation_rows(name: str, data: TaskData, split: Split, **params: Any) -> EvalRows:
    """The rows of evaluation set `name` for a task's data and split (what a run with it predicted)."""
    evaluation = make_evaluation_set(name, params)
    evaluation.check(data)
    return evaluation.rows(data, split)


def clean_function(data: TaskData) -> Callable[[np.ndarray], np.ndarray] | None:
    """The noiseless target function of a synthetic regression task (None for any other task)."""
    if data.kind != "regression" or data.source != "synthetic" or data.name not in REGRESSION_FUNCTIONS:
        return None
    function = REGRESSION_FUNCTIONS[data.name]
    return partial(function, beta=data.params["beta"]) if data.name == "linear" else function


def _true_targets(data: TaskData, X: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The truth at points X (columns in the task's order) and where it comes from; NaN if unknown."""
    if data.name == "nn-teacher" and data.source == "synthetic":
        p = data.params
        teacher = make_nn_teacher(p["dims"], p["n_classes"], p["difficulty"], p["seed"])
        return teacher.predict(X).astype(float), "teacher"
    function = clean_function(data)
    if function is not None:
        return np.asarray(function(X), dtype=float), "function"
    return np.full(len(X), np.nan), None


def _frame(data: TaskData, X: np.ndarray) -> pd.DataFrame:
    """Points as a table with the task's columns; integer features rounded to integers."""
    columns = list(data.X.columns)
    frame = pd.DataFrame(X, columns=columns)
    for column in columns:
        if data.feature_types[column] == "integer":
            frame[column] = np.round(frame[column]).astype(np.int64)
    return frame


@register_evaluation_set
class Grid(EvaluationSet):
    name = "grid"
    description = "resolution x resolution grid over the padded training range of a 2-feature task"
    param_specs = {"resolution": integer(60, low=2), "padding": number(0.1, low=0.0)}

    def check(self, data: TaskData) -> None:
        types = [data.feature_types.get(c) for c in data.X.columns]
        if len(types) != 2 or any(t not in NUMERIC_TYPES for t in types):
            raise LiftbenchError(
                f"evaluation set 'grid' needs a task with exactly 2 numeric features; task {data.name!r} "
                f"has {len(types)} ({', '.join(f'{c}: {t}' for c, t in zip(data.X.columns, types, strict=True))})"
            )

    def capped(self, limit: int) -> Grid:
        resolution = max(2, min(self.params["resolution"], math.isqrt(limit)))
        return Grid(**{**self.params, "resolution": resolution})

    def rows(self, data: TaskData, split: Split) -> EvalRows:
        resolution, padding = self.params["resolution"], self.params["padding"]
        train = data.X.iloc[split.train].to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(train).all(axis=0).any():
            raise LiftbenchError(
                f"evaluation set 'grid': a feature of task {data.name!r} is missing in every training row"
            )
        low, high = np.nanmin(train, axis=0), np.nanmax(train, axis=0)
        width = np.where(high > low, high - low, 1.0)  # a constant feature gets a unit-wide axis
        axes = [
            np.linspace(lo - padding * w, hi + padding * w, resolution)
            for lo, hi, w in zip(low, high, width, strict=True)
        ]
        X = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        frame = _frame(data, X)
        y_true, truth = _true_targets(data, frame.to_numpy(dtype=float))
        columns = [str(c) for c in data.X.columns]
        meta = {
            "shape": [resolution, resolution],
            "indexing": "ij",
            "columns": columns,
            "axes": {c: [float(a[0]), float(a[-1])] for c, a in zip(columns, axes, strict=True)},
            "training_range": {
                c: [float(lo), float(hi)] for c, lo, hi in zip(columns, low, high, strict=True)
            },
            "truth": truth,
        }
        return EvalRows(frame, y_true, meta)


@register_evaluation_set
class Line(EvaluationSet):
    name = "line"
    description = "points over a 1-feature synthetic regression task's range extended on both sides"
    param_specs = {"n_points": integer(200, low=2), "extension": number(0.5, low=0.0)}

    def check(self, data: TaskData) -> None:
        if clean_function(data) is None:
            raise LiftbenchError(
                f"evaluation set 'line' needs a synthetic regression task ({', '.join(REGRESSION_FUNCTIONS)}); "
                f"task {data.name!r} is not one"
            )
        if data.n_features != 1:
            raise LiftbenchError(
                f"evaluation set 'line' needs a task with 1 feature; task {data.name!r} has "
                f"{data.n_features} (set its parameter p to 1)"
            )

    def capped(self, limit: int) -> Line:
        return Line(**{**self.params, "n_points": max(2, min(self.params["n_points"], limit))})

    def rows(self, data: TaskData, split: Split) -> EvalRows:
        low, high = float(data.params["low"]), float(data.params["high"])
        margin = self.params["extension"] * (high - low)
        points = np.linspace(low - margin, high + margin, self.params["n_points"])
        frame = _frame(data, points[:, None])
        y_true, truth = _true_targets(data, frame.to_numpy(dtype=float))
        meta = {
            "shape": [self.params["n_points"]],
            "columns": [str(data.X.columns[0])],
            "range": [low - margin, high + margin],
            "task_range": [low, high],
            "truth": truth,
        }
        return EvalRows(frame, y_true, meta)
