"""What the store holds: a run's record and its per-row predictions, checked and converted to and from SQL rows."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.core.methods import INVALID_CLASS, Predictions
from tasks.spec import KINDS

STATUSES = ("ok", "failed")


PROBA_SUM_TOLERANCE = 1e-4  # float32 probabilities of a few classes sum to 1 within ~1e-6


REQUIRED_PREDICTION_COLUMNS = ("row_index", "split", "y_true", "y_pred", "invalid")


PREDICTION_COLUMNS = (*REQUIRED_PREDICTION_COLUMNS, "proba", "std", "raw", "terminated", "invalid_samples")


GENERATION_FLAGS = ("terminated", "invalid_samples")


STRICT_TARGET_SPLIT = "test"  # the split whose y_true must always be known


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class RunRecord:
    """One run as stored: who ran what (spec), how it went (status, metrics, error), and provenance.

    `config` is the run's effective configuration (`benchmark.harness.effective`) and `config_hash`
    the hash of its part known before fitting, which resume compares. `provenance` is free-form JSON:
    data checksum, split hash, serializer and prompt hash, model id and revision, library versions,
    git commit, host and process, fit and predict wall times, tokens seen, trainable parameters, peak
    memory. `superseded_by` is set on an old result kept after its run was done again.
    """

    run_hash: str
    task: str
    method: str
    kind: str
    seed: int
    split_seed: int | None
    train_size: int | None
    spec: dict[str, Any]
    status: str = "ok"
    suite: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    created_at: str = field(default_factory=utc_now)
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str | None = None
    superseded_by: str | None = None

    def __post_init__(self) -> None:
        if not self.run_hash:
            raise ValueError("RunRecord.run_hash is empty")
        if self.status not in STATUSES:
            raise ValueError(f"RunRecord.status must be one of {STATUSES}, got {self.status!r}")
        if self.kind not in KINDS:
            raise ValueError(f"RunRecord.kind must be one of {KINDS}, got {self.kind!r}")
        if self.status == "failed" and not self.error:
            raise ValueError("a failed RunRecord needs its error text")


def predictions_frame(
    y_true: np.ndarray, pred: Predictions, row_index: np.ndarray | None = None, split: str = "test"
) -> pd.DataFrame:
    """The store's prediction frame for one split; `row_index` defaults to 0..n-1."""
    n = len(pred.y_pred)
    frame = pd.DataFrame(
        {
            "row_index": np.arange(n) if row_index is None else np.asarray(row_index),
            "split": split,
            "y_true": np.asarray(y_true),
            "y_pred": np.asarray(pred.y_pred),
            "invalid": np.asarray(pred.invalid, dtype=bool),
        }
    )
    if pred.proba is not None:
        frame["proba"] = [row.tolist() for row in np.asarray(pred.proba, dtype=float)]
    if pred.std is not None:
        frame["std"] = np.asarray(pred.std, dtype=float)
    if pred.raw is not None:
        frame["raw"] = list(pred.raw)
    if pred.terminated is not None:
        frame["terminated"] = np.asarray(pred.terminated, dtype=bool)
    if pred.invalid_samples is not None:
        frame["invalid_samples"] = np.asarray(pred.invalid_samples, dtype=np.int64)
    return frame


def predictions_from_frame(frame: pd.DataFrame) -> tuple[np.ndarray, Predictions]:
    """`(y_true, Predictions)` back from a prediction frame (one split), to recompute metrics."""
    proba = None
    if "proba" in frame.columns and frame["proba"].notna().all():
        proba = np.array(frame["proba"].tolist(), dtype=float)
    std = None
    if "std" in frame.columns and frame["std"].notna().all():
        std = frame["std"].to_numpy(dtype=float)
    raw = None
    if "raw" in frame.columns and frame["raw"].notna().all():
        raw = frame["raw"].tolist()
    flags = {
        name: frame[name].to_numpy(dtype=dtype)
        for name, dtype in zip(GENERATION_FLAGS, (bool, np.int64), strict=True)
        if name in frame.columns and frame[name].notna().all()
    }
    pred = Predictions(
        y_pred=frame["y_pred"].to_numpy(),
        proba=proba,
        std=std,
        invalid=frame["invalid"].to_numpy(dtype=bool),
        raw=raw,
        **flags,
    )
    return frame["y_true"].to_numpy(), pred


def prediction_rows(record: RunRecord, frame: pd.DataFrame | None) -> list[tuple]:
    """Validate a prediction frame against the store's schema and the run's kind; the rows to insert.

    One function on purpose: the checks read top to bottom like the schema they enforce (module
    docstring), and each raises before anything is written."""
    where = f"predictions of run {record.run_hash}"
    if frame is None or len(frame) == 0:
        if record.status == "ok":
            raise ValueError(f"{where}: an ok run needs its prediction rows, got none")
        return []
    if record.status == "failed":
        raise ValueError(f"{where}: a failed run stores no predictions, got {len(frame)} rows")
    missing = [c for c in REQUIRED_PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {', '.join(missing)}; columns are {', '.join(PREDICTION_COLUMNS)}"
        )
    unknown = [c for c in frame.columns if c not in PREDICTION_COLUMNS]
    if unknown:
        raise ValueError(f"{where}: unknown column(s) {', '.join(map(str, unknown))}")

    row_index = _integers(frame["row_index"], f"{where}: row_index")
    if (row_index < 0).any():
        raise ValueError(f"{where}: row_index must be non-negative")
    split = frame["split"].tolist()
    if not all(isinstance(s, str) and s for s in split):
        raise ValueError(f"{where}: split must be a non-empty string in every row")
    if pd.DataFrame({"s": split, "i": row_index}).duplicated().any():
        raise ValueError(f"{where}: (split, row_index) repeats")
    y_true, known = _targets(frame["y_true"], np.array(split, dtype=object) == STRICT_TARGET_SPLIT, where)
    y_pred = _finite(frame["y_pred"], f"{where}: y_pred")
    invalid = frame["invalid"]
    if invalid.isna().any() or not invalid.isin([0, 1]).all():
        raise ValueError(f"{where}: invalid must be True/False in every row")

    proba_json: list[str | None] = [None] * len(frame)
    std: list[float | None] = [None] * len(frame)
    if record.kind == "classification":
        codes = _integers(pd.Series(y_true[known]), f"{where}: y_true")
        y_pred = _integers(frame["y_pred"], f"{where}: y_pred")
        if (codes < 0).any() or (y_pred < INVALID_CLASS).any():
            raise ValueError(f"{where}: class codes must be >= 0 (y_pred: >= {INVALID_CLASS} for invalid)")
        if "std" in frame.columns and frame["std"].notna().any():
            raise ValueError(f"{where}: std is for regression runs; this run is classification")
        if "proba" in frame.columns:
            proba_json = _proba_json(frame["proba"], codes, y_pred, where)
    else:
        if "proba" in frame.columns and frame["proba"].notna().any():
            raise ValueError(f"{where}: proba is for classification runs; this run is regression")
        if "std" in frame.columns and frame["std"].notna().any():
            values = _finite(frame["std"], f"{where}: std (give it in every row or in none)")
            if (values < 0).any():
                raise ValueError(f"{where}: std must be non-negative")
            std = values.tolist()
    raw = frame["raw"].tolist() if "raw" in frame.columns else [None] * len(frame)
    if not all(r is None or isinstance(r, str) for r in raw):
        raise ValueError(f"{where}: raw must be text or None")
    terminated, invalid_samples = (_optional_counts(frame, name, where) for name in GENERATION_FLAGS)
    if terminated is not None and any(t is not None and t > 1 for t in terminated):
        raise ValueError(f"{where}: terminated must be True/False (or missing) in every row")
    return list(
        zip(
            [record.run_hash] * len(frame),
            row_index.tolist(),
            split,
            [value if ok else None for value, ok in zip(y_true.tolist(), known, strict=True)],
            y_pred.tolist(),
            invalid.astype(int).tolist(),
            proba_json,
            std,
            raw,
            terminated or [None] * len(frame),
            invalid_samples or [None] * len(frame),
            strict=True,
        )
    )


def _optional_counts(frame: pd.DataFrame, name: str, where: str) -> list[int | None] | None:
    """An optional column of whole numbers >= 0 (True/False read as 1/0), None where missing."""
    if name not in frame.columns:
        return None
    out: list[int | None] = []
    for value in frame[name].tolist():
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif isinstance(value, bool | np.bool_ | int | np.integer) and value >= 0:
            out.append(int(value))
        else:
            raise ValueError(f"{where}: {name} must hold whole numbers >= 0 (or be missing), got {value!r}")
    return out


def _targets(column: pd.Series, strict: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """y_true as floats and where it is known: finite in `strict` rows, finite or NaN elsewhere."""
    _finite(column[strict], f"{where}: y_true")
    try:
        values = pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: y_true must be numeric") from err
    if np.isinf(values).any():
        raise ValueError(f"{where}: y_true has {int(np.isinf(values).sum())} infinite value(s)")
    return values, ~np.isnan(values)


def _proba_json(column: pd.Series, y_true: np.ndarray, y_pred: np.ndarray, where: str) -> list[str | None]:
    """Proba rows as JSON: all rows or none, one width K > every class code, each in [0, 1] summing to 1."""
    cells = column.tolist()
    absent = [cell is None or (isinstance(cell, float) and math.isnan(cell)) for cell in cells]
    if all(absent):
        return [None] * len(cells)
    if any(absent):
        raise ValueError(f"{where}: proba is given in some rows only; give it in every row or in none")
    try:
        proba = np.array([np.asarray(cell, dtype=float) for cell in cells], dtype=float)
    except ValueError as err:
        raise ValueError(f"{where}: proba rows must all be numbers of one length K") from err
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"{where}: proba rows must all be numbers of one length K >= 2")
    width = proba.shape[1]
    if np.max(y_true, initial=-1) >= width or y_pred.max() >= width:
        raise ValueError(f"{where}: proba has {width} columns but a class code is >= {width}")
    if not np.all(np.isfinite(proba)) or (proba < 0).any() or (proba > 1).any():
        raise ValueError(f"{where}: proba values must lie in [0, 1]")
    sums = proba.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > PROBA_SUM_TOLERANCE)
    if len(bad):
        raise ValueError(f"{where}: proba of row {bad[0]} sums to {sums[bad[0]]:.6g}, not 1")
    return [json.dumps(row) for row in proba.tolist()]


def _integers(column: pd.Series, what: str) -> np.ndarray:
    values = _finite(column, what)
    if not np.array_equal(values, np.round(values)):
        raise ValueError(f"{what} must hold integers")
    return values.astype(np.int64)


def _finite(column: pd.Series, what: str) -> np.ndarray:
    try:
        values = pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be numeric") from err
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ValueError(f"{what} has {bad} NaN or infinite value(s)")
    return values


def run_row(record: RunRecord) -> tuple:
    return (
        record.run_hash,
        record.suite,
        record.task,
        record.method,
        record.kind,
        int(record.seed),
        None if record.split_seed is None else int(record.split_seed),
        None if record.train_size is None else int(record.train_size),
        record.status,
        to_json(record.spec, "spec"),
        to_json(record.provenance, "provenance"),
        to_json({name: float(value) for name, value in record.metrics.items()}, "metrics"),
        record.error,
        record.created_at,
        record.config_hash,
        to_json(record.config, "config"),
        record.superseded_by,
    )


def record_from_row(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_hash=row[0],
        suite=row[1],
        task=row[2],
        method=row[3],
        kind=row[4],
        seed=row[5],
        split_seed=row[6],
        train_size=row[7],
        status=row[8],
        spec=json.loads(row[9]),
        provenance=json.loads(row[10]),
        metrics=json.loads(row[11]),
        error=row[12],
        created_at=row[13],
        config_hash=row[14],
        config=json.loads(row[15]),
        superseded_by=row[16],
    )


def to_json(value: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=json_default)
    except (TypeError, ValueError) as err:
        raise ValueError(f"RunRecord.{what} cannot be stored as JSON: {err}") from err


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
