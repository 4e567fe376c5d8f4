"""Synthetic regression tasks: the paper's six functions (lift-spec.md §3.1) and a Swiss-roll regression.

Every task defines its own split (`TaskData.fixed_split`), with its rows laid out in this order:
n_train training rows, then n_outliers outliers (training rows too), n_val validation rows, n_test
test rows. The protocol is the paper's (§3.2):

* inputs uniform in [low, high]^p (the test inputs in [test_low, test_high]^p, by default the same);
* `integer`: inputs are rounded, and so are the noisy targets (after the noise is added);
* `noise`: Gaussian noise of std `noise` · std(clean train and validation targets) on train and val;
* `noiseless_test`: the test targets are the clean f(X_test) (never rounded); when False they get
  the same noise (and rounding) as training targets;
* `donut`: train and val inputs are redrawn until none lies in the central box
  [low + (high - low)/3, high - (high - low)/3]^p;
* `n_outliers`: rows appended to train only, inputs drawn like the training inputs and targets
  |N(0, outlier_scale²)|.

The rolling task (not in the paper) follows the same protocol with the position s along a Swiss
roll in place of x: s is drawn in [low, high] (the donut removes its middle third), the inputs are
the roll's points at s (`roll_points`; p = 2 or, with a uniform height, 3) and the target is s.

Unlike the paper (which called np.random.seed(123) in every call), everything comes from `seed`,
through separate child streams for the train, val and test inputs, their noises and the outliers:
another seed gives other inputs, noise and test rows; changing `noise` or `n_outliers` leaves the
inputs as they are, and changing n_train leaves the val and test inputs as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.registry import register
from tasks.spec import TaskData, TaskSpec

SUITE = "synthetic-regression"
LIFT_CITATION = (
    "Dinh et al., LIFT: Language-Interfaced Fine-Tuning for Non-Language Machine Learning Tasks, NeurIPS 2022"
)
SKLEARN_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2011"
ROLL_START = 1.5 * np.pi  # the roll's angle runs over [1.5π, 4.5π], as scikit-learn's make_swiss_roll
ROLL_SPAN = 3.0 * np.pi
ROLL_HEIGHT = 21.0  # the height of a 3-D roll, as make_swiss_roll
MAX_DONUT_ROUNDS = 1000

COMMON_DEFAULTS: dict[str, Any] = {
    "p": 1,
    "n_train": 200,
    "n_val": 50,
    "n_test": 100,
    "low": -10.0,
    "high": 10.0,
    "integer": False,
    "noise": 0.1,
    "donut": False,
    "n_outliers": 0,
    "outlier_scale": 20.0,
    "test_low": None,  # None: the training range
    "test_high": None,
    "noiseless_test": True,
    "seed": 0,
}

Draw = Callable[[np.random.Generator, int, float, float, bool], tuple[np.ndarray, np.ndarray]]
"""(rng, n, lo, hi, donut) -> (X of shape (n, p), clean targets of shape (n,)), inputs drawn in [lo, hi]."""


def _points(X: np.ndarray) -> np.ndarray:
    """X as an (n, p) float array; a 1-D array is read as n points of dimension 1."""
    X = np.asarray(X, dtype=float)
    return X[:, None] if X.ndim == 1 else X


def linear(X: np.ndarray, beta: float = 0.9) -> np.ndarray:
    """y = x·(beta·1_p)/p = beta·mean(x)."""
    return beta * _points(X).mean(axis=1)


def quadratic(X: np.ndarray) -> np.ndarray:
    """y = mean_j (x_j² - 50)·9/50: -9 at 0, 9 at ±10."""
    return ((_points(X) ** 2 - 50.0) * 9.0 / 50.0).mean(axis=1)


def exponential(X: np.ndarray) -> np.ndarray:
    """y = 18·mean_j [(e^(0.2 x_j) - e^-2)/(e^2 - e^-2) - 0.5]: -9 at -10, 9 at 10."""
    scaled = (np.exp(0.2 * _points(X)) - np.exp(-2.0)) / (np.exp(2.0) - np.exp(-2.0))
    return 18.0 * (scaled - 0.5).mean(axis=1)


def cosine(X: np.ndarray) -> np.ndarray:
    """y = 9·mean_j cos(π x_j / 2): period 4, 9 at 0."""
    return 9.0 * np.cos(0.5 * np.pi * _points(X)).mean(axis=1)


def l1norm(X: np.ndarray) -> np.ndarray:
    """y = 18·mean_j (|x_j|/10 - 0.5): -9 at 0, 9 at ±10."""
    return 18.0 * (np.abs(_points(X)) / 10.0 - 0.5).mean(axis=1)


def piecewise(X: np.ndarray) -> np.ndarray:
    """y = mean_j 18·((g(x_j) + 4)/8 - 0.5), g(x) = x + 6 below -3, 0 on [-3, 3), x - 6 from 3 on."""
    X = _points(X)
    g = np.where(X < -3.0, X + 6.0, np.where(X < 3.0, 0.0, X - 6.0))
    return (18.0 * ((g + 4.0) / 8.0 - 0.5)).mean(axis=1)


REGRESSION_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": linear,
    "quadratic": quadratic,
    "exponential": exponential,
    "cosine": cosine,
    "l1norm": l1norm,
    "piecewise": piecewise,
}


def roll_points(s: np.ndarray, low: float, high: float, heights: np.ndarray | None = None) -> np.ndarray:
    """Points on the Swiss roll at positions `s` (the rolling task's target).

    Position s in [low, high] maps linearly to the angle θ in [1.5π, 4.5π] (1.5 turns, as
    `make_swiss_roll`), and the point is (θ cos θ, θ sin θ); positions outside [low, high] continue
    the spiral. With `heights` the point is (θ cos θ, height, θ sin θ), a 3-D roll.
    """
    theta = ROLL_START + ROLL_SPAN * (np.asarray(s, dtype=float) - low) / (high - low)
    columns = [theta * np.cos(theta), theta * np.sin(theta)]
    if heights is not None:
        columns.insert(1, np.asarray(heights, dtype=float))
    return np.column_stack(columns)


def function_grid(
    name: str, p: int, low: float, high: float, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """A regular grid of `resolution`^p points over [low, high]^p and the clean function on it.

    For p = 2 the rows run over the second coordinate fastest (numpy "ij" order), so
    `y_clean.reshape(resolution, resolution)[i, j]` is the value at (axis[i], axis[j]).
    """
    if name not in REGRESSION_FUNCTIONS:
        raise LiftbenchError(
            f"function_grid: unknown function {name!r}{did_you_mean(name, REGRESSION_FUNCTIONS)}; "
            f"use one of: {', '.join(REGRESSION_FUNCTIONS)}"
        )
    _check(p in (1, 2), name, "p", p, "1 or 2 for a grid")
    _check(
        bool(np.isfinite([low, high]).all()) and low < high,
        name,
        "low",
        low,
        f"finite and below high={high!r}",
    )
    _check(resolution >= 2, name, "resolution", resolution, "at least 2")
    axis = np.linspace(low, high, resolution)
    X = np.stack(np.meshgrid(*([axis] * p), indexing="ij"), axis=-1).reshape(-1, p)
    return X, REGRESSION_FUNCTIONS[name](X)


def _check(ok: bool, task: str, param: str, value: Any, requirement: str) -> None:
    if not ok:
        raise LiftbenchError(
            f"task {task!r}, parameter {param!r}: {value!r} is invalid; it must be {requirement}"
        )


def _optional_float(task: str, param: str, value: Any) -> float | None:
    """test_low/test_high default to None (the training range), so the registry cannot coerce them."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    _check(bool(np.isfinite(out)), task, param, value, "a finite number")
    return out


def _donut_box(low: float, high: float) -> tuple[float, float]:
    third = (high - low) / 3.0
    return low + third, high - third


def _uniform_rows(
    rng: np.random.Generator,
    n: int,
    k: int,
    lo: float,
    hi: float,
    hole: tuple[float, float] | None,
    integer: bool,
) -> np.ndarray:
    """n points uniform in [lo, hi]^k (rounded when `integer`), redrawn while inside the box hole^k."""

    def sample(m: int) -> np.ndarray:
        X = rng.uniform(lo, hi, size=(m, k))
        return np.round(X) if integer else X

    X = sample(n)
    if hole is None:
        return X
    for _ in range(MAX_DONUT_ROUNDS):
        inside = np.all((X >= hole[0]) & (X <= hole[1]), axis=1)
        if not inside.any():
            return X
        X[inside] = sample(int(inside.sum()))
    raise LiftbenchError(
        f"donut: no point of [{lo}, {hi}] lies outside the central box [{hole[0]:.4g}, {hole[1]:.4g}] "
        "(after rounding); widen the range or turn donut off"
    )


def _function_draw(
    function: Callable[[np.ndarray], np.ndarray], p: int, low: float, high: float, integer: bool
) -> Draw:
    hole = _donut_box(low, high)

    def draw(
        rng: np.random.Generator, n: int, lo: float, hi: float, donut: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        X = _uniform_rows(rng, n, p, lo, hi, hole if donut else None, integer)
        return X, function(X)

    return draw


def _roll_draw(p: int, low: float, high: float, integer: bool) -> Draw:
    """The rolling task: the target is the position s along the roll; the donut removes its middle third."""
    hole = _donut_box(low, high)

    def draw(
        rng: np.random.Generator, n: int, lo: float, hi: float, donut: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        s = _uniform_rows(rng, n, 1, lo, hi, hole if donut else None, integer=False)[:, 0]
        heights = rng.uniform(0.0, ROLL_HEIGHT, size=n) if p == 3 else None
        X = roll_points(s, low, high, heights)
        return (np.round(X) if integer else X), s

    return draw


def _generate(name: str, params: dict[str, Any], draw: Draw) -> TaskData:
    """Draw a task's rows by the protocol in the module docstring; `params` are already validated."""
    n_train, n_val, n_test, n_out = params["n_train"], params["n_val"], params["n_test"], params["n_outliers"]
    low, high, integer = params["low"], params["high"], params["integer"]
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(params["seed"]).spawn(7)]
    train_x, val_x, test_x, train_noise, val_noise, test_noise, outliers = streams

    X_train, clean_train = draw(train_x, n_train, low, high, params["donut"])
    X_val, clean_val = draw(val_x, n_val, low, high, params["donut"])
    X_test, y_test = draw(test_x, n_test, params["test_low"], params["test_high"], False)
    noise_std = params["noise"] * float(np.std(np.concatenate([clean_train, clean_val])))

    def noisy(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        y = clean + noise_std * rng.standard_normal(len(clean))
        return np.round(y) if integer else y

    y_train = noisy(clean_train, train_noise)
    y_val = noisy(clean_val, val_noise)
    if not params["noiseless_test"]:
        y_test = noisy(y_test, test_noise)
    X_out, _ = draw(outliers, n_out, low, high, params["donut"])
    y_out = np.abs(outliers.normal(0.0, params["outlier_scale"], size=n_out))
    if integer:
        y_out = np.round(y_out)

    X = np.vstack([X_train, X_out, X_val, X_test])
    y = np.concatenate([y_train, y_out, y_val, y_test])
    bounds = np.cumsum([0, n_train + n_out, n_val, n_test])
    columns = [f"x{j + 1}" for j in range(X.shape[1])]
    arguments = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return TaskData(
        name=name,
        kind="regression",
        X=pd.DataFrame(X, columns=columns),
        y=pd.Series(y, name="y", dtype=float),
        feature_types=dict.fromkeys(columns, "integer" if integer else "numeric"),
        classes=None,
        source="synthetic",
        source_detail=f"synthetic_regression.{name}({arguments})",
        params=dict(params),
        fixed_split={
            split: np.arange(bounds[i], bounds[i + 1], dtype=np.int64)
            for i, split in enumerate(("train", "val", "test"))
        },
    )


def _validated(
    name: str, defaults: dict[str, Any], given: dict[str, Any], dims: tuple[int, ...] | None
) -> dict[str, Any]:
    """All parameters, defaults filled in, checked; `dims` lists the allowed p (None: any p >= 1)."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise LiftbenchError(
            f"task {name!r} has no parameter {unknown[0]!r}{did_you_mean(unknown[0], defaults)}; "
            f"its parameters: {', '.join(sorted(defaults))}"
        )
    params = {**defaults, **given}
    if dims is None:
        _check(params["p"] >= 1, name, "p", params["p"], "at least 1")
    else:
        _check(params["p"] in dims, name, "p", params["p"], " or ".join(map(str, dims)))
    for key in ("n_train", "n_val", "n_test"):
        _check(params[key] >= 1, name, key, params[key], "at least 1")
    _check(params["n_outliers"] >= 0, name, "n_outliers", params["n_outliers"], "0 or more")
    low, high = params["low"], params["high"]
    _check(bool(np.isfinite(low)), name, "low", low, "a finite number")
    _check(bool(np.isfinite(high)), name, "high", high, "a finite number")
    _check(low < high, name, "low", low, f"below high={high!r}")
    params["test_low"] = _optional_float(name, "test_low", params["test_low"])
    params["test_high"] = _optional_float(name, "test_high", params["test_high"])
    if params["test_low"] is None:
        params["test_low"] = low
    if params["test_high"] is None:
        params["test_high"] = high
    _check(
        params["test_low"] < params["test_high"],
        name,
        "test_low",
        params["test_low"],
        f"below test_high={params['test_high']!r}",
    )
    for key in ("noise", "outlier_scale"):
        value = params[key]
        _check(bool(np.isfinite(value)) and value >= 0, name, key, value, "a finite number >= 0")
    _check(params["seed"] >= 0, name, "seed", params["seed"], "0 or more")
    return params


FUNCTION_DESCRIPTIONS = {
    "linear": "y = beta*mean(x) on uniform x in [low,high]^p (paper: beta 0.9)",
    "quadratic": "y = mean((x^2 - 50)*9/50) on uniform x in [low,high]^p",
    "exponential": "y = 18*mean((e^(0.2x) - e^-2)/(e^2 - e^-2) - 0.5) on uniform x in [low,high]^p",
    "cosine": "y = 9*mean(cos(pi*x/2)) on uniform x in [low,high]^p",
    "l1norm": "y = 18*mean(|x|/10 - 0.5) on uniform x in [low,high]^p",
    "piecewise": "y = mean of a 3-piece linear function (flat on [-3,3)) on uniform x in [low,high]^p",
}
LINEAR_DEFAULTS: dict[str, Any] = {**COMMON_DEFAULTS, "beta": 0.9}
ROLLING_DEFAULTS: dict[str, Any] = {**COMMON_DEFAULTS, "p": 2}


def _function_loader(name: str) -> Callable[..., TaskData]:
    defaults = LINEAR_DEFAULTS if name == "linear" else COMMON_DEFAULTS

    def load(**given: Any) -> TaskData:
        params = _validated(name, defaults, given, dims=None)
        function = REGRESSION_FUNCTIONS[name]
        if name == "linear":
            _check(bool(np.isfinite(params["beta"])), name, "beta", params["beta"], "a finite number")
            function = partial(linear, beta=params["beta"])
        draw = _function_draw(function, params["p"], params["low"], params["high"], params["integer"])
        return _generate(name, params, draw)

    return load


def _load_rolling(**given: Any) -> TaskData:
    params = _validated("rolling", ROLLING_DEFAULTS, given, dims=(2, 3))
    earliest = params["low"] - (params["high"] - params["low"]) / 2.0
    _check(
        params["test_low"] >= earliest,
        "rolling",
        "test_low",
        params["test_low"],
        f"at least {earliest:.4g}, where the roll's angle reaches 0",
    )
    return _generate(
        "rolling", params, _roll_draw(params["p"], params["low"], params["high"], params["integer"])
    )


for _name, _description in FUNCTION_DESCRIPTIONS.items():
    register(
        TaskSpec(
            name=_name,
            kind="regression",
            source="synthetic",
            loader=_function_loader(_name),
            defaults=dict(LINEAR_DEFAULTS if _name == "linear" else COMMON_DEFAULTS),
            description=_description,
            citation=LIFT_CITATION,
            suites=(SUITE,),
        )
    )

register(
    TaskSpec(
        name="rolling",
        kind="regression",
        source="synthetic",
        loader=_load_rolling,
        defaults=dict(ROLLING_DEFAULTS),
        description="Points on a 2-D (p=2) or 3-D (p=3) Swiss roll; y = the position along the roll, in [low,high]",
        citation=f"{LIFT_CITATION}; {SKLEARN_CITATION}",
        suites=(SUITE,),
    )
)
