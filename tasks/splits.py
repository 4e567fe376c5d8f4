"""Versioned train/val/test splits of a task's rows, and nested training subsets.

A `Split` holds row positions (into `TaskData.X`) for train, val and test, and the protocol, seed
and options that made it; its `hash` identifies the row sets and is recorded with every result.

Protocols (`make_split`):

* ``"default"``: a split the task defines itself (`TaskData.fixed_split`) when there is one;
  otherwise, for classification, the paper's protocol: a stratified 80/20 dev/test split drawn with
  `test_seed` (0, so the test set never changes with `seed`), then a stratified 80/20 train/val split
  of dev drawn with `seed`, i.e. 64/16/20 %. With the same rows in the same order this gives the
  paper's index sets exactly (`StratifiedShuffleSplit(test_size=0.2, random_state=0)`, then
  `random_state=i` on dev). For regression: 70/15/15 %, and, unlike the paper's unseeded shuffle, the
  test set is also fixed: test is split off first with `test_seed`, then train/val from the rest with
  `seed`.
* ``"fractions"``: options `train`, `val`, `test` (summing to 1), same two stages and seeds.
* ``"kfold"``: options `k` (5) and `fold`: test is fold `fold` of a shuffled (stratified) K-fold
  drawn with `test_seed`; val is a `val_fraction` (0.2) of the remaining rows, drawn with `seed`.

Stratification is explicit about rare classes rather than failing: classes with too few rows to be
stratified (fewer than 2 rows for a hold-out split, fewer than `k` for K-fold) are pooled into one
stratum, which is merged into the largest class when it is still too small; a `StratificationWarning`
says so. Only when the held-out part is smaller than the number of strata is a split drawn without
stratification, with a warning as well.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

from tasks.errors import LiftbenchError, did_you_mean
from tasks.spec import TaskData

PARTS: tuple[str, ...] = ("train", "val", "test")
SPLIT_PROTOCOLS: tuple[str, ...] = ("default", "fractions", "kfold")

PAPER_TEST_FRACTION = 0.2  # of all rows (dev/test)
PAPER_VAL_FRACTION = 0.2  # of the dev rows (train/val)
REGRESSION_FRACTIONS = (0.70, 0.15, 0.15)  # train, val, test of all rows
FIXED_SPLIT_VAL_FRACTION = 0.2  # of a task-defined train set that comes without val (MNIST: 48k/12k)
KFOLD_VAL_FRACTION = 0.2  # of the rows outside the test fold

_PROTOCOL_OPTIONS: dict[str, dict[str, Any]] = {
    "default": {"test_seed": 0},
    "fractions": {"train": None, "val": None, "test": None, "test_seed": 0},
    "kfold": {"k": 5, "fold": 0, "test_seed": 0, "val_fraction": KFOLD_VAL_FRACTION},
}
_MAX_SEED = 2**32 - 1  # what scikit-learn's random_state accepts


class StratificationWarning(UserWarning):
    """A split could not be stratified on every class as it stands (rare classes, tiny parts)."""


def index_hash(indices: Sequence[int] | np.ndarray) -> str:
    """A short sha256 (16 hex) of row positions, in their order, stable across processes and platforms."""
    array = _as_index_array(indices, "indices")
    return hashlib.sha256(array.astype("<i8").tobytes()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Split:
    """Row positions for train, val and test, and how they were made.

    The arrays are read-only int64 copies, kept in the deterministic order the protocol drew them
    (a method may see rows in this order, so the order is part of the hash). `params` is a sorted
    tuple of (option, value) pairs; a mapping is accepted too.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str
    seed: int
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for part in PARTS:
            array = _as_index_array(getattr(self, part), f"split {part} rows")
            array.flags.writeable = False
            object.__setattr__(self, part, array)
        object.__setattr__(self, "params", tuple(sorted(dict(self.params).items())))
        rows = np.concatenate([self.train, self.val, self.test])
        if np.unique(rows).size != rows.size:
            raise LiftbenchError(
                f"split ({self.protocol!r}) lists a row twice or in two of train/val/test; "
                "each row position may appear in one part once"
            )

    @cached_property
    def hash(self) -> str:
        """16 hex of sha256 over the protocol and the three index arrays."""
        text = "\x1f".join([self.protocol, *(index_hash(getattr(self, part)) for part in PARTS)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def sizes(self) -> dict[str, int]:
        return {part: int(getattr(self, part).size) for part in PARTS}

    def subset_train(self, indices: Sequence[int] | np.ndarray) -> Split:
        """This split with its training rows cut to `indices` (a subset of `train`); val and test stay."""
        subset = _as_index_array(indices, "training subset")
        if subset.size == 0:
            raise LiftbenchError("training subset is empty; give at least one row of split.train")
        outside = np.setdiff1d(subset, self.train)
        if outside.size:
            raise LiftbenchError(
                f"training subset holds {outside.size} rows that are not training rows of split "
                f"{self.hash} (e.g. row {int(outside[0])}); take subsets of split.train"
            )
        params = {**dict(self.params), "train_subset_of": self.hash, "train_subset_size": int(subset.size)}
        return Split(subset, self.val, self.test, self.protocol, self.seed, tuple(params.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        return (self.protocol, self.seed, self.params) == (other.protocol, other.seed, other.params) and all(
            np.array_equal(getattr(self, p), getattr(other, p)) for p in PARTS
        )

    def __hash__(self) -> int:
        return hash((self.hash, self.seed, self.params))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{part}={n}" for part, n in self.sizes().items())
        return f"Split(protocol={self.protocol!r}, seed={self.seed}, {sizes}, hash={self.hash!r})"


def make_split(data: TaskData, seed: int = 0, protocol: str = "default", **options: Any) -> Split:
    """Split `data`'s rows by `protocol` (see the module docstring); equal arguments give equal splits."""
    if protocol not in SPLIT_PROTOCOLS:
        raise LiftbenchError(
            f"unknown split protocol {protocol!r}{did_you_mean(protocol, SPLIT_PROTOCOLS)}; "
            f"use one of: {', '.join(SPLIT_PROTOCOLS)}"
        )
    allowed = _PROTOCOL_OPTIONS[protocol]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise LiftbenchError(
            f"split protocol {protocol!r} has no option {unknown[0]!r}{did_you_mean(unknown[0], allowed)}; "
            f"its options: {', '.join(allowed)}"
        )
    seed = _seed_option("seed", seed)
    test_seed = _seed_option("test_seed", options.get("test_seed", 0))
    strata = _class_codes(data.y) if data.kind == "classification" else None

    if data.fixed_split is not None:
        if protocol != "default":
            raise LiftbenchError(
                f"task {data.name!r} defines its own train/test split; use split protocol 'default', "
                f"not {protocol!r}"
            )
        return _fixed_split(data, seed, strata)
    if protocol == "default":
        if data.kind == "classification":
            return _paper_split(data, seed, test_seed, strata)
        return _fractions_split(data, seed, test_seed, strata, REGRESSION_FRACTIONS, "default", {})
    if protocol == "fractions":
        fractions = _fractions_option(options)
        named = dict(zip(PARTS, fractions, strict=True))
        return _fractions_split(data, seed, test_seed, strata, fractions, "fractions", named)
    return _kfold_split(data, seed, test_seed, strata, options)


def nested_train_subsets(
    split: Split, y: np.ndarray, sizes: Sequence[int], seed: int, *, stratify: bool | None = None
) -> dict[int, np.ndarray]:
    """Training subsets for sample-complexity curves: size m -> row positions, each a prefix of one order.

    `y` is the target of every row of the task (indexed by row position, as `data.y.to_numpy()`).
    For one `seed` the subset of size m is contained in every larger one. The order is drawn once:
    one row of every class first (in random order), then the remaining rows interleaved so that each
    prefix holds each class close to its share of the training set; every subset of at least K rows
    holds every class. `stratify=None` stratifies unless `y` is float (regression), whose subsets are
    prefixes of a seeded permutation.
    """
    seed = _seed_option("seed", seed)
    y = np.asarray(y)
    train = split.train
    if y.ndim != 1 or (train.size and int(train.max()) >= y.size):
        raise LiftbenchError(
            f"y has shape {y.shape} but the split's rows reach position {int(train.max(initial=-1))}; "
            "pass the target of every row of the task (data.y.to_numpy())"
        )
    checked = sorted({_size_option(m, train.size) for m in sizes})
    if stratify is None:
        stratify = y.dtype.kind != "f"
    rng = np.random.default_rng(seed)
    order = _interleaved_order(y[train], rng) if stratify else rng.permutation(train.size)
    return {m: train[order[:m]] for m in checked}


def limit_rows(split: Split, y: np.ndarray, limit: int, seed: int) -> Split:
    """`split` with each of train, val and test cut to at most `limit` rows, stratified.

    A smoke run's rows (`liftbench run --limit-rows`): each part keeps the first `limit` rows of a
    seeded order that takes one row of every class first and then keeps each class near its share
    (the order of `nested_train_subsets`); regression parts keep a seeded random subset. Parts that
    are small enough stay as they are; `params` records the limit and the split it was cut from.
    """
    limit = _int_option("row limit", limit)
    if limit < 1:
        raise LiftbenchError(f"row limit {limit} must be at least 1")
    y = np.asarray(y)
    stratify = y.dtype.kind != "f"
    parts = {}
    for i, part in enumerate(PARTS):
        rows = getattr(split, part)
        if rows.size <= limit:
            parts[part] = rows
            continue
        rng = np.random.default_rng([_seed_option("seed", seed), i])
        order = _interleaved_order(y[rows], rng) if stratify else rng.permutation(rows.size)
        parts[part] = rows[order[:limit]]
    params = {**dict(split.params), "row_limit": limit, "row_limit_of": split.hash}
    return Split(**parts, protocol=split.protocol, seed=split.seed, params=tuple(params.items()))


def _interleaved_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions into `labels`: one row per class first, then always the class furthest below its share.

    Greedy on the deficit (m + 1) * share - taken; once proportional allocation itself gives every
    class a row, each prefix stays within one row of it (a property test checks this). Ties go to a
    seeded class order.
    """
    codes = _class_codes(labels)
    counts = np.bincount(codes)
    share = counts / codes.size
    class_order = rng.permutation(counts.size)
    taken = np.ones(counts.size, dtype=np.int64)
    exhausted = taken >= counts
    picks = np.empty(codes.size, dtype=np.int64)
    picks[: counts.size] = class_order
    for m in range(counts.size, codes.size):
        deficit = (m + 1) * share - taken
        deficit[exhausted] = -np.inf
        chosen = class_order[np.argmax(deficit[class_order])]
        picks[m] = chosen
        taken[chosen] += 1
        exhausted[chosen] = taken[chosen] >= counts[chosen]
    rows = np.concatenate([rng.permutation(np.flatnonzero(codes == c)) for c in range(counts.size)])
    order = np.empty(codes.size, dtype=np.int64)
    order[np.argsort(picks, kind="stable")] = rows
    return order


def _paper_split(data: TaskData, seed: int, test_seed: int, strata: np.ndarray | None) -> Split:
    n = data.n_rows
    n_test = _count(PAPER_TEST_FRACTION, n)
    n_val = _count(PAPER_VAL_FRACTION, n - n_test)
    _check_sizes(data, "default", n - n_test - n_val, n_val, n_test, need_val=True, need_test=True)
    dev, test = _holdout(np.arange(n), n_test, strata, test_seed, f"task {data.name!r} dev/test")
    train, val = _holdout(dev, n_val, strata, seed, f"task {data.name!r} train/val")
    return Split(train, val, test, "default", seed, (("test_seed", test_seed),))


def _fractions_split(
    data: TaskData,
    seed: int,
    test_seed: int,
    strata: np.ndarray | None,
    fractions: tuple[float, float, float],
    protocol: str,
    named: dict[str, float],
) -> Split:
    n = data.n_rows
    _, val_fraction, test_fraction = fractions
    n_test, n_val = _count(test_fraction, n), _count(val_fraction, n)
    _check_sizes(data, protocol, n - n_test - n_val, n_val, n_test, val_fraction > 0, test_fraction > 0)
    dev, test = _holdout(np.arange(n), n_test, strata, test_seed, f"task {data.name!r} dev/test")
    train, val = _holdout(dev, n_val, strata, seed, f"task {data.name!r} train/val")
    return Split(train, val, test, protocol, seed, (*named.items(), ("test_seed", test_seed)))


def _kfold_split(
    data: TaskData, seed: int, test_seed: int, strata: np.ndarray | None, options: Mapping[str, Any]
) -> Split:
    k = _int_option("k", options.get("k", 5))
    if k < 2:
        raise LiftbenchError(f"split option k={k} is too small; K-fold needs k >= 2")
    fold = _int_option("fold", options.get("fold", 0))
    if not 0 <= fold < k:
        raise LiftbenchError(f"split option fold={fold} is out of range; use 0..{k - 1} for k={k}")
    val_fraction = _float_option("val_fraction", options.get("val_fraction", KFOLD_VAL_FRACTION))
    if not 0 <= val_fraction < 1:
        raise LiftbenchError(f"split option val_fraction={val_fraction} must be in [0, 1)")
    n = data.n_rows
    if n < k:
        raise LiftbenchError(f"task {data.name!r} has {n} rows, too few for {k} folds; use k <= {n}")
    n_dev = n - (n // k + (1 if n % k else 0))  # the largest fold is the smallest dev part
    n_val = _count(val_fraction, n_dev)
    _check_sizes(data, "kfold", n_dev - n_val, n_val, n // k, val_fraction > 0, True)
    labels = None if strata is None else _pooled(strata, k, f"task {data.name!r} {k}-fold")
    splitter = (
        KFold(n_splits=k, shuffle=True, random_state=test_seed)
        if labels is None
        else StratifiedKFold(n_splits=k, shuffle=True, random_state=test_seed)
    )
    dev, test = list(splitter.split(np.zeros((n, 1)), labels))[fold]
    train, val = _holdout(dev, _count(val_fraction, dev.size), strata, seed, f"task {data.name!r} train/val")
    params = (("fold", fold), ("k", k), ("test_seed", test_seed), ("val_fraction", val_fraction))
    return Split(train, val, test, "kfold", seed, params)


def _fixed_split(data: TaskData, seed: int, strata: np.ndarray | None) -> Split:
    fixed = data.fixed_split or {}
    where = f"task {data.name!r} fixed_split"
    extra = sorted(set(fixed) - set(PARTS))
    if extra or not {"train", "test"} <= set(fixed):
        raise LiftbenchError(
            f"{where} has parts {sorted(fixed)}; it needs 'train' and 'test', and may have 'val'"
        )
    parts = {part: _as_index_array(rows, f"{where} {part!r}") for part, rows in fixed.items()}
    for part, rows in parts.items():
        if rows.size and (rows.min() < 0 or rows.max() >= data.n_rows):
            raise LiftbenchError(f"{where} {part!r} holds row positions outside 0..{data.n_rows - 1}")
    if "val" in parts:
        return Split(parts["train"], parts["val"], parts["test"], "default", seed, (("fixed_split", True),))
    n_val = _count(FIXED_SPLIT_VAL_FRACTION, parts["train"].size)
    if parts["train"].size - n_val < 1:
        raise LiftbenchError(
            f"{where} has {parts['train'].size} training rows, too few to carve a validation set out of"
        )
    train, val = _holdout(parts["train"], n_val, strata, seed, f"{where} train/val")
    params = (("fixed_split", True), ("val_fraction", FIXED_SPLIT_VAL_FRACTION))
    return Split(train, val, parts["test"], "default", seed, params)


def _holdout(
    rows: np.ndarray, n_holdout: int, strata: np.ndarray | None, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """`rows` split into (rest, holdout) with `n_holdout` rows held out, stratified where classes allow."""
    if n_holdout == 0:
        return rows, rows[:0]
    labels = None if strata is None else _pooled(strata[rows], 2, what)
    if labels is not None:
        n_strata = np.unique(labels).size
        if n_strata > min(n_holdout, rows.size - n_holdout):
            _warn(
                f"{what}: {n_strata} classes but parts of {rows.size - n_holdout} and {n_holdout} rows; "
                "split without stratification"
            )
            labels = None
    splitter = (
        ShuffleSplit(n_splits=1, test_size=n_holdout, random_state=seed)
        if labels is None
        else StratifiedShuffleSplit(n_splits=1, test_size=n_holdout, random_state=seed)
    )
    rest, held = next(splitter.split(np.zeros((rows.size, 1)), labels))
    return rows[rest], rows[held]


def _pooled(codes: np.ndarray, min_count: int, what: str) -> np.ndarray:
    """Class codes with every class of fewer than `min_count` rows pooled into one stratum.

    A pool still smaller than `min_count` joins the largest class. Codes of the other classes keep
    their values, so with no rare class the strata are the classes themselves (the paper's split).
    """
    values, counts = np.unique(codes, return_counts=True)
    rare = values[counts < min_count]
    if rare.size == 0:
        return codes
    in_pool = np.isin(codes, rare)
    pool_label = values.max() + 1 if in_pool.sum() >= min_count else values[np.argmax(counts)]
    _warn(
        f"{what}: classes {rare.tolist()} have fewer than {min_count} rows here; "
        "they are stratified together as one group"
    )
    return np.where(in_pool, pool_label, codes)


def _warn(message: str) -> None:
    """A `StratificationWarning` attributed to the first caller outside this module."""
    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, StratificationWarning, stacklevel=level)


def _class_codes(y: pd.Series | np.ndarray) -> np.ndarray:
    """Integer codes in sorted class order (missing labels form a class of their own)."""
    codes, _ = pd.factorize(pd.Series(y), sort=True, use_na_sentinel=False)
    return codes.astype(np.int64)


def _check_sizes(
    data: TaskData, protocol: str, n_train: int, n_val: int, n_test: int, need_val: bool, need_test: bool
) -> None:
    if n_train >= 1 and (n_val >= 1 or not need_val) and (n_test >= 1 or not need_test):
        return
    raise LiftbenchError(
        f"task {data.name!r} has {data.n_rows} rows, too few for split protocol {protocol!r} "
        f"(train {n_train}, val {n_val}, test {n_test}); use a larger task or other split fractions"
    )


def _count(fraction: float, n: int) -> int:
    """Rows in a `fraction` of `n` rows, rounded up as scikit-learn does, float noise removed."""
    return min(n, math.ceil(round(fraction * n, 9)))


def _as_index_array(values: Sequence[int] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise LiftbenchError(
            f"{what} must be a 1-D array of integer row positions, got {array.dtype} {array.shape}"
        )
    if array.min() < 0:
        raise LiftbenchError(f"{what} holds a negative row position ({int(array.min())})")
    return array.astype(np.int64, copy=True)


def _int_option(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise LiftbenchError(f"split option {name}={value!r} must be an integer")
    try:
        number = float(value)
        if not number.is_integer():
            raise ValueError
        return int(number)
    except (TypeError, ValueError, OverflowError):
        raise LiftbenchError(f"split option {name}={value!r} must be an integer") from None


def _seed_option(name: str, value: Any) -> int:
    seed = _int_option(name, value)
    if not 0 <= seed <= _MAX_SEED:
        raise LiftbenchError(f"split option {name}={seed} must be in 0..{_MAX_SEED}")
    return seed


def _float_option(name: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        return number
    except (TypeError, ValueError):
        raise LiftbenchError(f"split option {name}={value!r} must be a number") from None


def _fractions_option(options: Mapping[str, Any]) -> tuple[float, float, float]:
    missing = [part for part in PARTS if part not in options]
    if missing:
        raise LiftbenchError(
            f"split protocol 'fractions' needs train, val and test fractions; missing: {', '.join(missing)}"
        )
    fractions = tuple(_float_option(part, options[part]) for part in PARTS)
    if any(f < 0 for f in fractions) or fractions[0] <= 0:
        raise LiftbenchError(f"split fractions {fractions} must be >= 0, with train > 0")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise LiftbenchError(
            f"split fractions train/val/test = {'/'.join(map(str, fractions))} sum to {sum(fractions):g}; "
            "they must sum to 1"
        )
    return fractions  # type: ignore[return-value]


def _size_option(m: Any, n_train: int) -> int:
    size = _int_option("training-set size", m)
    if not 1 <= size <= n_train:
        raise LiftbenchError(
            f"training-set size {size} is not possible with {n_train} training rows; use sizes 1..{n_train}"
        )
    return size
