"""A task from the user's own table file: the registered task `file` reads a CSV or an ARFF file.

    liftbench ... --task file -p path=data/heart.csv -p target=disease [-p kind=regression] [-p sep=";"]

Columns keep their values: numbers stay numbers, text and nominal columns stay strings or categories.
A classification target becomes integer codes 0..K-1 indexing `classes`: in the declared order for
an ARFF nominal target (the order OpenML's `y.cat.codes` uses for the same file), in sorted order
otherwise (numbers numerically, text alphabetically). Rows with no target value are dropped, and
`source_detail` says how many.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import arff
import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.registry import register
from tasks.spec import KINDS, FeatureType, TaskData, TaskSpec

ARFF_NUMERIC_TYPES: dict[str, FeatureType] = {"INTEGER": "integer", "REAL": "numeric", "NUMERIC": "numeric"}


def infer_feature_type(column: pd.Series) -> FeatureType:
    """The feature type a column's values show.

    "integer" for integer dtypes, and for float columns with missing values whose present values are
    all whole numbers (an integer column with a gap reads as float from CSV and ARFF); "numeric" for
    other numbers; "categorical" for everything else (text, categories, booleans).
    """
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(column)
        or not pd.api.types.is_numeric_dtype(column)
    ):
        return "categorical"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    present = column.dropna().to_numpy(dtype=float)
    if len(present) < len(column) and len(present) and np.all(np.mod(present, 1) == 0):
        return "integer"
    return "numeric"


def load_table_file(path: str | Path, target: str, kind: str = "classification", sep: str = ",") -> TaskData:
    """Read a CSV (any suffix but .arff, fields separated by `sep`) or ARFF file as a task."""
    path = Path(path).expanduser()
    if kind not in KINDS:
        raise LiftbenchError(f"kind={kind!r} is not a task kind; use one of: {', '.join(KINDS)}")
    if not path.is_file():
        raise LiftbenchError(f"{path}: no such file; pass path= an existing CSV or ARFF file")
    raw = path.read_bytes()
    if path.suffix.lower() == ".arff":
        frame, declared = _read_arff(path, raw)
    else:
        frame, declared = _read_csv(path, raw, sep), {}
    if target not in frame.columns:
        hint = (
            f"; the file reads as one column: if its fields are not separated by {sep!r}, pass sep="
            if frame.shape[1] == 1
            else ""
        )
        raise LiftbenchError(
            f"{path} has no column {target!r}{did_you_mean(target, map(str, frame.columns))}; "
            f"pass target= one of: {', '.join(map(str, frame.columns))}{hint}"
        )
    if frame.shape[1] < 2:
        raise LiftbenchError(
            f"{path} has only the target column {target!r}; a task needs feature columns too"
        )

    has_target = frame[target].notna().to_numpy()
    frame = frame.loc[has_target].reset_index(drop=True)
    if kind == "classification":
        y, classes = _class_codes(path, frame[target])
    else:
        y, classes = _regression_target(path, frame[target]), None
    X = frame.drop(columns=[target])
    feature_types = {str(c): declared.get(str(c)) or infer_feature_type(X[c]) for c in X.columns}
    dropped = int((~has_target).sum())
    detail = f"{path.resolve()} sha256:{hashlib.sha256(raw).hexdigest()[:16]}"
    if dropped:
        detail += f" ({dropped} rows with no {target!r} value dropped)"
    return TaskData(
        name="file",
        kind=kind,
        X=X,
        y=y,
        feature_types=feature_types,
        classes=classes,
        source="file",
        source_detail=detail,
    )


def _read_csv(path: Path, raw: bytes, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(raw), sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LiftbenchError(
            f"{path} does not parse as CSV with sep={sep!r} ({reason}); check the separator (sep=) and "
            "that it is a UTF-8 text table with a header row, or save it as .arff"
        ) from None


def _read_arff(path: Path, raw: bytes) -> tuple[pd.DataFrame, dict[str, FeatureType]]:
    """Parse with liac-arff (openml's own ARFF parser); returns the frame and the declared types."""
    try:
        decoded = arff.loads(raw.decode("utf8"))
    except (arff.ArffException, UnicodeDecodeError) as err:
        raise LiftbenchError(
            f"{path} does not parse as ARFF ({err}); liac-arff reads dense ARFF with NUMERIC, REAL, "
            "INTEGER, STRING and nominal attributes: fix the file or save it as CSV"
        ) from None
    names = [name for name, _ in decoded["attributes"]]
    rows = pd.DataFrame(decoded["data"], columns=names)
    columns, declared = {}, {}
    for name, arff_type in decoded["attributes"]:
        values = rows[name]
        if isinstance(arff_type, list):
            columns[name] = pd.Categorical(values, categories=arff_type)
            declared[name] = "categorical"
        elif arff_type in ARFF_NUMERIC_TYPES:
            numbers = pd.to_numeric(values)
            whole = arff_type == "INTEGER" and not numbers.isna().any()
            columns[name] = numbers.astype(np.int64 if whole else float)
            declared[name] = ARFF_NUMERIC_TYPES[arff_type]
        else:
            columns[name] = values
            declared[name] = "categorical"
    return pd.DataFrame(columns), declared


def _class_codes(path: Path, labels: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
    if isinstance(labels.dtype, pd.CategoricalDtype):
        categories = list(labels.cat.categories)
    else:
        values = list(labels.unique())
        try:
            categories = sorted(values)
        except TypeError:
            categories = sorted(values, key=str)
    if labels.nunique() < 2:
        raise LiftbenchError(
            f"{path}: target {labels.name!r} has {labels.nunique()} class(es) among rows with a value; "
            "classification needs at least 2 (for a numeric target pass kind=regression)"
        )
    codes = pd.Categorical(labels, categories=categories).codes.astype(np.int64)
    return pd.Series(codes, name=labels.name), tuple(str(c) for c in categories)


def _regression_target(path: Path, values: pd.Series) -> pd.Series:
    try:
        numbers = pd.to_numeric(
            values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
        )
    except (TypeError, ValueError):
        example = next((v for v in values if not _is_number(v)), values.iloc[0])
        raise LiftbenchError(
            f"{path}: regression target {values.name!r} is not numeric (e.g. {example!r}); pass a numeric "
            "column as target=, or kind=classification for class labels"
        ) from None
    if pd.api.types.is_bool_dtype(numbers):
        raise LiftbenchError(
            f"{path}: regression target {values.name!r} holds booleans; use kind=classification for it"
        )
    return numbers.astype(float).rename(values.name)


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _load_file_task(
    path: str = "", target: str = "", kind: str = "classification", sep: str = ","
) -> TaskData:
    if not path:
        raise LiftbenchError("task 'file' needs path=<your .csv or .arff file> and target=<its label column>")
    if not target:
        raise LiftbenchError(f"task 'file' needs target=<the label column of {path}>")
    return load_table_file(path, target, kind=kind, sep=sep)


register(
    TaskSpec(
        name="file",
        kind="classification",
        source="file",
        loader=_load_file_task,
        defaults={"path": "", "target": "", "kind": "classification", "sep": ","},
        description="your own CSV or ARFF file: path=<file>, target=<column>, kind=classification|regression",
    )
)
