"""Feature preprocessing for the classical baselines, fitted on the training rows only.

The paper fitted its scaler and one-hot encoder on the whole dataset before splitting (lift-spec
1.3); here the caller fits `TabularPreprocessor` on the training rows and only transforms the others.
The class never sees a row it is not given.

Choices, so that nothing is thrown away silently:

* numeric and integer columns: `SimpleImputer(strategy=impute, add_indicator=True)`, then
  `StandardScaler` when `scale`. Every column with a missing value in the training rows gets a 0/1
  missingness indicator (scaled like the rest), so "was missing" stays information. A column that is
  entirely missing in the training rows is kept as a constant 0 (`keep_empty_features`) beside its
  indicator rather than dropped or crashing, so the output width does not depend on the rows' values.
* categorical columns: missing values become an explicit category `MISSING_CATEGORY`, then
  `OneHotEncoder(handle_unknown="ignore")` (a category first seen outside the training rows encodes
  as all zeros), or, with `one_hot=False`, an `OrdinalEncoder` whose unknown categories encode as -1.
  Values are compared as text, so pandas category and string dtypes and mixed object columns all work.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from tasks.errors import LiftbenchError

MISSING_CATEGORY = "<missing>"
IMPUTE_STRATEGIES: tuple[str, ...] = ("mean", "median", "most_frequent")
FEATURE_TYPES: tuple[str, ...] = ("numeric", "integer", "categorical")


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, scale and encode a table's features into a float64 matrix (see the module docstring).

    `feature_types` maps each column of the tables it will see to "numeric", "integer" or
    "categorical". Fit it on the training rows only.
    """

    def __init__(
        self,
        feature_types: Mapping[str, str],
        scale: bool = True,
        one_hot: bool = True,
        impute: str = "mean",
    ) -> None:
        self.feature_types = feature_types
        self.scale = scale
        self.one_hot = one_hot
        self.impute = impute

    def fit(self, X: pd.DataFrame, y: object = None) -> TabularPreprocessor:
        self._check_settings()
        self._check_columns(X)
        numeric = [c for c, t in self.feature_types.items() if t in ("numeric", "integer")]
        categorical = [c for c, t in self.feature_types.items() if t == "categorical"]
        parts = []
        if numeric:
            parts.append(("num", self._numeric_pipeline(), numeric))
        if categorical:
            parts.append(("cat", self._categorical_pipeline(), categorical))
        self.columns_ = list(self.feature_types)
        self.transformer_ = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
        self.transformer_.fit(X[self.columns_])
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "transformer_")
        self._check_columns(X)
        return np.asarray(self.transformer_.transform(X[self.columns_]), dtype=np.float64)

    def feature_names_out(self) -> list[str]:
        """Output column names: "num__<col>", "num__missingindicator_<col>", "cat__<col>_<category>"."""
        check_is_fitted(self, "transformer_")
        return [str(name) for name in self.transformer_.get_feature_names_out()]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.feature_names_out(), dtype=object)

    def _numeric_pipeline(self) -> Pipeline:
        steps: list[tuple[str, object]] = [
            ("to_float", FunctionTransformer(_as_float, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy=self.impute, add_indicator=True, keep_empty_features=True)),
        ]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    def _categorical_pipeline(self) -> Pipeline:
        encoder = (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            if self.one_hot
            else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)
        )
        return Pipeline(
            [
                ("to_text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                ("encode", encoder),
            ]
        )

    def _check_settings(self) -> None:
        if self.impute not in IMPUTE_STRATEGIES:
            raise LiftbenchError(
                f"impute={self.impute!r} is not a strategy; use one of: {', '.join(IMPUTE_STRATEGIES)}"
            )
        bad = {c: t for c, t in self.feature_types.items() if t not in FEATURE_TYPES}
        if bad:
            column, kind = next(iter(bad.items()))
            raise LiftbenchError(
                f"feature {column!r} has type {kind!r}; feature types are: {', '.join(FEATURE_TYPES)}"
            )
        if not self.feature_types:
            raise LiftbenchError("no feature types given; a preprocessor needs at least one column")

    def _check_columns(self, X: pd.DataFrame) -> None:
        if not isinstance(X, pd.DataFrame):
            raise LiftbenchError(f"preprocessing expects a pandas DataFrame, got {type(X).__name__}")
        missing = [c for c in self.feature_types if c not in X.columns]
        extra = [c for c in X.columns if c not in self.feature_types]
        if missing or extra:
            raise LiftbenchError(
                f"table columns do not match the feature types (missing: {missing or 'none'}, "
                f"without a type: {extra or 'none'}); give feature_types for exactly the table's columns"
            )


def drop_missing_columns(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The paper's handling of missing values: drop every column with any missing value.

    Returns the remaining table and the dropped column names. Apply it to the whole table (as the
    paper did) only for exact comparisons with its numbers; by default keep the columns and let
    `TabularPreprocessor` impute them.
    """
    dropped = [str(c) for c in X.columns if X[c].isna().any()]
    return X.drop(columns=dropped), dropped


def _as_float(X: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float64, pandas NA (nullable ints and floats) as NaN."""
    frame = pd.DataFrame(X)
    try:
        return frame.apply(lambda column: pd.to_numeric(column).astype("float64"))
    except (TypeError, ValueError) as error:
        raise LiftbenchError(
            f"a numeric feature holds a value that is not a number ({error}); declare it categorical"
        ) from None


def _as_text(X: pd.DataFrame) -> np.ndarray:
    """Categorical values as Python strings in an object array, missing values (None, NaN, NA) as NaN."""
    values = pd.DataFrame(X).astype(object).to_numpy()
    text = values.astype(str).astype(object)
    text[pd.isna(values)] = np.nan
    return text
