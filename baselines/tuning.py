"""Grid search on the validation split, shared by every classical baseline.

A baseline is a `Recipe` (the paper's base estimator and its grid) run by a `TunedBaseline`:

* the `TabularPreprocessor` (imputation with missing indicators, one-hot, optional scaling) is
  fitted once, on the training rows only;
* every grid point is fitted on the training rows and scored on the validation rows only
  (accuracy for classification, RMSE for regression); the best wins, ties going to the first point
  in grid order (scikit-learn's `ParameterGrid` order: keys sorted, the last key varying fastest,
  values in the order given);
* the winner is kept as it was fitted, on the training rows: nothing is refitted, and validation and
  test rows never reach an estimator's `fit`.

The paper tuned on train+val with halving CV (classification) or on test RAE (real regression), and
scaled with a scaler fitted on all rows; none of that happens here (lift-spec.md §6, §10.5).

User options, the same for every baseline: `grid` (None: the paper grid; a mapping replaces it,
`{}` searches nothing), `params` (estimator parameters fixed for every grid point; a fixed key is
dropped from the search) and `scale` (standardize numeric features).
"""

from __future__ import annotations

import functools
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import ParameterGrid

from benchmark.core.methods import FitData, FitInfo, Method, MethodEntry, Predictions, register_method
from tasks.errors import LiftbenchError, did_you_mean
from tasks.preprocessing import TabularPreprocessor

# scale=None means the paper's choice for the kind (`TunedBaseline.default_scale`).
BASELINE_DEFAULTS: Mapping[str, Any] = {"grid": None, "params": None, "scale": None}


@dataclass(frozen=True)
class ValidationMetric:
    name: str
    score: Callable[[np.ndarray, np.ndarray], float]  # score(y_true, y_pred)
    higher_is_better: bool

    def better(self, candidate: float, incumbent: float) -> bool:
        return candidate > incumbent if self.higher_is_better else candidate < incumbent


@dataclass(frozen=True)
class Recipe:
    """One baseline for one task kind: the paper's base estimator and its grid."""

    estimator: Callable[[], BaseEstimator]  # a fresh, unfitted base estimator
    grid: Mapping[str, Sequence[Any]]  # the paper's grid; empty: nothing to search
    description: str
    requires: tuple[str, ...] = ()  # importable modules the estimator needs
    std: Callable[[Any, np.ndarray], np.ndarray] | None = None  # regression: a predictive spread


@dataclass
class PointResult:
    """How one grid point did: its validation score, or the error that stopped it."""

    params: dict[str, Any]
    score: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def record(self, metric: str) -> dict[str, Any]:
        out: dict[str, Any] = {"params": self.params, f"val_{metric}": self.score}
        if self.error is not None:
            out["error"] = self.error
        if self.warnings:
            out["warnings"] = self.warnings
        return out


@dataclass
class Selection:
    estimator: Any  # the winner, fitted on the training rows
    params: dict[str, Any]
    results: list[PointResult]
    rule: str  # how the winner was chosen, in words


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The grid's points in search order; an empty grid is one point with nothing set."""
    return list(ParameterGrid(dict(grid))) if grid else [{}]


def select_on_validation(
    points: Sequence[dict[str, Any]],
    build: Callable[[dict[str, Any]], Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    predict: Callable[[Any, np.ndarray], np.ndarray],
    metric: ValidationMetric,
) -> Selection:
    """Fit each point on the training rows, score it on the validation rows, keep the best.

    A point whose fit or validation prediction raises `ValueError` (k > n_train, too few rows for
    early stopping, an invalid parameter value) is recorded with its error and skipped. With no
    validation rows there is nothing to select on: the first point that fits is kept, with a warning.
    """
    has_val = len(y_val) > 0
    if not has_val and len(points) > 1:
        warnings.warn(
            f"no validation rows to select among {len(points)} grid points: using the first that fits",
            stacklevel=3,
        )
    results: list[PointResult] = []
    best: tuple[PointResult, Any] | None = None
    for params in points:
        result = PointResult(dict(params))
        results.append(result)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                estimator = build(params).fit(X_train, y_train)
                if has_val:
                    result.score = float(metric.score(y_val, predict(estimator, X_val)))
            except ValueError as exc:
                result.error = f"{type(exc).__name__}: {str(exc).rstrip('.')}"
        result.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        if result.error is not None:
            continue
        if best is None or (has_val and metric.better(result.score, best[0].score)):
            best = (result, estimator)
        if not has_val:
            break
    if best is None:
        raise LiftbenchError(
            f"every grid point failed on the training rows; the first: {results[0].params} -> "
            f"{results[0].error}; fix it with the method's `params` or `grid` options"
        )
    if len(points) == 1:
        rule = "single grid point"
    elif has_val:
        rule = f"best validation {metric.name} (ties: first in grid order)"
    else:
        rule = "no validation rows: first grid point that fits"
    return Selection(best[1], best[0].params, results, rule)


class TunedBaseline(ABC):
    """A `Method`: preprocess (fitted on train), search the grid on validation, predict."""

    kind: ClassVar[str]
    metric: ClassVar[ValidationMetric]
    default_scale: ClassVar[bool]  # standardize numeric features when the user does not say

    def __init__(
        self,
        name: str,
        recipe: Recipe,
        *,
        grid: Mapping[str, Sequence[Any]] | None,
        params: Mapping[str, Any] | None,
        scale: bool | str | None,
    ) -> None:
        self.name = name
        self.recipe = recipe
        where = f"method {name!r} ({self.kind})"
        self.fixed = dict(_as_mapping(params, f"{where}, option 'params'"))
        search = recipe.grid if grid is None else _as_grid(grid, f"{where}, option 'grid'")
        self.grid = {key: list(values) for key, values in search.items() if key not in self.fixed}
        self.scale = self.default_scale if scale is None else _as_bool(scale, f"{where}, option 'scale'")
        base = recipe.estimator()
        known = base.get_params(deep=True)
        for key in [*self.fixed, *self.grid]:
            if key not in known:
                raise LiftbenchError(
                    f"{where}: {type(base).__name__} has no parameter {key!r}"
                    f"{did_you_mean(key, known)}; its parameters: {', '.join(sorted(known))}"
                )
        self.preprocessor_: TabularPreprocessor | None = None
        self.estimator_: Any = None

    def effective_params(self) -> dict[str, Any]:
        """What this baseline runs with: the grid searched, the fixed parameters, scaling, and the base
        estimator's own settings (a changed recipe or library default changes the experiment)."""
        base = self.recipe.estimator()
        return {
            "grid": self.grid,
            "params": self.fixed,
            "scale": self.scale,
            "estimator": type(base).__name__,
            "estimator_params": {
                key: _json_safe(value) for key, value in base.get_params(deep=False).items()
            },
        }

    def fit(self, data: FitData) -> FitInfo:
        self.preprocessor_ = TabularPreprocessor(data.task.feature_types, scale=self.scale)
        self.preprocessor_.fit(data.X_train)
        X_train = self.preprocessor_.transform(data.X_train)
        # scikit-learn's transformers refuse zero rows: a split without validation rows is legal.
        X_val = self.preprocessor_.transform(data.X_val) if len(data.X_val) else X_train[:0]
        y_train = self._fit_target(data.y_train, data)
        points = [{**point, **self.fixed} for point in grid_points(self.grid)]
        try:
            selection = select_on_validation(
                points,
                functools.partial(self._build, seed=data.seed),
                X_train,
                y_train,
                X_val,
                np.asarray(data.y_val),
                self._predict_target,
                self.metric,
            )
        except LiftbenchError as exc:
            raise LiftbenchError(f"method {self.name!r} ({self.kind}): {exc}") from None
        self.estimator_ = selection.estimator
        return FitInfo(
            selected=selection.params,
            extra={
                "estimator": type(selection.estimator).__name__,
                "selection": selection.rule,
                "selection_metric": self.metric.name,
                "fitted_on": "train",
                "grid": [result.record(self.metric.name) for result in selection.results],
                "scale": self.scale,
                "n_features_in": int(X_train.shape[1]),
            },
        )

    def predict(self, X: pd.DataFrame) -> Predictions:
        if self.estimator_ is None or self.preprocessor_ is None:
            raise RuntimeError(f"method {self.name!r}: call fit before predict")
        return self._predictions(self.preprocessor_.transform(X))

    def _build(self, params: dict[str, Any], seed: int) -> Any:
        """The base estimator with one thread, a seed where it draws at random, and `params`."""
        estimator = self.recipe.estimator()
        own = estimator.get_params(deep=False)
        common = {key: value for key, value in (("random_state", seed), ("n_jobs", 1)) if key in own}
        return estimator.set_params(**common, **params)

    @abstractmethod
    def _fit_target(self, y_train: np.ndarray, data: FitData) -> np.ndarray:
        """The training target as the estimator is fitted on it."""

    @abstractmethod
    def _predict_target(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        """Predictions in the task's own target coding, comparable with `FitData.y_val`."""

    @abstractmethod
    def _predictions(self, X: np.ndarray) -> Predictions:
        """Per-row predictions of the fitted estimator on preprocessed rows."""


def register_baselines(recipes: Mapping[type[TunedBaseline], Mapping[str, Recipe]]) -> None:
    """Register one `MethodEntry` per baseline name; a name with recipes for several kinds
    (knn, mlp, rf, xgboost) becomes one entry whose factory picks the recipe by task kind."""
    names = dict.fromkeys(name for by_name in recipes.values() for name in by_name)
    for name in names:
        by_kind = {cls.kind: (cls, by_name[name]) for cls, by_name in recipes.items() if name in by_name}
        register_method(
            MethodEntry(
                name=name,
                factory=functools.partial(_make_baseline, name, by_kind),
                kinds=tuple(by_kind),
                requires=tuple(dict.fromkeys(m for _, recipe in by_kind.values() for m in recipe.requires)),
                defaults=BASELINE_DEFAULTS,
                resolve=functools.partial(_resolve_baseline, name, by_kind),
                description="; ".join(
                    f"{kind}: {recipe.description}" for kind, (_, recipe) in by_kind.items()
                ),
            )
        )


def _resolve_baseline(
    name: str, by_kind: Mapping[str, tuple[type[TunedBaseline], Recipe]], kind: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The `MethodEntry` resolver: the settings the baseline runs with (`TunedBaseline.effective_params`)."""
    cls, recipe = by_kind[kind]
    return cls(name, recipe, **params).effective_params()


def _make_baseline(
    name: str,
    by_kind: Mapping[str, tuple[type[TunedBaseline], Recipe]],
    *,
    kind: str,
    seed: int,
    grid: Mapping[str, Sequence[Any]] | None,
    params: Mapping[str, Any] | None,
    scale: bool | str,
) -> Method:
    """The `MethodEntry` factory. `seed` is part of the factory protocol; a baseline's estimators
    take their `random_state` from `FitData.seed` at fit time, so the same data seed gives the same
    model whatever the method was built with."""
    del seed
    cls, recipe = by_kind[kind]
    return cls(name, recipe, grid=grid, params=params, scale=scale)


def _json_safe(value: Any) -> Any:
    """An estimator parameter as JSON: plain values as they are, tuples as lists, objects (and NaN) by repr."""
    if (
        value is None
        or isinstance(value, bool | int | str)
        or (isinstance(value, float) and math.isfinite(value))
    ):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return repr(value)


def _as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LiftbenchError(f"{where}: expected a mapping of estimator parameters, got {value!r}")
    return value


def _as_grid(value: Any, where: str) -> Mapping[str, Sequence[Any]]:
    grid = _as_mapping(value, where)
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
            raise LiftbenchError(
                f"{where}: {key!r} must be a non-empty list of values to try, got {values!r} "
                "(a single value goes in `params`)"
            )
    return grid


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise LiftbenchError(f"{where}: expected true or false, got {value!r}")
