"""Offline copies of OpenML datasets that scikit-learn ships, served in OpenML's own shape.

scikit-learn bundles iris, wine and breast cancer Wisconsin (diagnostic), the data behind OpenML 61,
187 and 1510. Each `MirrorDeclaration` holds what the OpenML dataset declares: its feature names in
order (with the scikit-learn name each one comes from), its target name, its class names in OpenML
order, its row count, and which OpenML class each scikit-learn target code is. `load_mirror` checks
the bundled copy against that declaration, renames its columns to OpenML's, maps its target to
OpenML's classes and order, and raises a `LiftbenchError` naming the mirror and what differs when
anything does not match. The result has the form of an OpenML table, so a task gives the same rows
whichever of the two served it.

Where the bundled values differ from OpenML's, the declaration lists the cells (`corrections`):
scikit-learn's iris fixes two rows of the UCI file after Fisher's paper (rows 35 and 38, 1-based),
and OpenML 61 keeps the UCI values, so the mirror puts OpenML's values back. Each correction names
the value scikit-learn is expected to hold, so a change in scikit-learn's copy is reported, not
silently overwritten.

What was checked, and how: OpenML 61's names, class order and values against the real OpenML 61
files that scikit-learn's test suite ships (`sklearn/datasets/tests/data/openml/id_61`); OpenML 1510's
names (V1..V30), target `Class` and classes 1 = benign, 2 = malignant from its OpenML description;
OpenML 187's names (`Alcohol` ... `Proline`, with OpenML's escaped `OD280%2FOD315_of_diluted_wines`)
and target `class` with values 1, 2, 3 from copies of its data file. The values of 187 and 1510 were
not compared cell by cell with OpenML's files, which this machine does not have.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn

from tasks.errors import LiftbenchError, did_you_mean
from tasks.local_files import infer_feature_type
from tasks.spec import FeatureType

MAX_UINT8 = 255


@dataclass(frozen=True)
class Correction:
    """One cell where the bundled copy differs from OpenML: row position, OpenML column, both values."""

    row: int
    column: str
    bundled: float
    openml: float


@dataclass(frozen=True)
class MirrorDeclaration:
    """What OpenML dataset `openml_id` declares, and how the bundled copy maps onto it."""

    mirror: str  # "sklearn:<loader in sklearn.datasets>"
    openml_id: int
    openml_name: str
    n_rows: int
    columns: tuple[tuple[str, str], ...]  # (scikit-learn feature name, OpenML feature name), OpenML order
    target: str
    classes: tuple[str, ...]  # OpenML class names in OpenML order
    class_of_code: tuple[str, ...]  # the OpenML class of scikit-learn's target code 0, 1, ...
    corrections: tuple[Correction, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(openml for _, openml in self.columns)


@dataclass(frozen=True, eq=False)
class MirrorTable:
    """A bundled copy in OpenML's form: OpenML's columns, the target as OpenML's categories."""

    declaration: MirrorDeclaration
    X: pd.DataFrame
    y: pd.Series  # categorical, categories = the declaration's classes in OpenML order
    feature_types: dict[str, FeatureType]
    detail: str


_WINE_NAMES = (
    ("alcohol", "Alcohol"),
    ("malic_acid", "Malic_acid"),
    ("ash", "Ash"),
    ("alcalinity_of_ash", "Alcalinity_of_ash"),
    ("magnesium", "Magnesium"),
    ("total_phenols", "Total_phenols"),
    ("flavanoids", "Flavanoids"),
    ("nonflavanoid_phenols", "Nonflavanoid_phenols"),
    ("proanthocyanins", "Proanthocyanins"),
    ("color_intensity", "Color_intensity"),
    ("hue", "Hue"),
    ("od280/od315_of_diluted_wines", "OD280%2FOD315_of_diluted_wines"),
    ("proline", "Proline"),
)
_WDBC_MEASURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)
# scikit-learn's order (= UCI's and OpenML's): 10 means, 10 standard errors, 10 worst values.
_WDBC_SKLEARN_NAMES = (
    *(f"mean {m}" for m in _WDBC_MEASURES),
    *(f"{m} error" for m in _WDBC_MEASURES),
    *(f"worst {m}" for m in _WDBC_MEASURES),
)

MIRRORS: dict[str, MirrorDeclaration] = {
    d.mirror: d
    for d in (
        MirrorDeclaration(
            mirror="sklearn:load_iris",
            openml_id=61,
            openml_name="iris",
            n_rows=150,
            columns=(
                ("sepal length (cm)", "sepallength"),
                ("sepal width (cm)", "sepalwidth"),
                ("petal length (cm)", "petallength"),
                ("petal width (cm)", "petalwidth"),
            ),
            target="class",
            classes=("Iris-setosa", "Iris-versicolor", "Iris-virginica"),
            class_of_code=("Iris-setosa", "Iris-versicolor", "Iris-virginica"),
            corrections=(
                Correction(34, "petalwidth", bundled=0.2, openml=0.1),
                Correction(37, "sepalwidth", bundled=3.6, openml=3.1),
                Correction(37, "petallength", bundled=1.4, openml=1.5),
            ),
        ),
        MirrorDeclaration(
            mirror="sklearn:load_wine",
            openml_id=187,
            openml_name="wine",
            n_rows=178,
            columns=_WINE_NAMES,
            target="class",
            classes=("1", "2", "3"),
            class_of_code=("1", "2", "3"),
        ),
        MirrorDeclaration(
            mirror="sklearn:load_breast_cancer",
            openml_id=1510,
            openml_name="wdbc",
            n_rows=569,
            columns=tuple(zip(_WDBC_SKLEARN_NAMES, (f"V{i}" for i in range(1, 31)), strict=True)),
            target="Class",
            classes=("1", "2"),  # 1 = benign, 2 = malignant
            class_of_code=("2", "1"),  # scikit-learn: 0 = malignant, 1 = benign
        ),
    )
}


def get_declaration(mirror: str) -> MirrorDeclaration:
    try:
        return MIRRORS[mirror]
    except KeyError:
        raise LiftbenchError(
            f"unknown mirror {mirror!r}{did_you_mean(mirror, MIRRORS)}; known: {', '.join(MIRRORS)}"
        ) from None


def load_mirror(mirror: str) -> MirrorTable:
    """The bundled copy named `mirror`, checked against its OpenML declaration and put in OpenML's form."""
    declaration = get_declaration(mirror)
    package, _, loader_name = mirror.partition(":")
    bunch = getattr(importlib.import_module(f"{package}.datasets"), loader_name)()
    data = np.array(bunch.data, dtype=float)
    codes = np.asarray(bunch.target)
    _check(declaration, data, list(bunch.feature_names), list(bunch.target_names))
    X = pd.DataFrame(data, columns=list(declaration.feature_names))
    for fix in declaration.corrections:
        _apply(declaration, X, fix)
    X = as_openml_parses(X)
    labels = np.asarray(declaration.class_of_code, dtype=object)[codes]
    y = pd.Series(pd.Categorical(labels, categories=list(declaration.classes)), name=declaration.target)
    absent = sorted(set(declaration.classes) - set(labels))
    if absent:
        raise _mismatch(declaration, f"OpenML classes {absent} have no rows in the bundled copy")
    feature_types = {name: infer_feature_type(X[name]) for name in X.columns}
    detail = (
        f"{mirror} (scikit-learn {sklearn.__version__}) as OpenML {declaration.openml_id} "
        f"{declaration.openml_name}: {len(X)} rows, {X.shape[1]} features, {len(declaration.classes)} classes, "
        f"{len(declaration.corrections)} cells set to OpenML's values"
    )
    return MirrorTable(declaration, X, y, feature_types, detail)


def as_openml_parses(X: pd.DataFrame) -> pd.DataFrame:
    """The dtypes openml-python 0.15 gives these numeric columns when it parses them from ARFF.

    `OpenMLDataset._parse_data_from_arff` stores a numeric column as uint8 when all its values are
    whole numbers in 0..255 (wine's Magnesium, for one); the mirror does the same, so that both
    sources give one frame.
    """
    out = X.copy()
    for name in out.columns:
        column = out[name]
        if column.min() >= 0 and column.max() <= MAX_UINT8 and (column == column.astype(np.uint8)).all():
            out[name] = column.astype(np.uint8)
    return out


def _check(
    declaration: MirrorDeclaration, data: np.ndarray, names: list[str], target_names: list[str]
) -> None:
    expected_names = [sklearn_name for sklearn_name, _ in declaration.columns]
    if names != expected_names:
        raise _mismatch(declaration, f"its feature names {names} are not the declared {expected_names}")
    expected_shape = (declaration.n_rows, len(declaration.columns))
    if data.shape != expected_shape:
        raise _mismatch(
            declaration,
            f"it has {data.shape[0]} rows x {data.shape[1]} features, OpenML {declaration.openml_id} "
            f"declares {expected_shape[0]} rows x {expected_shape[1]} features",
        )
    if len(target_names) != len(declaration.class_of_code):
        raise _mismatch(
            declaration,
            f"it has {len(target_names)} classes, the declaration maps {len(declaration.class_of_code)}",
        )
    if sorted(declaration.class_of_code) != sorted(declaration.classes):
        raise _mismatch(
            declaration,
            f"its classes map to {list(declaration.class_of_code)}, not one each to OpenML's "
            f"{list(declaration.classes)}",
        )


def _apply(declaration: MirrorDeclaration, X: pd.DataFrame, fix: Correction) -> None:
    if fix.column not in X.columns or not 0 <= fix.row < len(X):
        raise _mismatch(declaration, f"correction {fix} names a cell outside the table")
    found = float(X.at[fix.row, fix.column])
    if found != fix.bundled:
        raise _mismatch(
            declaration,
            f"row {fix.row} {fix.column} holds {found}, not the {fix.bundled} the correction to OpenML's "
            f"{fix.openml} expects",
        )
    X.at[fix.row, fix.column] = fix.openml


def _mismatch(declaration: MirrorDeclaration, what: str) -> LiftbenchError:
    return LiftbenchError(
        f"mirror {declaration.mirror} does not match OpenML {declaration.openml_id} "
        f"({declaration.openml_name}): {what}; use the OpenML cache instead "
        f"(`liftbench data fetch --id {declaration.openml_id}` on a machine with network)"
    )
