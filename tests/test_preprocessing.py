"""Train-only preprocessing for the baselines, with real scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.errors import LiftbenchError
from tasks.preprocessing import MISSING_CATEGORY, TabularPreprocessor, drop_missing_columns

FEATURE_TYPES = {"age": "numeric", "visits": "integer", "colour": "categorical"}


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, np.nan, 50.0, 200.0, 300.0],
            "visits": [1, 2, 3, 4, 50, 60],
            "colour": ["red", "blue", None, "red", "green", "blue"],
        }
    )


def test_scaler_is_fitted_on_the_training_rows_only():
    X = table()
    train = X.iloc[:4]
    pre = TabularPreprocessor(FEATURE_TYPES).fit(train)
    scaler = pre.transformer_.named_transformers_["num"].named_steps["scale"]
    names = pre.feature_names_out()
    visits = names.index("num__visits")
    assert scaler.mean_[visits] == pytest.approx(train["visits"].mean())
    assert scaler.mean_[visits] != pytest.approx(X["visits"].mean())
    out_train = pre.transform(train)
    assert out_train[:, visits].mean() == pytest.approx(0.0)
    assert out_train[:, visits].std() == pytest.approx(1.0)
    assert pre.transform(X)[:, visits].mean() > 1.0


def test_category_seen_only_outside_training_encodes_as_zeros():
    X = table()
    pre = TabularPreprocessor(FEATURE_TYPES).fit(X.iloc[:4])
    names = pre.feature_names_out()
    colour = [i for i, n in enumerate(names) if n.startswith("cat__colour_")]
    assert "cat__colour_green" not in names
    out = pre.transform(X)
    assert np.all(out[4, colour] == 0.0)  # "green" only appears in row 4
    assert out[5, names.index("cat__colour_blue")] == 1.0


def test_missing_values_are_imputed_and_flagged():
    X = table()
    pre = TabularPreprocessor(FEATURE_TYPES, scale=False).fit(X.iloc[:4])
    out = pre.transform(X)
    names = pre.feature_names_out()
    assert not np.isnan(out).any()
    assert out.dtype == np.float64
    flag = names.index("num__missingindicator_age")
    assert out[:, flag].tolist() == [0, 0, 1, 0, 0, 0]
    assert out[2, names.index("num__age")] == pytest.approx(np.mean([20.0, 30.0, 50.0]))
    assert "num__missingindicator_visits" not in names  # no gap in training: no indicator
    assert out[2, names.index(f"cat__colour_{MISSING_CATEGORY}")] == 1.0


def test_column_missing_in_all_training_rows_does_not_crash():
    X = table().assign(blank=[np.nan, np.nan, np.nan, np.nan, 7.0, 8.0])
    pre = TabularPreprocessor({**FEATURE_TYPES, "blank": "numeric"}).fit(X.iloc[:4])
    out = pre.transform(X)
    names = pre.feature_names_out()
    assert not np.isnan(out).any()
    assert "num__blank" in names and "num__missingindicator_blank" in names
    assert np.all(out[:4, names.index("num__blank")] == 0.0)


def test_pandas_category_string_and_nullable_dtypes_match_plain_columns():
    plain = table()
    typed = plain.assign(
        visits=pd.array([1, 2, None, 4, 50, 60], dtype="Int64"),
        colour=plain["colour"].astype("category"),
    )
    plain = plain.assign(visits=[1.0, 2.0, np.nan, 4.0, 50.0, 60.0])
    as_string = plain.assign(colour=plain["colour"].astype("str"))
    expected = TabularPreprocessor(FEATURE_TYPES).fit(plain.iloc[:4]).transform(plain)
    assert np.allclose(TabularPreprocessor(FEATURE_TYPES).fit(typed.iloc[:4]).transform(typed), expected)
    assert as_string["colour"].isna().sum() == 1
    assert np.allclose(
        TabularPreprocessor(FEATURE_TYPES).fit(as_string.iloc[:4]).transform(as_string), expected
    )


def test_ordinal_encoding_when_one_hot_is_off():
    X = table()
    pre = TabularPreprocessor(FEATURE_TYPES, one_hot=False).fit(X.iloc[:4])
    names = pre.feature_names_out()
    assert "cat__colour" in names
    codes = pre.transform(X)[:, names.index("cat__colour")]
    assert codes[4] == -1.0  # unseen "green"
    assert codes[0] == codes[3]  # both "red"


@pytest.mark.parametrize(
    ("kwargs", "frame", "message"),
    [
        ({"impute": "average"}, table(), "not a strategy"),
        ({"feature_types": {**FEATURE_TYPES, "age": "float"}}, table(), "feature types are"),
        ({}, table().drop(columns="age"), "missing: \\['age'\\]"),
        ({}, table().assign(extra=1), "without a type: \\['extra'\\]"),
        ({}, table().assign(age="old"), "not a number"),
    ],
)
def test_bad_input_raises_liftbench_error(kwargs, frame, message):
    pre = TabularPreprocessor(**{"feature_types": FEATURE_TYPES, **kwargs})
    with pytest.raises(LiftbenchError, match=message):
        pre.fit(frame)


def test_drop_missing_columns():
    X = table()
    kept, dropped = drop_missing_columns(X)
    assert dropped == ["age", "colour"]
    assert list(kept.columns) == ["visits"]
    assert list(X.columns) == ["age", "visits", "colour"]  # the input is not changed
    same, none = drop_missing_columns(kept)
    assert none == [] and same.equals(kept)
