"""Perturbations of a task's rows: registered, validated, composable objects (HELM's augmentations for tables).

A perturbation is made by name with its parameters (`make_perturbation("feature-noise", {"scale": 0.5})`),
which checks every parameter up front, and is then applied to one run's data and split:
`apply(data, split, seed)` returns a `Perturbed` with NEW `TaskData` and `Split` objects and a report
of what it did (rows changed, labels flipped, realised noise). The input `TaskData` is never modified:
the runner caches loaded tasks and shares them between runs.

`applies_to` says which rows change: "train" (only training rows; validation and test are left
alone, unlike the paper's baseline label corruption, which also corrupted validation labels),
"test" (only test rows) or "all" (every row: the feature columns themselves change).

Scales are relative to each feature's training-row standard deviation (population std, ddof=0, as
scikit-learn's StandardScaler; missing values ignored), so one setting means the same on every task.
A feature that is constant on the training rows is never changed by the relative perturbations.
Integer features stay integers: their perturbed values are rounded (truncated toward the original
value in `adversarial`, so the budget holds).

Registered perturbations (lift-spec.md section 8, rows 8-11, and the misleading-names test of section 11):

* `feature-noise` (test): additive noise on numeric test features; `kind` gaussian (std = scale·std),
  uniform (in ±scale·std) or sign (±scale·std, each with probability 1/2), the paper's MNIST noise kinds;
  `clip` keeps values within the training range (the paper clipped pixels to 0..255).
* `label-corruption` (train, classification): round(fraction·n_train) training labels flipped, to a class
  drawn uniformly from the other classes (`random`) or to (y + 1) mod K (`systematic`). Any training
  row can be chosen, the first one included (the paper's code never flipped index 0).
* `outliers` (train, regression): round(fraction·n_train) rows with inputs uniform within the training
  range (categorical values drawn from the training rows) and targets |N(0, y_scale²)| (the paper:
  |N(0, 20²)|), appended to the training rows or replacing as many of them.
* `irrelevant-features` (all): `n` pure-noise columns `noise1`, ..., N(0, 1) or U(0, 1).
* `permute-feature-order` (all): the columns in a seeded order other than their own.
* `shuffle-feature-names` (all): the names shuffled so that no column keeps its own (values unchanged).
* `adversarial` (test): an L-inf projected-gradient attack on a small surrogate MLP trained on the
  training rows (numeric features, preprocessed by `TabularPreprocessor`), transferred to the method.
* `compose`: several perturbations applied in order, e.g. corrupt labels and add test noise.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.lazy_registry import Registry
from tasks.preprocessing import TabularPreprocessor
from tasks.spec import KINDS, TaskData
from tasks.splits import Split, index_hash

APPLIES_TO: tuple[str, ...] = ("train", "test", "all")
NUMERIC_TYPES: tuple[str, ...] = ("numeric", "integer")
MAX_PERMUTATION_DRAWS = 1000  # a non-identity permutation of p >= 2 items is found in ~e draws


# Parameters: declared once per perturbation (or evaluation set), checked with one-line errors.

_REQUIRED = object()


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default (`_REQUIRED` for none), a parser that returns the checked value or
    raises ValueError (its text is appended to the message), and the requirement shown to the user."""

    default: Any
    parse: Callable[[Any], Any]
    requirement: str


def number(
    default: float | None, *, low: float | None = None, high: float | None = None, above: bool = False
) -> ParamSpec:
    """A finite number >= low (> low with `above`) and <= high; an int is read as a float."""
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if above else '>='} {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    requirement = "a finite number" + (f" {' and '.join(bounds)}" if bounds else "")

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError
        out = float(value)
        if low is not None and (out <= low if above else out < low):
            raise ValueError
        if high is not None and out > high:
            raise ValueError
        return out

    return ParamSpec(default, parse, requirement)


def integer(default: int, *, low: int) -> ParamSpec:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError
        return int(value)

    return ParamSpec(default, parse, f"an integer >= {low}")


def flag(default: bool) -> ParamSpec:
    def parse(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value

    return ParamSpec(default, parse, "true or false")


def choice(default: str, options: Sequence[str]) -> ParamSpec:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(did_you_mean(str(value), options))
        return value

    return ParamSpec(default, parse, f"one of {', '.join(options)}")


def feature_names() -> ParamSpec:
    """null (the default set of features) or a non-empty list of feature names."""

    def parse(value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise ValueError
        if not all(isinstance(item, str) and item for item in value):
            raise ValueError
        return tuple(value)

    return ParamSpec(None, parse, "null or a non-empty list of feature names")


def validate_params(owner: str, specs: Mapping[str, ParamSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of `owner` (e.g. "perturbation 'outliers'"), defaults filled in, each checked."""
    unknown = sorted(set(given) - set(specs), key=str)
    if unknown:
        key = str(unknown[0])
        raise LiftbenchError(
            f"{owner} has no parameter {key!r}{did_you_mean(key, specs)}; "
            f"its parameters: {', '.join(specs) or 'none'}"
        )
    out = {}
    for key, spec in specs.items():
        if key not in given:
            if spec.default is _REQUIRED:
                raise LiftbenchError(f"{owner} needs parameter {key!r}: {spec.requirement}")
            out[key] = spec.default
            continue
        value = given[key]
        try:
            out[key] = spec.parse(value)
        except ValueError as err:
            shown = value.to_json() if hasattr(value, "to_json") else value
            raise LiftbenchError(
                f"{owner}, parameter {key!r}: {shown!r} is invalid; it must be {spec.requirement}{err}"
            ) from None
    return out


# The protocol and the registry.


@dataclass(frozen=True)
class Perturbed:
    """What a perturbation gives back: new data, the split to use with it, and what was done."""

    data: TaskData
    split: Split
    report: dict[str, Any]


class TablePerturbation(ABC):
    """A named, parameterised change to a task's rows; subclasses set the class attributes below."""

    name: str
    description: str
    applies_to: str  # "train", "test" or "all"
    kinds: tuple[str, ...] = KINDS  # task kinds it applies to
    changes_features = False  # True when the feature columns themselves change (names, order, number)
    param_specs: Mapping[str, ParamSpec] = {}

    def __init__(self, **params: Any) -> None:
        self.params = validate_params(f"perturbation {self.name!r}", self.param_specs, params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def check(self, data: TaskData) -> None:
        """Raise a LiftbenchError if this perturbation cannot apply to `data` (its kind, its columns)."""
        if data.kind not in self.kinds:
            raise LiftbenchError(
                f"perturbation {self.name!r} applies to {' and '.join(self.kinds)} tasks; "
                f"task {data.name!r} is {data.kind}"
            )

    def apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        """The perturbed copy of `data` and `split`; every random draw comes from `seed`."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise LiftbenchError(f"perturbation {self.name!r}: seed {seed!r} is not an integer >= 0")
        self.check(data)
        return self._apply(data, split, int(seed))

    @abstractmethod
    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed: ...


def _check_perturbation(name: str, cls: type[TablePerturbation]) -> None:
    if cls.applies_to not in APPLIES_TO:
        raise ValueError(f"perturbation {name!r}: applies_to must be one of {APPLIES_TO}")


PERTURBATIONS: Registry[type[TablePerturbation]] = Registry("perturbation", check=_check_perturbation)
register_perturbation = PERTURBATIONS.register_class


def make_perturbation(name: str, params: Mapping[str, Any] | None = None) -> TablePerturbation:
    """The registered perturbation `name` with `params` checked (unknown names and values are errors)."""
    return PERTURBATIONS.get(name)(**dict(params or {}))


# Helpers shared by the perturbations.


def _count(fraction: float, n: int) -> int:
    """round(fraction·n), halves rounded up (Python's round() would round 0.5 down to 0)."""
    return min(n, math.floor(fraction * n + 0.5))


def _copy(data: TaskData, **changes: Any) -> TaskData:
    """A new TaskData with `changes`; mutable containers are copied so the original is never shared."""
    fields = {
        "params": dict(data.params),
        "feature_types": dict(data.feature_types),
        "fixed_split": None if data.fixed_split is None else dict(data.fixed_split),
    }
    return dataclasses.replace(data, **{**fields, **changes})


def _numeric_features(data: TaskData) -> list[str]:
    return [str(c) for c in data.X.columns if data.feature_types.get(c) in NUMERIC_TYPES]


def _values(data: TaskData, rows: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """The cells as a float array, missing values as NaN."""
    return data.X.iloc[rows][list(columns)].to_numpy(dtype=float, na_value=np.nan)


def _training_stats(data: TaskData, split: Split, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-column std (ddof=0), min and max over the training rows; 0 std for an all-missing column."""
    train = _values(data, split.train, columns)
    present = ~np.isnan(train).all(axis=0)
    stats = {"std": np.zeros(len(columns)), "min": np.full(len(columns), np.nan)}
    stats["max"] = stats["min"].copy()
    if present.any():
        kept = train[:, present]
        stats["std"][present] = np.nanstd(kept, axis=0)
        stats["min"][present] = np.nanmin(kept, axis=0)
        stats["max"][present] = np.nanmax(kept, axis=0)
    return stats


def _column(values: np.ndarray, original: pd.Series, feature_type: str) -> np.ndarray:
    """New values for a column; an integer feature's are rounded, in its dtype where they fit."""
    if feature_type != "integer":
        return values.astype(float)
    values = np.round(values)
    if np.isnan(values).any():
        return values
    if original.dtype.kind in "iu":
        info = np.iinfo(original.dtype)
        if values.min() >= info.min and values.max() <= info.max:
            return values.astype(original.dtype)
    return values.astype(np.int64)


def _with_cells(data: TaskData, rows: np.ndarray, columns: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """A copy of data.X with `values` (rows x columns) written into those cells."""
    X = data.X.copy()
    for j, column in enumerate(columns):
        full = data.X[column].to_numpy(dtype=float, na_value=np.nan, copy=True)
        full[rows] = values[:, j]
        X[column] = _column(full, data.X[column], data.feature_types[column])
    return X


def _relative_change(before: np.ndarray, after: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(after - before) / std over the cells of features with a positive std, and that column mask."""
    varying = std > 0
    change = (after[:, varying] - before[:, varying]) / std[varying]
    return change[~np.isnan(change)], varying


def _non_identity_permutation(rng: np.random.Generator, n: int, derangement: bool) -> np.ndarray:
    """A permutation of n >= 2 items that moves some item (every item, with `derangement`)."""
    for _ in range(MAX_PERMUTATION_DRAWS):
        order = rng.permutation(n)
        fixed = order == np.arange(n)
        suitable = not fixed.any() if derangement else not fixed.all()
        if suitable:
            return order
    raise RuntimeError(f"no suitable permutation of {n} items in {MAX_PERMUTATION_DRAWS} draws")


def _checked_features(name: str, data: TaskData, requested: tuple[str, ...] | None) -> list[str]:
    """The numeric features a perturbation changes: `requested`, or all numeric features."""
    numeric = _numeric_features(data)
    if requested is None:
        if not numeric:
            raise LiftbenchError(
                f"perturbation {name!r}: task {data.name!r} has no numeric feature to perturb"
            )
        return numeric
    columns = [str(c) for c in data.X.columns]
    for feature in requested:
        if feature not in columns:
            raise LiftbenchError(
                f"perturbation {name!r}: task {data.name!r} has no feature {feature!r}"
                f"{did_you_mean(feature, columns)}; give names from its columns"
            )
        if feature not in numeric:
            raise LiftbenchError(
                f"perturbation {name!r}: feature {feature!r} of task {data.name!r} is "
                f"{data.feature_types.get(feature)}, not numeric; list numeric features only"
            )
    return list(dict.fromkeys(requested))


# The perturbations.


@register_perturbation
class FeatureNoise(TablePerturbation):
    name = "feature-noise"
    description = "additive gaussian, uniform or sign noise on numeric test features, scaled by training std"
    applies_to = "test"
    param_specs = {
        "kind": choice("gaussian", ("gaussian", "uniform", "sign")),
        "scale": number(0.1, low=0.0),
        "features": feature_names(),
        "clip": flag(False),
    }

    def check(self, data: TaskData) -> None:
        super().check(data)
        _checked_features(self.name, data, self.params["features"])

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = _checked_features(self.name, data, self.params["features"])
        stats = _training_stats(data, split, columns)
        rng = np.random.default_rng(seed)
        shape = (split.test.size, len(columns))
        unit = {
            "gaussian": lambda: rng.standard_normal(shape),
            "uniform": lambda: rng.uniform(-1.0, 1.0, shape),
            "sign": lambda: rng.choice(np.array([-1.0, 1.0]), size=shape),
        }[self.params["kind"]]()
        before = _values(data, split.test, columns)
        after = before + unit * (self.params["scale"] * stats["std"])
        if self.params["clip"]:
            after = np.clip(after, stats["min"], stats["max"])
        X = _with_cells(data, split.test, columns, after)
        realised = X[columns].iloc[split.test].to_numpy(dtype=float, na_value=np.nan)
        change, varying = _relative_change(before, realised, stats["std"])
        report = {
            "rows": int(split.test.size),
            "features": len(columns),
            "features_unchanged_constant": int((~varying).sum()),
            "realised_noise_std": float(np.std(change)) if change.size else 0.0,
            "realised_max_abs": float(np.max(np.abs(change))) if change.size else 0.0,
        }
        return Perturbed(_copy(data, X=X), split, report)


@register_perturbation
class LabelCorruption(TablePerturbation):
    name = "label-corruption"
    description = "flip a fraction of the training labels, to a random other class or to (y+1) mod K"
    applies_to = "train"
    kinds = ("classification",)
    param_specs = {
        "fraction": number(0.1, low=0.0, high=1.0),
        "mode": choice("random", ("random", "systematic")),
    }

    def check(self, data: TaskData) -> None:
        super().check(data)
        if data.classes is None or len(data.classes) < 2:
            raise LiftbenchError(f"perturbation {self.name!r}: task {data.name!r} has fewer than 2 classes")

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        n_classes = len(data.classes or ())
        rng = np.random.default_rng(seed)
        n_flip = _count(self.params["fraction"], split.train.size)
        rows = split.train[rng.choice(split.train.size, size=n_flip, replace=False)]
        y = data.y.to_numpy(dtype=np.int64, copy=True)
        if self.params["mode"] == "systematic":
            y[rows] = (y[rows] + 1) % n_classes
        else:
            y[rows] = (y[rows] + rng.integers(1, n_classes, size=n_flip)) % n_classes
        report = {
            "n_train": int(split.train.size),
            "flipped": int(n_flip),
            "flipped_rows_hash": index_hash(np.sort(rows)),
        }
        new_y = pd.Series(y, index=data.y.index, name=data.y.name)
        return Perturbed(_copy(data, y=new_y), split, report)


@register_perturbation
class Outliers(TablePerturbation):
    name = "outliers"
    description = "training rows with uniform inputs and targets |N(0, y_scale^2)|, appended or replacing"
    applies_to = "train"
    kinds = ("regression",)
    param_specs = {
        "fraction": number(0.02, low=0.0, high=1.0),
        "mode": choice("append", ("append", "replace")),
        "y_scale": number(20.0, low=0.0),
    }

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        rng = np.random.default_rng(seed)
        n_train = split.train.size
        n_out = _count(self.params["fraction"], n_train)
        columns = [str(c) for c in data.X.columns]
        numeric = _numeric_features(data)
        stats = _training_stats(data, split, numeric)
        new = {}
        for column in columns:
            if column in numeric:
                j = numeric.index(column)
                values = rng.uniform(stats["min"][j], stats["max"][j], n_out)
                new[column] = _column(values, data.X[column], data.feature_types[column])
            else:
                seen = data.X[column].iloc[split.train].dropna()
                picks = rng.integers(0, len(seen), n_out) if len(seen) else np.zeros(0, dtype=int)
                new[column] = seen.iloc[picks].reset_index(drop=True) if len(seen) else [np.nan] * n_out
        y_out = np.abs(rng.normal(0.0, self.params["y_scale"], n_out))
        positions = np.arange(data.n_rows, data.n_rows + n_out, dtype=np.int64)
        train = split.train.copy()
        if self.params["mode"] == "append":
            train = np.concatenate([train, positions])
        else:
            train[np.sort(rng.choice(n_train, size=n_out, replace=False))] = positions
        X = pd.concat([data.X, pd.DataFrame(new, columns=columns)], ignore_index=True)
        y = pd.concat([data.y, pd.Series(y_out, name=data.y.name)], ignore_index=True)
        fixed = None
        if data.fixed_split is not None:
            fixed = {**data.fixed_split, "train": np.concatenate([data.fixed_split["train"], positions])}
        new_split = Split(train, split.val, split.test, split.protocol, split.seed, split.params)
        report = {
            "n_train": int(n_train),
            "outliers": int(n_out),
            "mode": self.params["mode"],
            "y_out_mean": float(y_out.mean()) if n_out else None,
            "y_out_max": float(y_out.max()) if n_out else None,
        }
        return Perturbed(_copy(data, X=X, y=y, fixed_split=fixed), new_split, report)


@register_perturbation
class IrrelevantFeatures(TablePerturbation):
    name = "irrelevant-features"
    description = "add n pure-noise columns noise1..noiseN, gaussian N(0,1) or uniform U(0,1)"
    applies_to = "all"
    changes_features = True
    param_specs = {"n": integer(1, low=1), "distribution": choice("gaussian", ("gaussian", "uniform"))}

    def _names(self) -> list[str]:
        return [f"noise{j + 1}" for j in range(self.params["n"])]

    def check(self, data: TaskData) -> None:
        super().check(data)
        taken = sorted(set(self._names()) & {str(c) for c in data.X.columns})
        if taken:
            raise LiftbenchError(
                f"perturbation {self.name!r}: task {data.name!r} already has a column named {taken[0]!r}"
            )

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        rng = np.random.default_rng(seed)
        shape = (data.n_rows, self.params["n"])
        if self.params["distribution"] == "gaussian":
            values = rng.standard_normal(shape)
        else:
            values = rng.uniform(0.0, 1.0, shape)
        names = self._names()
        noise = pd.DataFrame(values, columns=names, index=data.X.index)
        types = {**data.feature_types, **dict.fromkeys(names, "numeric")}
        X = pd.concat([data.X, noise], axis=1)
        return Perturbed(_copy(data, X=X, feature_types=types), split, {"added": names})


class _ColumnShuffle(TablePerturbation):
    """Base of the two column permutations: they need at least two features."""

    applies_to = "all"
    changes_features = True

    def check(self, data: TaskData) -> None:
        super().check(data)
        if data.n_features < 2:
            raise LiftbenchError(
                f"perturbation {self.name!r}: task {data.name!r} has {data.n_features} feature; it needs 2 or more"
            )


@register_perturbation
class PermuteFeatureOrder(_ColumnShuffle):
    name = "permute-feature-order"
    description = "the feature columns in a seeded order other than their own"

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = list(data.X.columns)
        order = _non_identity_permutation(np.random.default_rng(seed), len(columns), derangement=False)
        new_columns = [columns[i] for i in order]
        types = {c: data.feature_types[c] for c in new_columns}
        X = data.X[new_columns].copy()
        return Perturbed(
            _copy(data, X=X, feature_types=types), split, {"order": [str(c) for c in new_columns]}
        )


@register_perturbation
class ShuffleFeatureNames(_ColumnShuffle):
    name = "shuffle-feature-names"
    description = "feature names shuffled across columns so that no column keeps its own; values unchanged"

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = list(data.X.columns)
        order = _non_identity_permutation(np.random.default_rng(seed), len(columns), derangement=True)
        names = [columns[i] for i in order]  # column j's values now carry the name of column order[j]
        types = {name: data.feature_types[column] for name, column in zip(names, columns, strict=True)}
        X = data.X.copy()
        X.columns = names
        renamed = {str(name): str(column) for name, column in zip(names, columns, strict=True)}
        return Perturbed(_copy(data, X=X, feature_types=types), split, {"values_of": renamed})


def _row_loss(data: TaskData, split: Split) -> Callable[[Any, Any], Any]:
    """loss(outputs, rows) -> one loss per row against the rows' true targets: cross-entropy on the
    class codes, or squared error on the target standardised with the training rows' mean and std."""
    import torch

    y = data.y.to_numpy()
    if data.kind == "classification":
        codes = torch.as_tensor(y.astype(np.int64))
        return lambda outputs, rows: torch.nn.functional.cross_entropy(outputs, codes[rows], reduction="none")
    y = y.astype(float)
    centre, spread = float(np.mean(y[split.train])), float(np.std(y[split.train])) or 1.0
    scaled = torch.as_tensor((y - centre) / spread, dtype=torch.float32)
    return lambda outputs, rows: (outputs[:, 0] - scaled[rows]) ** 2


@register_perturbation
class Adversarial(TablePerturbation):
    """Projected gradient ascent (L-inf) on a surrogate MLP's loss, transferred to the evaluated method.

    The surrogate (two hidden ReLU layers of `hidden` units, Adam, `surrogate_steps` minibatch steps,
    all seeded) learns the task from the training rows' numeric features, preprocessed by
    `TabularPreprocessor` fitted on those rows. The attack moves each numeric test feature by at most
    `epsilon` training standard deviations (the budget is in raw units: epsilon·std), starting at a
    uniform random point of the budget when `random_start`, taking `steps` signed-gradient steps of
    `step_size` (default epsilon/4) and projecting back; `clip` also keeps values within the training
    range (or the value's own, when it lies outside it). Categorical features and missing cells are
    not changed. This is the paper's foolbox LinfPGD on MNIST source models, for tables.
    """

    name = "adversarial"
    description = "L-inf PGD on a surrogate MLP's loss (budget epsilon training stds), transferred"
    applies_to = "test"
    param_specs = {
        "epsilon": number(0.1, low=0.0),
        "steps": integer(20, low=1),
        "step_size": ParamSpec(
            None, number(None, low=0.0, above=True).parse, "a number > 0 (default epsilon/4)"
        ),
        "random_start": flag(True),
        "clip": flag(False),
        "hidden": integer(32, low=1),
        "surrogate_steps": integer(300, low=1),
    }

    LEARNING_RATE = 0.01
    BATCH_SIZE = 128

    def check(self, data: TaskData) -> None:
        super().check(data)
        _checked_features(self.name, data, None)

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        import torch

        columns = _numeric_features(data)
        preprocessor = TabularPreprocessor({c: data.feature_types[c] for c in columns})
        preprocessor.fit(data.X.iloc[split.train][columns])
        stats = _training_stats(data, split, columns)
        row_loss = _row_loss(data, split)
        seeds = np.random.SeedSequence(seed).spawn(2)

        def encode(X: pd.DataFrame) -> torch.Tensor:
            return torch.as_tensor(preprocessor.transform(X[columns]), dtype=torch.float32)

        train_rows = torch.tensor(split.train)
        n_out = len(data.classes or ()) if data.kind == "classification" else 1
        model, train_loss = self._surrogate(
            encode(data.X.iloc[split.train]), row_loss, train_rows, n_out, seeds[0]
        )

        test_rows = torch.tensor(split.test)
        x0 = _values(data, split.test, columns)
        z0 = encode(data.X.iloc[split.test])
        low, high = self._bounds(x0, stats)
        u = (
            np.random.default_rng(seeds[1]).uniform(low, high)
            if self.params["random_start"]
            else np.zeros(x0.shape)
        )
        u_t, low_t, high_t = (torch.as_tensor(a, dtype=torch.float32) for a in (u, low, high))
        gain = self._gain(preprocessor, columns, stats)  # d(network input) / d(u), u in training stds
        step = self.params["step_size"] or self.params["epsilon"] / 4
        for _ in range(self.params["steps"]):
            u_t.requires_grad_(True)
            (grad,) = torch.autograd.grad(row_loss(model(z0 + u_t @ gain), test_rows).sum(), u_t)
            u_t = torch.clamp(u_t.detach() + step * torch.sign(grad), low_t, high_t)
        move = u_t.numpy().astype(float) * stats["std"]
        integer = np.array([data.feature_types[c] == "integer" for c in columns], dtype=bool)
        move[:, integer] = np.trunc(move[:, integer])  # toward the original value: the budget holds
        after = np.where(np.isnan(x0), x0, x0 + move)
        X = _with_cells(data, split.test, columns, after)
        realised = X[columns].iloc[split.test].to_numpy(dtype=float, na_value=np.nan)
        change, _ = _relative_change(x0, realised, stats["std"])
        with torch.no_grad():
            clean, attacked = model(z0), model(encode(X.iloc[split.test]))
            report = {
                "rows": int(split.test.size),
                "features": len(columns),
                "surrogate_train_loss": train_loss,
                "surrogate_loss_clean": float(row_loss(clean, test_rows).mean()),
                "surrogate_loss_adversarial": float(row_loss(attacked, test_rows).mean()),
                "max_abs_change": float(np.max(np.abs(change))) if change.size else 0.0,
            }
            if data.kind == "classification":
                changed = (clean.argmax(dim=1) != attacked.argmax(dim=1)).float().mean()
                report["surrogate_predictions_changed"] = float(changed)
        return Perturbed(_copy(data, X=X), split, report)

    def _bounds(self, x0: np.ndarray, stats: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell bounds on the move in training stds: the budget, the clip range, 0 where fixed."""
        epsilon = self.params["epsilon"]
        low, high = np.full(x0.shape, -epsilon), np.full(x0.shape, epsilon)
        std = np.where(stats["std"] > 0, stats["std"], 1.0)
        if self.params["clip"]:
            low = np.maximum(low, np.minimum(0.0, np.nan_to_num((stats["min"] - x0) / std)))
            high = np.minimum(high, np.maximum(0.0, np.nan_to_num((stats["max"] - x0) / std)))
        movable = ~np.isnan(x0) & (stats["std"] > 0)
        return np.where(movable, low, 0.0), np.where(movable, high, 0.0)

    def _surrogate(
        self,
        inputs: Any,
        row_loss: Callable[[Any, Any], Any],
        rows: Any,
        n_out: int,
        seed: np.random.SeedSequence,
    ) -> tuple[Any, float]:
        """The trained surrogate MLP and its final training loss; weights and batches drawn from `seed`."""
        import torch

        generator = torch.Generator().manual_seed(int(seed.generate_state(1)[0]))
        width = self.params["hidden"]
        sizes = [inputs.shape[1], width, width, n_out]
        layers: list[torch.nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            linear = torch.nn.utils.skip_init(torch.nn.Linear, fan_in, fan_out)
            bound = 1.0 / math.sqrt(fan_in)  # PyTorch's default initialisation range
            with torch.no_grad():
                linear.weight.uniform_(-bound, bound, generator=generator)
                linear.bias.uniform_(-bound, bound, generator=generator)
            layers += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        optimizer = torch.optim.Adam(model.parameters(), lr=self.LEARNING_RATE)
        batches = np.random.default_rng(seed.spawn(1)[0])
        batch = min(self.BATCH_SIZE, len(rows))
        for _ in range(self.params["surrogate_steps"]):
            pick = torch.as_tensor(batches.choice(len(rows), size=batch, replace=False))
            optimizer.zero_grad()
            row_loss(model(inputs[pick]), rows[pick]).mean().backward()
            optimizer.step()
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        with torch.no_grad():
            final = float(row_loss(model(inputs), rows).mean())
        return model, final

    @staticmethod
    def _gain(preprocessor: TabularPreprocessor, columns: list[str], stats: dict[str, np.ndarray]) -> Any:
        """The (features x network inputs) matrix mapping a move of u training stds to the encoded row.

        The preprocessor is affine in each numeric value (impute, then scale), so its slope on column
        j is read off two rows that differ by 1 in every column.
        """
        import torch

        base = np.where(np.isnan(stats["min"]), 0.0, stats["min"])
        probe = pd.DataFrame([base, base + 1.0], columns=columns)
        slopes = np.diff(preprocessor.transform(probe), axis=0)[0]
        names = preprocessor.feature_names_out()
        gain = np.zeros((len(columns), len(names)))
        for j, column in enumerate(columns):
            k = names.index(f"num__{column}")
            gain[j, k] = slopes[k] * stats["std"][j]
        return torch.as_tensor(gain, dtype=torch.float32)


@register_perturbation
class Compose(TablePerturbation):
    name = "compose"
    description = "several perturbations applied in order: steps [{name, params}, ...]"
    applies_to = "all"

    @staticmethod
    def _parse_steps(value: Any) -> tuple[dict[str, Any], ...]:
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise ValueError
        steps = []
        for entry in value:
            if isinstance(entry, str) and entry:
                steps.append({"name": entry, "params": {}})
            elif (
                isinstance(entry, Mapping)
                and set(entry) <= {"name", "params"}
                and isinstance(entry.get("name"), str)
            ):
                params = entry.get("params") or {}
                if not isinstance(params, Mapping):
                    raise ValueError
                steps.append({"name": entry["name"], "params": dict(params)})
            else:
                raise ValueError
        return tuple(steps)

    param_specs = {
        "steps": ParamSpec(_REQUIRED, _parse_steps, "a non-empty list of names or {name, params} entries"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.steps: list[TablePerturbation] = []
        for i, step in enumerate(self.params["steps"]):
            try:
                self.steps.append(make_perturbation(step["name"], step["params"]))
            except LiftbenchError as err:
                raise LiftbenchError(f"perturbation 'compose', steps[{i}]: {err}") from None
        targets = {step.applies_to for step in self.steps}
        self.applies_to = targets.pop() if len(targets) == 1 else "all"
        self.kinds = tuple(k for k in KINDS if all(k in step.kinds for step in self.steps))
        self.changes_features = any(step.changes_features for step in self.steps)

    def check(self, data: TaskData) -> None:
        """Each step is checked against the task's own data (a step cannot name columns an earlier one adds)."""
        for i, step in enumerate(self.steps):
            try:
                step.check(data)
            except LiftbenchError as err:
                raise LiftbenchError(f"perturbation 'compose', steps[{i}]: {err}") from None

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        reports = []
        children = np.random.SeedSequence(seed).spawn(len(self.steps))
        for step, child in zip(self.steps, children, strict=True):
            done = step.apply(data, split, int(child.generate_state(1)[0]))
            data, split = done.data, done.split
            reports.append({"name": step.name, **done.report})
        return Perturbed(data, split, {"steps": reports})
