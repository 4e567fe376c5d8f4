"""A task from the user's own table file: the registered task `file` reads a CSV or an ARFF file.

    liftbench ... --task file -p path=data/heart.csv -p target=disease [-p name=heart]
        [-p kind=regression] [-p sep=";"] [-p header=false -p names=a,b,disease] [-p na_values="?,-"]

Columns keep their values: numbers stay numbers, text and nominal columns stay strings or categories.
A classification target becomes integer codes 0..K-1 indexing `classes`: in the declared order for
an ARFF nominal target (the order OpenML's `y.cat.codes` uses for the same file), in sorted order
otherwise (numbers numerically, text alphabetically). Rows with no target value are dropped, and
`source_detail` says how many.

What a new user's file gets wrong is caught here rather than turned into a wrong table:

* every file task is named: `name=` (default: the file's stem) labels its runs in tables, in
  `results compare/list --task` and in suite filters (`--filter task=heart`); the loaded parameters
  carry the file's content checksum (`sha256`), and a given `sha256=` must match the file;
* a CSV whose header row looks like data (half or more of its fields numbers) is read with a warning: pass
  `header=false` (columns x1, x2, ...) and, if you like, `names=`;
* missing-value markers: `na_values=` (comma-separated, default `?`) on top of pandas' own (empty,
  NA, NaN, null, ...), so `?` does not turn a numeric column into text;
* a numeric classification target with more than `MAX_NUMERIC_CLASSES` distinct values is refused
  with the hint `kind=regression`; as a benchmark task a class needs `MIN_ROWS_PER_CLASS` rows;
* an ARFF STRING attribute (free text, typically one value per row) is kept as a categorical column,
  with a warning, since it would be one-hot encoded into a column per value.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import arff
import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.registry import register
from tasks.spec import KINDS, FeatureType, TaskData, TaskSpec

ARFF_NUMERIC_TYPES: dict[str, FeatureType] = {"INTEGER": "integer", "REAL": "numeric", "NUMERIC": "numeric"}
FILE_TASK = "file"
DEFAULT_NA_VALUES = "?"
# A numeric target with more distinct values than this is a measurement, not a class label.
MAX_NUMERIC_CLASSES = 20
# So that every class can reach train, validation and test under the paper's 64/16/20 split.
MIN_ROWS_PER_CLASS = 5


class FileTaskWarning(UserWarning):
    """A user's file loads, but probably not as the user meant."""


def file_task_name(params: Mapping[str, Any]) -> str:
    """The label of a file task: its `name=`, or else its file's stem."""
    return str(params.get("name") or Path(str(params.get("path") or FILE_TASK)).stem)


def task_label(task: str, params: Mapping[str, Any]) -> str:
    """The name a run of `task` is shown and selected by: a file task's own name, otherwise the task."""
    return file_task_name(params) if task == FILE_TASK else task


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


def load_table_file(
    path: str | Path,
    target: str,
    kind: str = "classification",
    sep: str = ",",
    name: str = "",
    header: bool = True,
    names: str = "",
    na_values: str = DEFAULT_NA_VALUES,
) -> TaskData:
    """Read a CSV (any suffix but .arff, fields separated by `sep`) or ARFF file as a task.

    `names` and `na_values` are comma-separated lists; `header=False` reads the first row as data.
    """
    path = Path(path).expanduser()
    if kind not in KINDS:
        raise LiftbenchError(f"kind={kind!r} is not a task kind; use one of: {', '.join(KINDS)}")
    if not path.is_file():
        raise LiftbenchError(f"{path}: no such file; pass path= an existing CSV or ARFF file")
    raw = path.read_bytes()
    if path.suffix.lower() == ".arff":
        frame, declared = _read_arff(path, raw)
    else:
        frame, declared = _read_csv(path, raw, sep, header, _split_list(names), _split_list(na_values)), {}
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
    sha256 = hashlib.sha256(raw).hexdigest()
    detail = f"{path.resolve()} sha256:{sha256[:16]}"
    if dropped:
        detail += f" ({dropped} rows with no {target!r} value dropped)"
    return TaskData(
        name=name or path.stem,
        kind=kind,
        X=X,
        y=y,
        feature_types=feature_types,
        classes=classes,
        source="file",
        source_detail=detail,
        params={"sha256": sha256},
    )


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()] if text else []


def _read_csv(
    path: Path, raw: bytes, sep: str, header: bool, names: list[str], na_values: list[str]
) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            header=0 if header else None,
            na_values=na_values,
            keep_default_na=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LiftbenchError(
            f"{path} does not parse as CSV with sep={sep!r} ({reason}); check the separator (sep=) and "
            "that it is a UTF-8 text table with a header row, or save it as .arff"
        ) from None
    if not header:
        frame.columns = [f"x{i}" for i in range(1, frame.shape[1] + 1)]
    elif 2 * sum(_is_number(column) for column in frame.columns) >= frame.shape[1]:
        warnings.warn(
            f"{path}: its header row {', '.join(map(str, frame.columns[:5]))} looks like data (half or more "
            "of its fields are numbers); if the file has no header, pass header=false (columns x1, x2, ...) "
            "and names=",
            FileTaskWarning,
            stacklevel=4,
        )
    if names:
        if len(names) != frame.shape[1]:
            raise LiftbenchError(
                f"{path} has {frame.shape[1]} columns but names= gives {len(names)}: "
                f"{', '.join(names)}; give one name per column"
            )
        frame.columns = names
    return frame


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
    strings = [name for name, arff_type in decoded["attributes"] if arff_type == "STRING"]
    if strings:
        warnings.warn(
            f"{path}: STRING attributes {', '.join(strings)} are free text; they are kept as categorical "
            "columns, which baselines one-hot encode into a column per distinct value: declare them "
            "nominal ({a, b, ...}) or drop them",
            FileTaskWarning,
            stacklevel=4,
        )
    return pd.DataFrame(columns), declared


def _class_codes(path: Path, labels: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
    numeric = not isinstance(labels.dtype, pd.CategoricalDtype) and pd.api.types.is_numeric_dtype(labels)
    if numeric and not pd.api.types.is_bool_dtype(labels) and labels.nunique() > MAX_NUMERIC_CLASSES:
        raise LiftbenchError(
            f"{path}: target {labels.name!r} is numeric with {labels.nunique()} distinct values, more than "
            f"the {MAX_NUMERIC_CLASSES} a classification target may have; pass kind=regression for a "
            "measured quantity (or write the class labels as text)"
        )
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


def check_rows_per_class(data: TaskData, path: str) -> None:
    """Refuse a classification file with a class too small to reach train, validation and test."""
    if data.classes is None:
        return
    counts = np.bincount(data.y.to_numpy(dtype=np.int64), minlength=len(data.classes))
    small = [f"{data.classes[k]} ({int(n)})" for k, n in enumerate(counts) if n < MIN_ROWS_PER_CLASS]
    if small:
        raise LiftbenchError(
            f"{path}: classes {', '.join(small[:5])} have fewer than {MIN_ROWS_PER_CLASS} rows, too few to split "
            "into train, validation and test; add rows, merge rare classes, or use kind=regression"
        )


def _load_file_task(path: str = "", target: str = "", sha256: str = "", **reading: Any) -> TaskData:
    """The registered loader: `reading` holds `load_table_file`'s other options (FILE_DEFAULTS)."""
    if not path:
        raise LiftbenchError("task 'file' needs path=<your .csv or .arff file> and target=<its label column>")
    if not target:
        raise LiftbenchError(f"task 'file' needs target=<the label column of {path}>")
    data = load_table_file(path, target, **reading)
    found = data.params["sha256"]
    if sha256 and not found.startswith(sha256):
        raise LiftbenchError(
            f"{path} has changed: its sha256 is {found[:16]}, the task asks for {sha256}; "
            "rerun with the new sha256= (its results are new runs) or restore the file"
        )
    check_rows_per_class(data, path)
    return data


FILE_DEFAULTS: dict[str, Any] = {
    "path": "",
    "target": "",
    "kind": "classification",
    "sep": ",",
    "name": "",
    "header": True,
    "names": "",
    "na_values": DEFAULT_NA_VALUES,
    "sha256": "",
}

register(
    TaskSpec(
        name=FILE_TASK,
        kind="classification",
        source="file",
        loader=_load_file_task,
        defaults=FILE_DEFAULTS,
        description="your own CSV or ARFF file: path=<file>, target=<column>, kind=classification|regression,"
        " name=<label, default the file's stem>, header=true|false, names=a,b,..., na_values=?,...",
    )
)
