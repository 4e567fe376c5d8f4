"""Synthetic classification tasks: the paper's 2-D generators, two Swiss rolls and a random-MLP teacher.

Every generator returns `(X, y)`: float features of shape (n, dims) and integer labels 0..K-1 where
every class has rows, and draws everything from its `seed` (never from global random state), so the
same parameters give the same rows and another seed gives other rows. Importing this module
registers one task per generator in `tasks.registry` (suite "synthetic-classification").

Defaults follow the paper's generator A (lift-spec.md §2): n = 2000, noise 0.1, seed 123. blobs,
circles, moons and two-circles pass `seed` to scikit-learn as `random_state` exactly as the paper's
code did, so at seed 123 they make the same scikit-learn calls as the paper.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs, make_circles, make_moons

from tasks.errors import LiftbenchError
from tasks.registry import register
from tasks.spec import FeatureSpec, TaskData, TaskSpec

SUITE = "synthetic-classification"
LIFT_CITATION = (
    "Dinh et al., LIFT: Language-Interfaced Fine-Tuning for Non-Language Machine Learning Tasks, NeurIPS 2022"
)
SKLEARN_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2011"
PAPER_SEED = 123
MAX_SEED = 2**32 - 1  # scikit-learn's limit for an integer random_state
TEACHER_RANGE = 6.0  # nn-teacher inputs are uniform in [-6, 6]^dims, as the paper's NN generator
MAX_DIFFICULTY = 10
ROLL_START = 1.5 * np.pi  # the rolls start at angle 1.5*pi, as scikit-learn's make_swiss_roll
ROLL_HEIGHT = 21.0  # the height of a 3-D roll, as make_swiss_roll


def _check(ok: bool, task: str, param: str, value: Any, requirement: str) -> None:
    if not ok:
        raise LiftbenchError(
            f"task {task!r}, parameter {param!r}: {value!r} is invalid; it must be {requirement}"
        )


def _check_common(task: str, n: int, n_classes: int, noise: float, seed: int) -> None:
    _check(n >= n_classes, task, "n", n, f"at least {n_classes} (one row per class)")
    _check(bool(np.isfinite(noise)) and noise >= 0, task, "noise", noise, "a finite number >= 0")
    _check(0 <= seed <= MAX_SEED, task, "seed", seed, f"an integer in [0, {MAX_SEED}]")


def _split_evenly(n: int, k: int) -> np.ndarray:
    """Rows per class when n rows are shared out over k classes: the first n % k classes get one more."""
    return n // k + (np.arange(k) < n % k)


def gaussian9(n: int = 2000, noise: float = 0.1, seed: int = PAPER_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Nine Gaussian clusters centred on the grid {-10, 0, 10}^2, each with covariance `noise`·I.

    `noise` is a variance, as in the paper (covariance 0.1·I). The paper put n//9 rows in each
    cluster and dropped the remainder; here all n rows are used: the first n % 9 clusters get one
    row more. Cluster (i, j), in row-major order over the grid, has label 3·i + j. Rows are shuffled.
    """
    _check_common("gaussian9", n, 9, noise, seed)
    rng = np.random.default_rng(seed)
    grid = np.array([-10.0, 0.0, 10.0])
    centres = np.array([(a, b) for a in grid for b in grid])
    y = np.repeat(np.arange(9), _split_evenly(n, 9))
    X = centres[y] + rng.normal(0.0, np.sqrt(noise), size=(n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


def blobs(
    n: int = 2000, centers: int = 4, dims: int = 2, noise: float = 1.0, seed: int = PAPER_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `make_blobs`: `centers` isotropic clusters in `dims` dimensions, centres drawn
    in (-10, 10)^dims; `noise` is the clusters' standard deviation (make_blobs' `cluster_std`)."""
    _check(centers >= 2, "blobs", "centers", centers, "at least 2")
    _check(dims >= 1, "blobs", "dims", dims, "at least 1")
    _check_common("blobs", n, centers, noise, seed)
    X, y = make_blobs(n_samples=n, centers=centers, n_features=dims, cluster_std=noise, random_state=seed)
    return X, y


def _check_factor(task: str, factor: float) -> None:
    _check(0 <= factor < 1, task, "factor", factor, "in [0, 1) (the inner circle's radius over the outer's)")


def circles(
    n: int = 2000, noise: float = 0.1, factor: float = 0.8, seed: int = PAPER_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `make_circles`: an outer circle (label 0) around an inner one (label 1) whose
    radius is `factor`; `noise` is the standard deviation of the Gaussian noise on each point."""
    _check_common("circles", n, 2, noise, seed)
    _check_factor("circles", factor)
    return make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed)


def moons(n: int = 2000, noise: float = 0.1, seed: int = PAPER_SEED) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `make_moons`: two interleaving half circles; `noise` is the Gaussian noise's std."""
    _check_common("moons", n, 2, noise, seed)
    return make_moons(n_samples=n, noise=noise, random_state=seed)


def two_circles(
    n: int = 2000, noise: float = 0.1, factor: float = 0.8, shift: float = 3.0, seed: int = PAPER_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Two `make_circles` pairs side by side, the second shifted by `shift` on x1 and its labels
    flipped (the paper's "two circles": labels y1 ∪ (1 - y2)).

    The first pair has n // 2 rows drawn with random_state `seed`, the second the other rows with
    random_state `seed + 123` (so seed 123 gives the paper's 123 and 246). Rows are shuffled.
    """
    _check_common("two-circles", n, 2, noise, seed)
    _check_factor("two-circles", factor)
    _check(bool(np.isfinite(shift)), "two-circles", "shift", shift, "a finite number")
    X1, y1 = make_circles(n_samples=n // 2, noise=noise, factor=factor, random_state=seed)
    X2, y2 = make_circles(
        n_samples=n - n // 2, noise=noise, factor=factor, random_state=(seed + PAPER_SEED) % (MAX_SEED + 1)
    )
    X = np.vstack([X1, X2 + np.array([shift, 0.0])])
    y = np.concatenate([y1, 1 - y2])
    order = np.random.default_rng(seed).permutation(n)
    return X[order], y[order]


def rolls(
    n: int = 2000, noise: float = 0.1, turns: float = 1.5, dims: int = 2, seed: int = PAPER_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Swiss rolls, one per class (the paper listed "rolls" but never implemented it).

    Each class is a spiral r = θ with θ uniform in [1.5π, 1.5π + 2π·turns] (turns = 1.5 gives
    scikit-learn's `make_swiss_roll` angle range), point (θ cos θ, θ sin θ); class 1 is class 0
    rotated by π, so the arms of the two classes alternate, about π apart. With dims = 3 each point
    gets a height uniform in [0, 21] as its middle coordinate, as `make_swiss_roll`. `noise` is the
    std of Gaussian noise added to every coordinate. Class 0 gets n // 2 rows; rows are shuffled.
    """
    _check_common("rolls", n, 2, noise, seed)
    _check(bool(np.isfinite(turns)) and turns > 0, "rolls", "turns", turns, "a finite number > 0")
    _check(dims in (2, 3), "rolls", "dims", dims, "2 or 3")
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], _split_evenly(n, 2))
    theta = ROLL_START + 2 * np.pi * turns * rng.uniform(0.0, 1.0, n)
    sign = np.where(y == 0, 1.0, -1.0)  # a rotation by π flips both plane coordinates
    columns = [sign * theta * np.cos(theta), sign * theta * np.sin(theta)]
    if dims == 3:
        columns.insert(1, ROLL_HEIGHT * rng.uniform(0.0, 1.0, n))
    X = np.column_stack(columns) + rng.normal(0.0, noise, size=(n, dims))
    order = rng.permutation(n)
    return X[order], y[order]


@dataclass(frozen=True)
class NNTeacher:
    """A random tanh MLP that labels points by the argmax of its outputs (plus balancing biases)."""

    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weights, biases) per hidden layer
    readout: np.ndarray  # (width, n_classes)
    output_bias: np.ndarray  # (n_classes,), set so that the classes share the input cube evenly

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """Scores of shape (n, n_classes) before the balancing biases."""
        h = np.asarray(X, dtype=float) / TEACHER_RANGE
        for weights, biases in self.hidden:
            h = np.tanh(h @ weights + biases)
        return h @ self.readout

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.outputs(X) + self.output_bias, axis=1)


def _balancing_bias(scores: np.ndarray, max_sweeps: int = 50, tolerance: float = 0.02) -> np.ndarray:
    """Biases b such that argmax(scores + b) gives each of the K columns about 1/K of the rows.

    Coordinate ascent: each class's bias in turn is set to the value that gives that class exactly
    1/K of the rows given the other biases (a quantile of its margin over the best other class),
    until every share is within `tolerance`·(1/K) of 1/K.
    """
    n, k = scores.shape
    bias = np.zeros(k)
    for _ in range(max_sweeps):
        for c in range(k):
            best_other = np.delete(scores + bias, c, axis=1).max(axis=1)
            bias[c] = -np.quantile(scores[:, c] - best_other, 1.0 - 1.0 / k)
        share = np.bincount(np.argmax(scores + bias, axis=1), minlength=k) / n
        if np.all(np.abs(share * k - 1.0) <= tolerance):
            break
    return bias


def make_nn_teacher(
    dims: int, n_classes: int, difficulty: int, seed: int, n_probe: int = 20_000
) -> NNTeacher:
    """The teacher that labels the nn-teacher task with the same dims, n_classes, difficulty and seed.

    Difficulty d in 1..10 sets the network: d hidden tanh layers of 8·d units, weights
    N(0, g²/fan_in) and biases N(0, (g/2)²) with gain g = 1 + (d - 1)/2, on inputs scaled to
    [-1, 1]. Deeper, wider and higher-gain random tanh networks fold the input space more often, so
    the decision boundary gets longer and more curved as d grows: on 2-D inputs with 2 classes and
    2000 rows, logistic regression reaches about 98 % at d = 1, 70 % at d = 5 and 57 % at d = 10,
    and 5-nearest-neighbours about 99 %, 97 % and 68 % (mean over 8 seeds).

    The output biases are then set on `n_probe` uniform points of the input cube so that each class
    gets about 1/n_classes of it (`_balancing_bias`).
    """
    task = "nn-teacher"
    _check(dims >= 1, task, "dims", dims, "at least 1")
    _check(n_classes >= 2, task, "n_classes", n_classes, "at least 2")
    _check(
        1 <= difficulty <= MAX_DIFFICULTY,
        task,
        "difficulty",
        difficulty,
        f"an integer in 1..{MAX_DIFFICULTY}",
    )
    _check(0 <= seed <= MAX_SEED, task, "seed", seed, f"an integer in [0, {MAX_SEED}]")
    rng = np.random.default_rng(seed)
    gain = 1.0 + 0.5 * (difficulty - 1)
    width = 8 * difficulty
    hidden = []
    fan_in = dims
    for _ in range(difficulty):
        weights = rng.normal(0.0, gain / np.sqrt(fan_in), size=(fan_in, width))
        biases = rng.normal(0.0, gain / 2, size=width)
        hidden.append((weights, biases))
        fan_in = width
    readout = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, n_classes))
    unbalanced = NNTeacher(tuple(hidden), readout, np.zeros(n_classes))
    probe = rng.uniform(-TEACHER_RANGE, TEACHER_RANGE, size=(n_probe, dims))
    return NNTeacher(unbalanced.hidden, readout, _balancing_bias(unbalanced.outputs(probe)))


def nn_teacher(
    n: int = 2000, dims: int = 2, n_classes: int = 2, difficulty: int = 1, seed: int = PAPER_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs uniform in [-6, 6]^dims labelled by `make_nn_teacher(dims, n_classes, difficulty, seed)`.

    The paper labelled points with an MLP trained for 10, 80 or 490 epochs on data that is not
    published; here `difficulty` plays the part of the training time. The inputs come from a child
    stream of `seed`, independent of the teacher's, so the teacher does not depend on n.
    """
    teacher = make_nn_teacher(dims, n_classes, difficulty, seed)
    _check(n >= n_classes, "nn-teacher", "n", n, f"at least {n_classes} (one row per class)")
    data_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    X = data_rng.uniform(-TEACHER_RANGE, TEACHER_RANGE, size=(n, dims))
    y = teacher.predict(X)
    counts = np.bincount(y, minlength=n_classes)
    if (counts == 0).any():
        raise LiftbenchError(
            f"task 'nn-teacher': with n={n}, class {int(np.argmin(counts))} got no rows; "
            "use a larger n or another seed"
        )
    return X, y


def _frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(X, dtype=float), columns=[f"x{j + 1}" for j in range(X.shape[1])])


def _loader(name: str, generator: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Callable[..., TaskData]:
    def load(**params: Any) -> TaskData:
        X, y = generator(**params)
        frame = _frame(X)
        arguments = ", ".join(f"{key}={value!r}" for key, value in params.items())
        return TaskData(
            name=name,
            kind="classification",
            X=frame,
            y=pd.Series(np.asarray(y, dtype=np.int64), name="y"),
            feature_types=dict.fromkeys(frame.columns, "numeric"),
            classes=tuple(str(k) for k in range(int(np.max(y)) + 1)),
            source="synthetic",
            source_detail=f"synthetic_classification.{generator.__name__}({arguments})",
            params=dict(params),
        )

    return load


def _features(dims: int) -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(f"x{j + 1}") for j in range(dims))


def _register(
    name: str,
    generator: Callable[..., tuple[np.ndarray, np.ndarray]],
    description: str,
    *,
    dims: int | None,
    n_classes: int | None,
    uses_sklearn: bool,
) -> None:
    """`dims` and `n_classes` are given where they do not depend on the task's parameters."""
    defaults = {key: p.default for key, p in inspect.signature(generator).parameters.items()}
    register(
        TaskSpec(
            name=name,
            kind="classification",
            source="synthetic",
            loader=_loader(name, generator),
            defaults=defaults,
            description=description,
            features=None if dims is None else _features(dims),
            class_labels=None if n_classes is None else tuple(str(k) for k in range(n_classes)),
            citation=f"{LIFT_CITATION}; {SKLEARN_CITATION}" if uses_sklearn else LIFT_CITATION,
            suites=(SUITE,),
        )
    )


_register(
    "gaussian9",
    gaussian9,
    "Nine Gaussian clusters on the {-10,0,10}^2 grid with covariance noise*I, 9 classes",
    dims=2,
    n_classes=9,
    uses_sklearn=False,
)
_register(
    "blobs",
    blobs,
    "scikit-learn make_blobs: `centers` Gaussian clusters in `dims` dimensions, std `noise`",
    dims=None,
    n_classes=None,
    uses_sklearn=True,
)
_register(
    "circles",
    circles,
    "scikit-learn make_circles: an outer and an inner noisy circle, 2 classes",
    dims=2,
    n_classes=2,
    uses_sklearn=True,
)
_register(
    "moons",
    moons,
    "scikit-learn make_moons: two interleaving noisy half circles, 2 classes",
    dims=2,
    n_classes=2,
    uses_sklearn=True,
)
_register(
    "two-circles",
    two_circles,
    "Two make_circles pairs side by side, the second shifted and its labels flipped, 2 classes",
    dims=2,
    n_classes=2,
    uses_sklearn=True,
)
_register(
    "rolls",
    rolls,
    "Two interleaved Swiss-roll spirals rotated by pi against each other (2-D or 3-D), 2 classes",
    dims=None,
    n_classes=2,
    uses_sklearn=True,
)
_register(
    "nn-teacher",
    nn_teacher,
    "Points in [-6,6]^dims labelled by a seeded random tanh MLP; `difficulty` 1..10 sets its complexity",
    dims=None,
    n_classes=None,
    uses_sklearn=False,
)
