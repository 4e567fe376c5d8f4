"""What a task is (`TaskSpec`) and what loading one gives (`TaskData`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["classification", "regression"]
FeatureType = Literal["numeric", "integer", "categorical"]
KINDS: tuple[str, ...] = ("classification", "regression")


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: FeatureType = "numeric"


@dataclass(frozen=True)
class TaskSpec:
    """A named task in the catalogue.

    `loader(**params)` returns the task's `TaskData`; `defaults` lists every parameter the loader
    accepts with its default value (its type is the type a user-given value is coerced to).
    Features and classes may be None when they are only known once the data is loaded (OpenML).
    """

    name: str
    kind: Kind
    source: str  # "openml", "synthetic", "sklearn", "file"
    loader: Callable[..., TaskData]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    openml_id: int | None = None
    features: tuple[FeatureSpec, ...] | None = None
    target: str = "y"
    class_labels: tuple[str, ...] | None = None
    n_rows: int | None = None
    n_features: int | None = None  # the published count, for estimates made before the data is loaded
    mirror: str | None = None  # an offline copy that can serve the data, e.g. "sklearn:load_iris", "keel:tae"
    citation: str = ""
    suites: tuple[str, ...] = ()

    @property
    def n_classes(self) -> int | None:
        return None if self.class_labels is None else len(self.class_labels)


@dataclass
class TaskData:
    """A loaded task: features as they are (numeric and categorical), the target, and provenance.

    Classification targets are integer codes 0..K-1 indexing `classes` (the class names in the
    source's category order, as the paper's `y.cat.codes`). Regression targets are floats.
    `fixed_split`, when set, holds row positions for "train", "val" and "test" that the task itself
    defines (synthetic regression with its noiseless test set, MNIST's official test set).
    """

    name: str
    kind: Kind
    X: pd.DataFrame
    y: pd.Series
    feature_types: dict[str, FeatureType]
    classes: tuple[str, ...] | None
    source: str  # which source served the rows: "openml-cache", "sklearn-mirror", "keel-mirror", "synthetic", "file"
    source_detail: str = ""  # a path, an OpenML id and version, a generator
    params: dict[str, Any] = field(default_factory=dict)
    fixed_split: dict[str, np.ndarray] | None = None
    spec: TaskSpec | None = None

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def checksum(self) -> str:
        """A short sha256 over the feature names, values and target, stable across processes."""
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, self.X.columns)).encode())
        h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.y, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]

    def target_summary(self) -> str:
        if self.kind == "classification":
            return f"{len(self.classes or ())} classes"
        y = self.y.to_numpy(dtype=float)
        return f"y in [{np.nanmin(y):.3g}, {np.nanmax(y):.3g}]"
