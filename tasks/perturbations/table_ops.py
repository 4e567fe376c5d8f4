"""Operations on a task's table that the perturbations share: copies, cell updates, training statistics."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.perturbations.params import MAX_PERMUTATION_DRAWS, NUMERIC_TYPES
from tasks.spec import TaskData
from tasks.splits import Split


def fraction_count(fraction: float, n: int) -> int:
    """round(fraction·n), halves rounded up (Python's round() would round 0.5 down to 0)."""
    return min(n, math.floor(fraction * n + 0.5))


def copy_data(data: TaskData, **changes: Any) -> TaskData:
    """A new TaskData with `changes`; mutable containers are copied so the original is never shared."""
    fields = {
        "params": dict(data.params),
        "feature_types": dict(data.feature_types),
        "fixed_split": None if data.fixed_split is None else dict(data.fixed_split),
    }
    return dataclasses.replace(data, **{**fields, **changes})


def numeric_features(data: TaskData) -> list[str]:
    return [str(c) for c in data.X.columns if data.feature_types.get(c) in NUMERIC_TYPES]


def cell_values(data: TaskData, rows: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """The cells as a float array, missing values as NaN."""
    return data.X.iloc[rows][list(columns)].to_numpy(dtype=float, na_value=np.nan)


def training_stats(data: TaskData, split: Split, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-column std (ddof=0), min and max over the training rows; 0 std for an all-missing column."""
    train = cell_values(data, split.train, columns)
    present = ~np.isnan(train).all(axis=0)
    stats = {"std": np.zeros(len(columns)), "min": np.full(len(columns), np.nan)}
    stats["max"] = stats["min"].copy()
    if present.any():
        kept = train[:, present]
        stats["std"][present] = np.nanstd(kept, axis=0)
        stats["min"][present] = np.nanmin(kept, axis=0)
        stats["max"][present] = np.nanmax(kept, axis=0)
    return stats


def as_column(values: np.ndarray, original: pd.Series, feature_type: str) -> np.ndarray:
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


def with_cells(data: TaskData, rows: np.ndarray, columns: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """A copy of data.X with `values` (rows x columns) written into those cells."""
    X = data.X.copy()
    for j, column in enumerate(columns):
        full = data.X[column].to_numpy(dtype=float, na_value=np.nan, copy=True)
        full[rows] = values[:, j]
        X[column] = as_column(full, data.X[column], data.feature_types[column])
    return X


def relative_change(before: np.ndarray, after: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(after - before) / std over the cells of features with a positive std, and that column mask."""
    varying = std > 0
    change = (after[:, varying] - before[:, varying]) / std[varying]
    return change[~np.isnan(change)], varying


def non_identity_permutation(rng: np.random.Generator, n: int, derangement: bool) -> np.ndarray:
    """A permutation of n >= 2 items that moves some item (every item, with `derangement`)."""
    for _ in range(MAX_PERMUTATION_DRAWS):
        order = rng.permutation(n)
        fixed = order == np.arange(n)
        suitable = not fixed.any() if derangement else not fixed.all()
        if suitable:
            return order
    raise RuntimeError(f"no suitable permutation of {n} items in {MAX_PERMUTATION_DRAWS} draws")


def checked_features(name: str, data: TaskData, requested: tuple[str, ...] | None) -> list[str]:
    """The numeric features a perturbation changes: `requested`, or all numeric features."""
    numeric = numeric_features(data)
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
