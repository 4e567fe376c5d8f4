"""Pretext tasks for two-stage fine-tuning: synthetic tasks shaped like the target (lift-spec.md §5.3).

The paper (`run_gptj_inter_ft.py`) first fine-tuned GPT-J on two `make_classification` tasks with the
target's number of features and classes, then on the target. A generator here draws those two tasks
(the paper's task 1 and task 2) for any target:

    generate(kind, n_features, n_classes, n_rows, seed, feature_names=None) -> [PretextTask, PretextTask]

Each task's `X` has the target's feature names as columns (x1..xp when none are given), every feature
numeric; `y` holds class codes 0..K-1 (classification) or floats (regression); `recipe` says how it was
drawn, for the record. Generators, by name:

* make-classification (classification, the paper's): `make_classification(n_samples=n_rows,
  n_classes=K, n_features=p, n_informative=p, n_redundant=0, n_clusters_per_class=1, flip_y=0)` with
  random_state 2·seed+1 and 2·seed+2, so seed 0 gives the paper's random_state 1 and 2. Its clusters sit
  on corners of a hypercube in the informative dimensions, which needs 2**n_informative >= K, and
  n_informative cannot exceed p: when 2**p < K (e.g. 9 classes in 2-D, where the paper's call raises),
  K isotropic Gaussian clusters are drawn with `make_blobs(centers=K, n_features=p)` instead.
* linear-regression (regression): X ~ U(-10, 10)^p (the paper's synthetic regression range),
  w ~ N(0, 0.25/p) per feature (targets mostly within ±10, like the paper's functions),
  y = X·w + N(0, (0.1·std(X·w))²) (the paper's relative noise level 0.1).
* gp-prior (regression): X ~ U(-10, 10)^p and y one draw from a Gaussian-process prior with kernel
  25·RBF(length_scale=3·sqrt(p)), scikit-learn's `GaussianProcessRegressor.sample_y` on an unfitted
  model (smooth functions with values mostly in [-10, 10], like the paper's target functions).

The regression generators draw task t (1 or 2) from `np.random.default_rng([seed, t])`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs, make_classification
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel

from tasks.errors import LiftbenchError
from tasks.lazy_registry import Registry
from tasks.spec import KINDS

N_TASKS = 2  # the paper's task 1 and task 2
FEATURE_RANGE = (-10.0, 10.0)  # regression pretext inputs
WEIGHT_SCALE = 0.5  # linear-regression weight std times sqrt(p)
NOISE_LEVEL = 0.1  # linear-regression noise std relative to the std of the clean targets
GP_VARIANCE = 25.0
GP_LENGTH_SCALE_PER_SQRT_DIM = 3.0


@dataclass(frozen=True)
class PretextTask:
    """One pretext task: features named like the target's (all numeric), targets, and how it was drawn."""

    X: pd.DataFrame
    y: np.ndarray
    recipe: str


Draw = Callable[[int, int, int, int, int], tuple[np.ndarray, np.ndarray, str]]


@dataclass(frozen=True)
class PretextGenerator:
    """A registered generator: `draw(task, n_features, n_classes, n_rows, seed)` gives task `task`'s
    (X, y, recipe); `generate` gives both tasks with the target's feature names."""

    name: str
    kinds: tuple[str, ...]
    draw: Draw
    description: str

    def generate(
        self,
        kind: str,
        n_features: int,
        n_classes: int | None,
        n_rows: int,
        seed: int,
        feature_names: Sequence[str] | None = None,
    ) -> list[PretextTask]:
        self.check_kind(kind)
        names = list(feature_names) if feature_names is not None else [f"x{i + 1}" for i in range(n_features)]
        if len(names) != n_features or n_features < 1:
            raise ValueError(f"{len(names)} feature names for {n_features} features")
        classes = n_classes or 0
        if kind == "classification" and classes < 2:
            raise ValueError("a classification pretext task needs at least 2 classes")
        if n_rows < max(2, classes):
            raise LiftbenchError(
                f"pretext_rows={n_rows} is too few for {max(2, classes)} classes; "
                f"use at least {max(2, classes)}"
            )
        tasks = []
        for task in range(1, N_TASKS + 1):
            X, y, recipe = self.draw(task, n_features, classes, n_rows, seed)
            tasks.append(PretextTask(pd.DataFrame(X, columns=names), y, recipe))
        return tasks

    def check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise LiftbenchError(
                f"pretext generator {self.name!r} makes {', '.join(self.kinds)} tasks, the target is {kind}; "
                f"use one of: {', '.join(pretext_names(kind))}"
            )


GENERATORS: Registry[PretextGenerator] = Registry("pretext generator")
DEFAULT_PRETEXT = {"classification": "make-classification", "regression": "linear-regression"}


def register_pretext(generator: PretextGenerator) -> PretextGenerator:
    return GENERATORS.register(generator.name, generator)


def pretext_names(kind: str | None = None) -> list[str]:
    """Registered generators, those for `kind` only when given."""
    return [name for name, g in GENERATORS.items().items() if kind is None or kind in g.kinds]


def get_pretext(name: str | None, kind: str) -> PretextGenerator:
    """The generator `name` (None: the default for `kind`), checked against the target's kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    generator = GENERATORS.get(name or DEFAULT_PRETEXT[kind])
    generator.check_kind(kind)
    return generator


def generate(
    kind: str,
    n_features: int,
    n_classes: int | None,
    n_rows: int,
    seed: int,
    feature_names: Sequence[str] | None = None,
    name: str | None = None,
) -> list[PretextTask]:
    """The two pretext tasks of generator `name` (None: the default for `kind`) for a target's shape."""
    return get_pretext(name, kind).generate(kind, n_features, n_classes, n_rows, seed, feature_names)


def _make_classification(
    task: int, n_features: int, n_classes: int, n_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    random_state = 2 * seed + task
    if 2**n_features >= n_classes:
        settings = {
            "n_samples": n_rows,
            "n_classes": n_classes,
            "n_features": n_features,
            "n_informative": n_features,
            "n_redundant": 0,
            "n_clusters_per_class": 1,
            "flip_y": 0.0,
            "random_state": random_state,
        }
        X, y = make_classification(**settings)
        call = "make_classification"
    else:
        settings = {
            "n_samples": n_rows,
            "centers": n_classes,
            "n_features": n_features,
            "random_state": random_state,
        }
        X, y = make_blobs(**settings)
        call = "make_blobs"
    arguments = ", ".join(f"{k}={v!r}" for k, v in settings.items())
    return X, y.astype(np.int64), f"sklearn.datasets.{call}({arguments})"


def _uniform_inputs(rng: np.random.Generator, n_rows: int, n_features: int) -> np.ndarray:
    return rng.uniform(*FEATURE_RANGE, size=(n_rows, n_features))


def _linear_regression(
    task: int, n_features: int, n_classes: int, n_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng([seed, task])
    X = _uniform_inputs(rng, n_rows, n_features)
    weights = rng.normal(0.0, WEIGHT_SCALE / math.sqrt(n_features), size=n_features)
    clean = X @ weights
    y = clean + rng.normal(0.0, NOISE_LEVEL * float(np.std(clean)), size=n_rows)
    recipe = (
        f"X ~ U{FEATURE_RANGE}^{n_features}, y = X @ w + noise (std {NOISE_LEVEL} x std(X @ w)), "
        f"w = {np.round(weights, 4).tolist()}, rng [{seed}, {task}]"
    )
    return X, y, recipe


def _gp_prior(
    task: int, n_features: int, n_classes: int, n_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng([seed, task])
    X = _uniform_inputs(rng, n_rows, n_features)
    kernel = ConstantKernel(GP_VARIANCE, constant_value_bounds="fixed") * RBF(
        length_scale=GP_LENGTH_SCALE_PER_SQRT_DIM * math.sqrt(n_features), length_scale_bounds="fixed"
    )
    draw_seed = int(rng.integers(2**31 - 1))
    y = GaussianProcessRegressor(kernel=kernel).sample_y(X, n_samples=1, random_state=draw_seed)[:, 0]
    return X, y, f"X ~ U{FEATURE_RANGE}^{n_features}, y ~ GP(0, {kernel}), rng [{seed}, {task}]"


register_pretext(
    PretextGenerator(
        "make-classification",
        ("classification",),
        _make_classification,
        "the paper's pretext tasks: make_classification with the target's features and classes",
    )
)
register_pretext(
    PretextGenerator(
        "linear-regression",
        ("regression",),
        _linear_regression,
        "random linear functions y = X w + noise on U(-10, 10)^p",
    )
)
register_pretext(
    PretextGenerator(
        "gp-prior",
        ("regression",),
        _gp_prior,
        "functions drawn from a Gaussian-process prior (RBF kernel) on U(-10, 10)^p",
    )
)
