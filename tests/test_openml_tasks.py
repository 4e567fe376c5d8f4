"""The OpenML catalogue: ids and suites, offline behaviour, and loading from a real (fixture) cache."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.errors import LiftbenchError
from tasks.openml_source import OpenMLUnavailable
from tasks.openml_tasks import CATALOGUE, class_codes
from tasks.registry import get_spec, list_specs, load_task, suites
from tests.openml_fixture import write_openml_cache

LIFT14 = {
    "customers": 1511,
    "pollution": 882,
    "spambase": 44,
    "hill-valley": 1479,
    "iris": 61,
    "tae": 48,
    "cmc": 23,
    "wine": 187,
    "vehicle": 54,
    "led7": 40496,
    "optdigits": 28,
    "mfeat-factors": 12,
    "plants-margin": 1491,
    "plants-texture": 1493,
}
LIFT_EXTRA = {
    "breast-cancer": 13,
    "hamster": 893,
    "pizzacutter3": 1444,
    "climate-model-crashes": 1467,
    "breast-cancer-wisconsin": 1510,
    "mnist": 554,
    "mnist-permuted": 554,
    "fashion-mnist": 40996,
    "fashion-mnist-permuted": 40996,
}


def cache() -> Path:
    return Path(os.environ["LIFTBENCH_OPENML_CACHE"])


def test_lift14_is_the_papers_benchmark_in_its_order() -> None:
    specs = list_specs(suite="lift14")
    assert len(specs) == 14
    assert [(s.name, s.openml_id) for s in specs] == list(LIFT14.items())
    assert all(s.source == "openml" and s.kind == "classification" and s.n_rows for s in specs)


def test_lift_extra_and_imbalance_suites() -> None:
    assert {s.name: s.openml_id for s in list_specs(suite="lift-extra")} == LIFT_EXTRA
    assert {s.openml_id for s in list_specs(suite="imbalance")} == {1444, 1467, 1511}


def test_real_regression_suite_holds_student_with_its_target() -> None:
    assert suites()["lift-regression-real"] == ["student", "servo", "ccpp", "insurance"]
    spec = get_spec("student")
    assert (spec.openml_id, spec.kind, spec.target, spec.n_rows) == (42351, "regression", "G3", 649)


def test_every_entry_describes_its_shape_and_cites_openml() -> None:
    for entry in CATALOGUE:
        spec = get_spec(entry.name)
        assert f"{entry.n_rows} rows, {entry.n_features} features" in spec.description
        if entry.kind == "classification":
            assert f"{entry.n_classes} classes" in spec.description
        assert spec.citation.startswith("Vanschoren")
        assert spec.defaults == {}


def test_empty_cache_names_the_fetch_command() -> None:
    with pytest.raises(OpenMLUnavailable) as err:
        load_task("hill-valley")
    message = str(err.value)
    assert "liftbench data fetch --id 1479" in message
    assert str(cache() / "org" / "openml" / "www" / "datasets" / "1479") in message


def _tae_like_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "speaker": pd.Categorical(["a", "b", "a", "b", "a", "b"]),
            "instructor": np.array([23, 15, 23, 5, 7, 9], dtype=np.int64),
            "size": [19.5, 17.0, np.nan, 30.25, 11.0, 20.0],
            "class": pd.Categorical(["2", "3", "1", "2", "3", "1"], categories=["3", "1", "2"]),
        }
    )


def test_cached_dataset_loads_with_openml_order_codes_and_kept_types() -> None:
    write_openml_cache(cache(), 48, _tae_like_frame(), "class", name="tae")
    data = load_task("tae")
    assert data.source == "openml-cache"
    assert data.source_detail.startswith("OpenML 48 v1 at ") and re.search(
        r"/48 md5:[0-9a-f]{32}$", data.source_detail
    )
    assert data.classes == ("3", "1", "2")  # OpenML's declared order, not sorted
    assert data.y.tolist() == [2, 0, 1, 2, 0, 1]
    assert data.y.dtype == np.int64
    assert data.feature_types == {"speaker": "categorical", "instructor": "integer", "size": "numeric"}
    assert data.X["speaker"].astype(str).tolist() == ["a", "b", "a", "b", "a", "b"]
    assert np.isnan(data.X.loc[2, "size"])
    assert data.spec is get_spec("tae")

    dropped = load_task("tae", missing="drop-columns")
    assert list(dropped.X.columns) == ["speaker", "instructor"]
    assert dropped.n_rows == 6


def test_numeric_target_of_a_classification_task_gets_sorted_classes() -> None:
    frame = pd.DataFrame(
        {"x1": np.arange(6, dtype=np.int64), "Class": np.array([7, 3, 9, 3, 7, 9], dtype=np.int64)}
    )
    write_openml_cache(cache(), 40496, frame, "Class")
    data = load_task("led7")
    assert data.classes == ("3", "7", "9")
    assert data.y.tolist() == [1, 0, 2, 0, 1, 2]


def test_missing_labels_stay_missing_until_the_policy_drops_their_rows() -> None:
    frame = _tae_like_frame()
    frame.loc[4, "class"] = np.nan
    write_openml_cache(cache(), 48, frame, "class")
    data = load_task("tae")
    assert str(data.y.dtype) == "Int64"
    assert data.y.isna().tolist() == [False, False, False, False, True, False]
    dropped = load_task("tae", missing="drop-columns")
    assert dropped.n_rows == 5 and not dropped.y.isna().any()
    assert dropped.y.tolist() == [2, 0, 1, 2, 1]


def test_regression_task_takes_its_named_target_as_floats() -> None:
    frame = pd.DataFrame(
        {
            "school": pd.Categorical(["GP", "MS", "GP", "GP"]),
            "G1": np.array([10, 12, 8, 15], dtype=np.int64),
            "G3": np.array([11, 13, 0, 16], dtype=np.int64),
            "G2": np.array([10, 13, 7, 15], dtype=np.int64),
        }
    )
    write_openml_cache(cache(), 42351, frame, "G2", name="student")  # G3 is not the default target
    data = load_task("student")
    assert data.kind == "regression" and data.classes is None
    assert data.y.dtype == float and data.y.tolist() == [11.0, 13.0, 0.0, 16.0]
    assert list(data.X.columns) == ["school", "G1", "G2"]


def test_regression_target_that_is_nominal_is_refused() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "G3": pd.Categorical(["a", "b", "a"])})
    write_openml_cache(cache(), 42351, frame, "G3")
    with pytest.raises(LiftbenchError, match="not numeric"):
        load_task("student")


def test_class_codes_refuses_a_single_class() -> None:
    with pytest.raises(LiftbenchError, match="at least 2"):
        class_codes(pd.Series(["a", "a"], name="t"), "here")


def test_whole_float_labels_are_written_as_integers() -> None:
    codes, classes = class_codes(pd.Series([2.0, 1.0, 2.5], name="t"), "here")
    assert classes == ("1", "2", "2.5") and codes.tolist() == [1, 0, 2]
