"""The paper's real regression sets that came to it as UCI and Kaggle files: servo, ccpp and insurance.

No OpenML id could be verified for these three (OpenML 747 "servo" is a binarized classification
version), so each task reads the original distribution file from the data folder, `LIFTBENCH_DATA_DIR`
(default ``~/.cache/liftbench/data``), and never downloads:

* ``servo/servo.data``: UCI Servo, comma separated, no header (LIFT's copy with a header row also reads);
* ``ccpp/Folds5x2_pp.csv``: UCI Combined Cycle Power Plant saved as CSV with the header AT,V,AP,RH,PE.
  ``ccpp/ccpp_all.csv`` (LIFT's copy) is read too, and the UCI ``Folds5x2_pp.xlsx`` (its first sheet,
  the original row order) when openpyxl is installed;
* ``insurance/insurance.csv``: Kaggle "Medical Cost Personal Datasets", with its header.

Features keep the source's names and order (the context-aware serializer templates read them in this
order); only the declared columns are read, so a saved row-index column never becomes a feature (the
paper's bug, lift-spec.md §6.2). Servo's target keeps UCI's name ``class``: it is the rise time.
Categorical columns get their full declared category set, so a subset of the rows codes the same way.
A file whose row count differs from the published one loads, with a warning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError
from tasks.openml_tasks import table_task_data
from tasks.registry import register
from tasks.spec import FeatureSpec, TaskData, TaskSpec

DATA_DIR_ENV_VAR = "LIFTBENCH_DATA_DIR"
DEFAULT_DATA_DIR = "~/.cache/liftbench/data"
SUITE = "lift-regression-real"
UCI = "UCI Machine Learning Repository"


@dataclass(frozen=True)
class FileTask:
    """One task served by a file in the data folder, and what that file must hold."""

    name: str
    source: str  # "uci-file" or "kaggle-file"
    files: tuple[str, ...]  # names accepted in <data dir>/<name>/, the preferred first
    download: str  # where to get the file, for messages
    n_rows: int  # the published row count
    features: tuple[FeatureSpec, ...]
    target: str
    categories: Mapping[str, tuple[str, ...]]  # every categorical feature's full category set
    header: bool  # whether the distribution file has a header row
    citation: str
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (*(f.name for f in self.features), self.target)


@dataclass(frozen=True)
class MissingFile:
    """Why a file task cannot load: the full reason with its fix, and a few words for a table."""

    reason: str
    brief: str


_LETTERS = ("A", "B", "C", "D", "E")

CATALOGUE: tuple[FileTask, ...] = (
    FileTask(
        name="servo",
        source="uci-file",
        files=("servo.data",),
        download="download servo.data from UCI Servo, https://doi.org/10.24432/C5Q30F",
        n_rows=167,
        features=(
            FeatureSpec("motor", "categorical"),
            FeatureSpec("screw", "categorical"),
            FeatureSpec("pgain", "integer"),
            FeatureSpec("vgain", "integer"),
        ),
        target="class",
        categories={"motor": _LETTERS, "screw": _LETTERS},
        header=False,
        citation=(
            f"{UCI}: Servo (Karl Ulrich, MIT, 1986; donated by Ross Quinlan, 1993), https://doi.org/10.24432/C5Q30F; "
            "Quinlan, Learning with continuous classes, Proc. 5th Australian Joint Conference on AI, 1992; "
            "Quinlan, Combining instance-based and model-based learning, Proc. ICML 1993"
        ),
        description=(
            "UCI Servo: 167 rows, 4 features (motor and screw A..E, integer gains pgain and vgain), "
            "regression target class, the rise time of a simulated servomechanism"
        ),
    ),
    FileTask(
        name="ccpp",
        source="uci-file",
        files=("Folds5x2_pp.csv", "ccpp_all.csv", "Folds5x2_pp.xlsx"),
        download=(
            "download CCPP.zip from UCI Combined Cycle Power Plant, https://archive.ics.uci.edu/dataset/294, "
            "and save the first sheet of its Folds5x2_pp.xlsx as CSV"
        ),
        n_rows=9568,
        features=(
            FeatureSpec("AT", "numeric"),
            FeatureSpec("V", "numeric"),
            FeatureSpec("AP", "numeric"),
            FeatureSpec("RH", "numeric"),
        ),
        target="PE",
        categories={},
        header=True,
        citation=(
            f"{UCI}: Combined Cycle Power Plant (id 294), https://doi.org/10.24432/C5002N; "
            "Tüfekci, Prediction of full load electrical power output of a base load operated combined cycle "
            "power plant using machine learning methods, International Journal of Electrical Power & Energy "
            "Systems 60, 126-140, 2014; Kaya, Tüfekci and Gürgen, Local and global learning methods for "
            "predicting power of a combined gas & steam turbine, Proc. ICETCEE 2012, 13-18"
        ),
        description=(
            "UCI Combined Cycle Power Plant: 9568 rows, 4 features (ambient temperature AT, exhaust vacuum V, "
            "ambient pressure AP, relative humidity RH), regression target PE, net hourly electrical output in MW"
        ),
    ),
    FileTask(
        name="insurance",
        source="kaggle-file",
        files=("insurance.csv",),
        download=(
            "download insurance.csv from Kaggle's Medical Cost Personal Datasets, "
            "https://www.kaggle.com/datasets/mirichoi0218/insurance"
        ),
        n_rows=1338,
        features=(
            FeatureSpec("age", "integer"),
            FeatureSpec("sex", "categorical"),
            FeatureSpec("bmi", "numeric"),
            FeatureSpec("children", "integer"),
            FeatureSpec("smoker", "categorical"),
            FeatureSpec("region", "categorical"),
        ),
        target="charges",
        categories={
            "sex": ("female", "male"),
            "smoker": ("no", "yes"),
            "region": ("northeast", "northwest", "southeast", "southwest"),
        },
        header=True,
        citation=(
            "Miri Choi, Medical Cost Personal Datasets, Kaggle, "
            "https://www.kaggle.com/datasets/mirichoi0218/insurance; "
            "from Brett Lantz, Machine Learning with R, Packt, 2013"
        ),
        description=(
            "Kaggle Medical Cost Personal Datasets: 1338 rows, 6 features (age, sex, bmi, children, smoker, "
            "US region), regression target charges, yearly medical costs billed by health insurance in USD"
        ),
    ),
)
_BY_NAME = {entry.name: entry for entry in CATALOGUE}


def data_dir() -> Path:
    """The data folder: `LIFTBENCH_DATA_DIR` when set, else ~/.cache/liftbench/data."""
    return Path(os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR).expanduser()


def expected_file(task_name: str) -> Path:
    """Where the task's preferred file is expected: <data dir>/<task>/<file>."""
    entry = _BY_NAME[task_name]
    return data_dir() / entry.name / entry.files[0]


def data_file(task_name: str) -> Path | None:
    """The first accepted file present for the task that this machine can read, or None."""
    entry = _BY_NAME[task_name]
    for name in entry.files:
        path = data_dir() / entry.name / name
        if path.is_file() and (path.suffix != ".xlsx" or _can_read_xlsx()):
            return path
    return None


def missing_file(task_name: str) -> MissingFile | None:
    """None when the task's file is present and readable; else what is wrong and how to fix it."""
    return None if data_file(task_name) is not None else _missing(_BY_NAME[task_name])


def load_file_task(entry: FileTask) -> TaskData:
    """Read the task's file from the data folder: declared columns, types and categories, float target."""
    path = data_file(entry.name)
    if path is None:
        raise LiftbenchError(_missing(entry).reason)
    raw = path.read_bytes()
    frame = _typed_frame(entry, path, _read_table(entry, path, raw))
    if len(frame) != entry.n_rows:
        warnings.warn(
            f"task {entry.name!r}: {path} has {len(frame)} rows where the published data set has {entry.n_rows}; "
            "check that it is the original file",
            stacklevel=2,
        )
    feature_types = {f.name: f.type for f in entry.features}
    detail = f"{path.resolve()} sha256:{hashlib.sha256(raw).hexdigest()[:16]}"
    return table_task_data(
        entry.name,
        "regression",
        frame[list(feature_types)],
        frame[entry.target],
        feature_types,
        entry.source,
        detail,
    )


def _missing(entry: FileTask) -> MissingFile:
    expected = expected_file(entry.name)
    folder = expected.parent
    workbooks = [folder / n for n in entry.files if n.endswith(".xlsx") and (folder / n).is_file()]
    if workbooks:
        return MissingFile(
            f"task {entry.name!r}: {workbooks[0]} is there, but reading .xlsx needs openpyxl, which is not "
            f"installed: save its first sheet as CSV at {expected} (or install openpyxl)",
            f"save {workbooks[0].name} as CSV at {expected}",
        )
    others = [n for n in entry.files[1:] if not n.endswith(".xlsx")]
    also = f" (or {', '.join(others)} there)" if others else ""
    return MissingFile(
        f"task {entry.name!r} reads {expected}{also}, which does not exist: {entry.download} and put it there, "
        f"or set {DATA_DIR_ENV_VAR} to a folder holding {entry.name}/{entry.files[0]}",
        f"no {expected}: {entry.download}",
    )


def _can_read_xlsx() -> bool:
    return importlib.util.find_spec("openpyxl") is not None


def _read_table(entry: FileTask, path: Path, raw: bytes) -> pd.DataFrame:
    """The file's cells as text, with the task's column names."""
    try:
        if path.suffix == ".xlsx":
            frame = pd.read_excel(io.BytesIO(raw), sheet_name=0, dtype=str)
        else:
            # utf-8-sig: LIFT's ccpp_all.csv starts with a byte-order mark.
            frame = pd.read_csv(
                io.BytesIO(raw), header=None, dtype=str, skipinitialspace=True, encoding="utf-8-sig"
            )
            frame = _named(entry, path, frame)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LiftbenchError(
            f"task {entry.name!r}: {path} does not parse as a table ({reason}); {entry.download}"
        ) from None
    missing = [c for c in entry.columns if c not in frame.columns]
    if missing:
        raise LiftbenchError(
            f"task {entry.name!r}: {path} has no column {missing[0]!r} (its columns: "
            f"{', '.join(map(str, frame.columns))}; expected {', '.join(entry.columns)}); {entry.download}"
        )
    if frame.empty:
        raise LiftbenchError(f"task {entry.name!r}: {path} holds no rows; {entry.download}")
    return frame


def _named(entry: FileTask, path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns named from the header row, or from the task's columns for a headerless file.

    A file distributed without a header may still have one (LIFT's servo.data has M,S,P,V,C): its
    first row then has text where the last feature's number should be, and is dropped.
    """
    if entry.header:
        return frame.iloc[1:].set_axis(frame.iloc[0].str.strip(), axis=1)
    if frame.shape[1] != len(entry.columns):
        raise LiftbenchError(
            f"task {entry.name!r}: {path} has {frame.shape[1]} fields per line, not {len(entry.columns)} "
            f"({', '.join(entry.columns)}); {entry.download}"
        )
    has_header = not _is_number(frame.iat[0, len(entry.features) - 1])
    return (frame.iloc[1:] if has_header else frame).set_axis(list(entry.columns), axis=1)


def _typed_frame(entry: FileTask, path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """The declared columns converted to their types; a missing or malformed value is an error."""
    frame = frame.reset_index(drop=True)
    out = {}
    for spec in (*entry.features, FeatureSpec(entry.target, "numeric")):
        text = frame[spec.name].str.strip()
        if spec.type == "categorical":
            allowed = entry.categories[spec.name]
            _refuse(entry, path, spec.name, text[~text.isin(allowed)], f"one of {', '.join(allowed)}")
            out[spec.name] = pd.Categorical(text, categories=allowed)
            continue
        numbers = pd.to_numeric(text, errors="coerce")
        _refuse(entry, path, spec.name, text[numbers.isna()], "a number")
        if spec.type == "integer":
            _refuse(entry, path, spec.name, text[np.mod(numbers, 1) != 0], "a whole number")
            out[spec.name] = numbers.astype(np.int64)
        else:
            out[spec.name] = numbers.astype(float)
    return pd.DataFrame(out)


def _refuse(entry: FileTask, path: Path, column: str, bad: pd.Series, wanted: str) -> None:
    """Raise, naming the first bad value by its data row (1-based, header not counted), if there is one."""
    if len(bad):
        raise LiftbenchError(
            f"task {entry.name!r}: {path} data row {int(bad.index[0]) + 1}, column {column!r}, holds "
            f"{bad.iloc[0]!r}, not {wanted} ({len(bad)} such values); {entry.download}"
        )


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _spec(entry: FileTask) -> TaskSpec:
    return TaskSpec(
        name=entry.name,
        kind="regression",
        source=entry.source,
        loader=partial(load_file_task, entry),
        defaults={},
        description=entry.description,
        features=entry.features,
        target=entry.target,
        n_rows=entry.n_rows,
        n_features=len(entry.features),
        citation=entry.citation,
        suites=(SUITE,),
    )


for _entry in CATALOGUE:
    register(_spec(_entry))
