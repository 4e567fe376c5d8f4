"""Splits and nested training subsets, on small self-made tasks with real scikit-learn."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedShuffleSplit

from tasks.errors import LiftbenchError
from tasks.spec import TaskData
from tasks.splits import (
    Split,
    StratificationWarning,
    index_hash,
    make_split,
    nested_train_subsets,
)

REPO = Path(__file__).resolve().parents[1]


def classification_task(class_counts: list[int], seed: int = 0, name: str = "toy") -> TaskData:
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(class_counts)), class_counts))
    X = pd.DataFrame({"x1": rng.normal(size=y.size), "x2": rng.integers(0, 5, size=y.size)})
    return TaskData(
        name=name,
        kind="classification",
        X=X,
        y=pd.Series(y),
        feature_types={"x1": "numeric", "x2": "integer"},
        classes=tuple(f"c{k}" for k in range(len(class_counts))),
        source="synthetic",
    )


def regression_task(n: int, fixed_split: dict[str, np.ndarray] | None = None) -> TaskData:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x1": rng.uniform(-10, 10, size=n)})
    return TaskData(
        name="toy-reg",
        kind="regression",
        X=X,
        y=pd.Series(2.0 * X["x1"] + rng.normal(size=n)),
        feature_types={"x1": "numeric"},
        classes=None,
        source="synthetic",
        fixed_split=fixed_split,
    )


def assert_partition(split: Split, n_rows: int) -> None:
    rows = np.concatenate([split.train, split.val, split.test])
    assert rows.size == n_rows
    assert np.array_equal(np.sort(rows), np.arange(n_rows))


def class_counts(y: np.ndarray, rows: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(y[rows], minlength=n_classes)


def test_default_classification_is_64_16_20_and_partitions_all_rows():
    data = classification_task([500, 300, 200])
    split = make_split(data, seed=0)
    assert split.sizes() == {"train": 640, "val": 160, "test": 200}
    assert_partition(split, data.n_rows)
    for part in (split.train, split.val, split.test):
        assert part.dtype == np.int64


def test_default_classification_is_stratified_within_one_row_at_each_stage():
    data = classification_task([517, 311, 172])
    y = data.y.to_numpy()
    split = make_split(data, seed=1)
    n_classes = 3
    total = np.bincount(y)
    test = class_counts(y, split.test, n_classes)
    assert np.all(np.abs(test - total * split.test.size / y.size) <= 1)
    dev = total - test
    dev_size = split.train.size + split.val.size
    for part in (split.train, split.val):
        counts = class_counts(y, part, n_classes)
        assert np.all(np.abs(counts - dev * part.size / dev_size) <= 1)


def test_test_set_is_fixed_across_seeds_while_train_and_val_change():
    data = classification_task([60, 40, 25])
    splits = [make_split(data, seed=s) for s in (0, 1, 2)]
    for split in splits[1:]:
        assert np.array_equal(split.test, splits[0].test)
        assert not np.array_equal(np.sort(split.train), np.sort(splits[0].train))
        assert not np.array_equal(np.sort(split.val), np.sort(splits[0].val))
    assert len({s.hash for s in splits}) == 3


def test_default_classification_reproduces_the_papers_index_sets():
    data = classification_task([97, 55, 31, 20], seed=3)
    y = data.y.to_numpy()
    dev, test = next(StratifiedShuffleSplit(test_size=0.2, random_state=0).split(data.X, y))
    for seed in (0, 1, 2):
        train, val = next(StratifiedShuffleSplit(test_size=0.2, random_state=seed).split(dev, y[dev]))
        split = make_split(data, seed=seed)
        assert np.array_equal(split.test, test)
        assert np.array_equal(split.train, dev[train])
        assert np.array_equal(split.val, dev[val])


def test_test_seed_moves_the_test_set():
    data = classification_task([50, 50])
    assert not np.array_equal(make_split(data, test_seed=0).test, make_split(data, test_seed=1).test)
    assert dict(make_split(data, test_seed=1).params)["test_seed"] == 1


def test_default_regression_is_70_15_15_with_a_fixed_test_set():
    data = regression_task(200)
    splits = [make_split(data, seed=s) for s in (0, 1, 2)]
    assert splits[0].sizes() == {"train": 140, "val": 30, "test": 30}
    for split in splits:
        assert_partition(split, 200)
        assert np.array_equal(split.test, splits[0].test)
    assert not np.array_equal(np.sort(splits[1].val), np.sort(splits[0].val))


def test_hash_is_stable_and_tells_splits_apart():
    data = classification_task([40, 30, 30])
    first, again, other = make_split(data, seed=0), make_split(data, seed=0), make_split(data, seed=1)
    assert first.hash == again.hash
    assert first == again
    assert first.hash != other.hash
    assert first != other
    assert len(first.hash) == 16 and int(first.hash, 16) >= 0
    assert len({first, again, other}) == 2


def test_hash_is_the_same_in_another_process():
    data = classification_task([40, 30, 30])
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.test_splits import classification_task;"
        "from tasks.splits import make_split;"
        "print(make_split(classification_task([40, 30, 30]), seed=2).hash)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == make_split(data, seed=2).hash


def test_index_hash_is_sha256_of_little_endian_int64_and_order_sensitive():
    expected = hashlib.sha256(np.array([3, 1, 2], dtype="<i8").tobytes()).hexdigest()[:16]
    assert index_hash([3, 1, 2]) == expected
    assert index_hash(np.array([3, 1, 2], dtype=np.int32)) == expected
    assert index_hash([1, 2, 3]) != expected


def test_split_arrays_are_read_only_copies():
    rows = np.array([0, 1, 2])
    split = Split(rows, [3], [4], "custom", 0)
    rows[0] = 9
    assert split.train[0] == 0
    with pytest.raises(ValueError):
        split.train[0] = 5


def test_split_rejects_a_row_in_two_parts():
    with pytest.raises(LiftbenchError, match="twice or in two"):
        Split([0, 1, 2], [2], [3], "custom", 0)


def test_fixed_split_with_val_is_used_as_is():
    fixed = {"train": np.arange(0, 10), "val": np.arange(10, 14), "test": np.arange(14, 20)}
    data = regression_task(20, fixed_split=fixed)
    for seed in (0, 1):
        split = make_split(data, seed=seed)
        for part in ("train", "val", "test"):
            assert np.array_equal(getattr(split, part), fixed[part])
        assert dict(split.params)["fixed_split"] is True


def test_fixed_split_without_val_carves_a_stratified_val_out_of_train():
    data = classification_task([50, 30, 20])
    y = data.y.to_numpy()
    train, test = np.arange(80), np.arange(80, 100)
    data.fixed_split = {"train": train, "test": test}
    first, second = make_split(data, seed=0), make_split(data, seed=1)
    for split in (first, second):
        assert np.array_equal(split.test, test)
        assert np.array_equal(np.sort(np.concatenate([split.train, split.val])), train)
        assert split.val.size == 16
        expected = np.bincount(y[train], minlength=3) * 16 / 80
        assert np.all(np.abs(class_counts(y, split.val, 3) - expected) <= 1)
    assert not np.array_equal(np.sort(first.val), np.sort(second.val))


def test_fixed_split_refuses_other_protocols_and_bad_rows():
    data = regression_task(20, fixed_split={"train": np.arange(10), "test": np.arange(10, 20)})
    with pytest.raises(LiftbenchError, match="defines its own"):
        make_split(data, protocol="kfold")
    data.fixed_split = {"train": np.arange(10), "test": np.array([10, 25])}
    with pytest.raises(LiftbenchError, match="outside 0..19"):
        make_split(data)
    data.fixed_split = {"train": np.arange(10)}
    with pytest.raises(LiftbenchError, match="needs 'train' and 'test'"):
        make_split(data)


def test_kfold_test_folds_cover_every_row_exactly_once_and_are_stratified():
    data = classification_task([53, 31, 16])
    y = data.y.to_numpy()
    k = 5
    tests = []
    for fold in range(k):
        split = make_split(data, seed=fold, protocol="kfold", k=k, fold=fold)
        assert_partition(split, data.n_rows)
        counts = class_counts(y, split.test, 3)
        assert np.all(np.abs(counts - np.bincount(y) / k) <= 1)
        assert dict(split.params) == {"fold": fold, "k": k, "test_seed": 0, "val_fraction": 0.2}
        tests.append(split.test)
    all_tests = np.concatenate(tests)
    assert np.array_equal(np.sort(all_tests), np.arange(data.n_rows))


def test_kfold_works_for_regression():
    data = regression_task(50)
    tests = [make_split(data, protocol="kfold", k=4, fold=f).test for f in range(4)]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(50))


def test_fractions_protocol():
    data = classification_task([60, 40])
    split = make_split(data, seed=3, protocol="fractions", train=0.5, val=0.2, test=0.3)
    assert split.sizes() == {"train": 50, "val": 20, "test": 30}
    assert_partition(split, 100)
    assert dict(split.params) == {"train": 0.5, "val": 0.2, "test": 0.3, "test_seed": 0}
    no_val = make_split(data, protocol="fractions", train=0.8, val=0.0, test=0.2)
    assert no_val.sizes() == {"train": 80, "val": 0, "test": 20}


def stratification_warnings(make: Callable[[], Split], n_rows: int) -> list[str]:
    """Messages of the StratificationWarnings that making a split raised; the split must be a partition."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_partition(make(), n_rows)
    return [str(w.message) for w in caught if issubclass(w.category, StratificationWarning)]


def test_a_class_with_one_row_does_not_crash_and_warns():
    data = classification_task([40, 25, 1])
    messages = stratification_warnings(lambda: make_split(data, seed=0), data.n_rows)
    assert any("classes [2] have fewer than 2 rows" in m for m in messages)
    messages = stratification_warnings(lambda: make_split(data, protocol="kfold"), data.n_rows)
    assert any("classes [2] have fewer than 5 rows" in m for m in messages)


def test_too_many_classes_for_a_tiny_holdout_falls_back_to_a_plain_shuffle():
    data = classification_task([2, 2, 2, 2, 2, 2])
    messages = stratification_warnings(lambda: make_split(data), 12)
    assert any("split without stratification" in m for m in messages)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "kfolds"}, "did you mean: kfold"),
        ({"protocol": "kfold", "folds": 3}, "has no option 'folds'"),
        ({"protocol": "fractions", "train": 0.5, "val": 0.2, "test": 0.2}, "must sum to 1"),
        ({"protocol": "fractions", "train": 0.8, "test": 0.2}, "missing: val"),
        ({"protocol": "fractions", "train": 0.0, "val": 0.5, "test": 0.5}, "train > 0"),
        ({"protocol": "kfold", "k": 1}, "k >= 2"),
        ({"protocol": "kfold", "k": 5, "fold": 5}, "use 0..4"),
        ({"protocol": "kfold", "k": "three"}, "must be an integer"),
        ({"seed": -1}, "must be in 0.."),
        ({"seed": 1.5}, "must be an integer"),
    ],
)
def test_bad_options_raise_one_clear_liftbench_error(kwargs, message):
    with pytest.raises(LiftbenchError, match=message) as info:
        make_split(classification_task([30, 20]), **kwargs)
    assert "\n" not in str(info.value)


def test_a_task_too_small_to_split_raises():
    with pytest.raises(LiftbenchError, match="too few for split protocol 'default'"):
        make_split(classification_task([1, 1]))
    with pytest.raises(LiftbenchError, match="too few for 5 folds"):
        make_split(regression_task(3), protocol="kfold")


def test_subset_train_records_its_origin():
    data = classification_task([30, 30])
    split = make_split(data)
    subset = split.subset_train(split.train[:10])
    assert subset.sizes() == {"train": 10, "val": split.val.size, "test": split.test.size}
    assert np.array_equal(subset.test, split.test)
    assert dict(subset.params)["train_subset_of"] == split.hash
    assert dict(subset.params)["train_subset_size"] == 10
    assert subset.hash != split.hash
    with pytest.raises(LiftbenchError, match="not training rows"):
        split.subset_train(split.test[:2])


def test_nested_subsets_are_nested_stratified_and_seeded():
    data = classification_task([120, 60, 20])
    y = data.y.to_numpy()
    split = make_split(data, seed=0)
    sizes = [3, 5, 10, 20, 40, 80, split.train.size]
    subsets = nested_train_subsets(split, y, sizes, seed=0)
    assert list(subsets) == sorted(sizes)
    for small, large in zip(sorted(sizes), sorted(sizes)[1:], strict=False):
        assert set(subsets[small]) < set(subsets[large])
    for m, rows in subsets.items():
        assert rows.size == m and np.unique(rows).size == m
        assert set(rows) <= set(split.train)
        assert np.all(class_counts(y, rows, 3) >= 1)
    assert set(subsets[split.train.size]) == set(split.train)
    again = nested_train_subsets(split, y, sizes, seed=0)
    assert all(np.array_equal(subsets[m], again[m]) for m in sizes)
    other = nested_train_subsets(split, y, sizes, seed=1)
    assert not np.array_equal(np.sort(subsets[40]), np.sort(other[40]))


def test_nested_subsets_for_regression_are_prefixes_of_a_permutation():
    data = regression_task(100)
    split = make_split(data)
    subsets = nested_train_subsets(split, data.y.to_numpy(), [10, 30, 70], seed=4)
    assert np.array_equal(subsets[30][:10], subsets[10])
    assert np.array_equal(subsets[70][:30], subsets[30])
    assert set(subsets[70]) == set(split.train)


def test_nested_subsets_reject_impossible_sizes_and_short_targets():
    data = classification_task([30, 20])
    split = make_split(data)
    y = data.y.to_numpy()
    with pytest.raises(LiftbenchError, match="not possible with 32 training rows"):
        nested_train_subsets(split, y, [10, 33], seed=0)
    with pytest.raises(LiftbenchError, match="not possible"):
        nested_train_subsets(split, y, [0], seed=0)
    with pytest.raises(LiftbenchError, match="target of every row"):
        nested_train_subsets(split, y[:5], [10], seed=0)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=40), min_size=2, max_size=6),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_nested_subsets_property(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    rows = np.random.default_rng(seed).permutation(y.size)
    split = Split(rows, [], [], "custom", 0)
    sizes = sorted({1, len(counts), y.size // 3 + 1, y.size // 2 + 1, y.size})
    subsets = nested_train_subsets(split, y, sizes, seed=seed)
    share = np.array(counts) / y.size
    for small, large in zip(sizes, sizes[1:], strict=False):
        assert np.array_equal(subsets[large][:small], subsets[small])
    for m, subset in subsets.items():
        got = class_counts(y, subset, len(counts))
        if m >= len(counts):
            assert np.all(got >= 1)
        if m * share.min() >= 1:
            assert np.all(np.abs(got - m * share) < 1)


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=30), min_size=2, max_size=5),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_default_split_partitions_any_class_mix(counts, seed):
    data = classification_task(counts, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratificationWarning)
        try:
            split = make_split(data, seed=seed)
        except LiftbenchError as error:
            assert data.n_rows < 4 and "too few" in str(error)
            return
        fixed = make_split(data, seed=seed + 1)
    assert_partition(split, data.n_rows)
    assert min(split.sizes().values()) >= 1
    assert np.array_equal(split.test, fixed.test)
