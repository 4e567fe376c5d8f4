"""The results store: one embedded SQLite file with every run's record and its per-row predictions.

A run is keyed by its RunSpec hash. `write_run` stores the run row and all its prediction rows in one
transaction, so a run is either stored completely or not at all, even when the process is killed
mid-write; a suite resumes by skipping the hashes already stored with the same effective
configuration (`config_hash`, `benchmark.harness.effective`).

A result whose effective configuration no longer matches what the code would run is not deleted when
its run is done again: `write_run(..., supersede=True)` moves it to the key `<run hash>~<n>` with
`superseded_by` naming the run hash, so it stays readable (`get_run`, `predictions`) but is never
read as a current result: `runs`, `compare` and `export` leave superseded runs out unless asked.

The schema carries a version (`meta.schema_version`); a store written by an older liftbench is
migrated in place when it is opened (`_MIGRATIONS`), a newer one is refused.

Several processes may write to one store at once: the file is in WAL mode, a writer waits up to
`BUSY_TIMEOUT_S` for the write lock, and every process and thread opens its own connection (an
SQLite connection must not cross a fork or be shared between threads). The `claims` table is where
runners sharing a store mark the runs they are fitting (`benchmark.harness.claims`); storing a run
drops its claim in the same transaction.

A write that fails (a full disk, a read-only file) rolls back, leaves the store as it was and is one
LiftbenchError naming the store. A store file cut short is refused at open, naming its backup
(`<store>.bak`, written with SQLite's backup API before this version first changes an older store's
schema) where one exists.

Prediction frames have a fixed schema, checked on write as AMLB checks its prediction files:
`row_index` (the row's position in the task's data), `split`, `y_true`, `y_pred` (class codes, -1
for an invalid answer, or the regression value with the method's fallback applied) and `invalid`,
plus optional `proba` (a length-K sequence per row, classification), `std` (regression), `raw`
(the LM's text), and for methods that generate `terminated` (every sample of the row ended with the
completion end marker) and `invalid_samples` (its samples that did not parse), which the strict
invalid rate is computed from. A store made before these two columns existed (schema version 2 or
older) gets them, empty, when it is migrated.

`y_true` is known in every "test" row (a CHECK constraint holds the database to it). Rows of other
splits (an evaluation set `eval:<name>` whose truth the task does not know) may hold NaN there; it is
stored as NULL and read back as NaN (a classification `y_true` column holding NaN comes back as
float instead of integer codes).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.harness.store.records import (
    GENERATION_FLAGS,
    RunRecord,
    prediction_rows,
    record_from_row,
    run_row,
)
from benchmark.harness.store.schema import (
    CLAIMS_TABLE,
    MIGRATIONS,
    PREDICTION_SQL_COLUMNS,
    RUN_SQL_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    SQLITE_HEADER,
    SQLITE_HEADER_BYTES,
    expected_size,
)
from tasks.errors import LiftbenchError, did_you_mean

DEFAULT_STORE_PATH = Path("results/liftbench.sqlite")


BUSY_TIMEOUT_S = 30.0


RUN_FILTERS = ("run_hash", "suite", "task", "method", "kind", "seed", "split_seed", "train_size", "status")


SUPERSEDED_MARK = "~"  # a superseded result's key: <run hash>~<n>


# Connections a forked child inherited from its parent. Closing one in the child could checkpoint
# and delete the WAL file the parent still writes to, so they stay referenced and are never closed.
_INHERITED_ACROSS_FORK: list[sqlite3.Connection] = []


class _Connection(sqlite3.Connection):
    """A connection that knows whether it was closed and can be weakly referenced (`_LIVE`)."""

    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


# The open connections of this process to each store file, by (process id, real path). The file's
# header is read (`_check_file`) only while there are none: closing any descriptor of a file drops
# every POSIX lock the process holds on it, SQLite's included, and a reader in another process closing
# its connection then took the WAL (checkpointed and deleted it) from under this process's connections.
_LIVE: dict[tuple[int, str], weakref.WeakSet[_Connection]] = {}


class ResultStore:
    """Every run and its predictions in one SQLite file (created with its parent folders if missing)."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE_PATH) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connection()  # open now, so a bad path fails here rather than at the first query

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._local = threading.local()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this thread's connection; the next call opens a new one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None
        self._local.pid = None

    # writing

    def write_run(
        self, record: RunRecord, predictions: pd.DataFrame | None = None, supersede: bool = False
    ) -> None:
        """Store a run and its predictions atomically, replacing any run with the same hash.

        With `supersede`, a stored run with the same hash is kept as superseded (module docstring)
        instead of replaced. An ok run needs a non-empty predictions frame; a failed run has none. The
        frame is validated first: a malformed one raises ValueError and nothing is written.
        """
        rows = prediction_rows(record, predictions)
        run_values = run_row(record)
        with self.write_transaction() as conn:
            if supersede:
                self._move_to_superseded(conn, record.run_hash)
            conn.execute("DELETE FROM runs WHERE run_hash = ?", (record.run_hash,))  # cascades to predictions
            conn.execute(
                f"INSERT INTO runs ({RUN_SQL_COLUMNS}) VALUES ({', '.join('?' * len(run_values))})",
                run_values,
            )
            self._insert_predictions(conn, rows)
            conn.execute("DELETE FROM claims WHERE run_hash = ?", (record.run_hash,))

    def check_writable(self) -> None:
        """Raise the LiftbenchError a write would, before any work: a write that is rolled back."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        except sqlite3.OperationalError as err:
            raise _write_error(self.path, err) from err
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def write_transaction(self) -> _transaction:
        """`with store.write_transaction() as conn:` one transaction holding the write lock, rolled
        back on any exception; an SQLite write error (full disk, read-only file) becomes one
        LiftbenchError naming the store."""
        return _transaction(self._connection(), self.path)

    def _move_to_superseded(self, conn: sqlite3.Connection, run_hash: str) -> None:
        """Re-key the stored run `run_hash` (and its predictions) as `<run_hash>~<n>`, superseded by it."""
        if conn.execute("SELECT 1 FROM runs WHERE run_hash = ?", (run_hash,)).fetchone() is None:
            return
        (earlier,) = conn.execute("SELECT COUNT(*) FROM runs WHERE superseded_by = ?", (run_hash,)).fetchone()
        old_key = f"{run_hash}{SUPERSEDED_MARK}{earlier + 1}"
        conn.execute("PRAGMA defer_foreign_keys = ON")  # parent and child keys change in one transaction
        conn.execute(
            "UPDATE runs SET run_hash = ?, superseded_by = ? WHERE run_hash = ?",
            (old_key, run_hash, run_hash),
        )
        conn.execute("UPDATE predictions SET run_hash = ? WHERE run_hash = ?", (old_key, run_hash))

    def _insert_predictions(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        conn.executemany(
            f"INSERT INTO predictions (run_hash, {PREDICTION_SQL_COLUMNS}) VALUES ({', '.join('?' * 11)})",
            rows,
        )

    def delete(self, run_hash: str) -> bool:
        """Remove a run and its predictions; False when it was not stored."""
        with self.write_transaction() as conn:
            return conn.execute("DELETE FROM runs WHERE run_hash = ?", (run_hash,)).rowcount > 0

    # reading

    def has(self, run_hash: str, status: str | None = None) -> bool:
        """Whether the run is stored (with `status`, only a run with that status counts)."""
        return bool(self.stored_hashes([run_hash], status=status))

    def stored_configs(self, hashes: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """`{run_hash: (status, config_hash)}` of the given hashes that are stored (current results only)."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, tuple[str, str | None]] = {}
        chunk = 500  # well under SQLite's limit on bound parameters
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            sql = f"SELECT run_hash, status, config_hash FROM runs WHERE run_hash IN ({', '.join('?' * len(part))})"
            found.update({row[0]: (row[1], row[2]) for row in self._connection().execute(sql, part)})
        return found

    def superseded(self, run_hash: str) -> list[RunRecord]:
        """The results kept after `run_hash` was done again with another configuration, oldest first."""
        rows = (
            self._connection()
            .execute(
                f"SELECT {RUN_SQL_COLUMNS} FROM runs WHERE superseded_by = ? ORDER BY created_at",
                (run_hash,),
            )
            .fetchall()
        )
        return [record_from_row(row) for row in rows]

    def stored_hashes(self, hashes: Iterable[str], status: str | None = None) -> set[str]:
        """The given hashes that are stored (with `status`, those stored with that status).

        A runner that should retry failed runs passes status="ok".
        """
        wanted = list(dict.fromkeys(hashes))
        found: set[str] = set()
        chunk = 500  # well under SQLite's limit on bound parameters
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            sql = f"SELECT run_hash FROM runs WHERE run_hash IN ({', '.join('?' * len(part))})"
            params: list[Any] = list(part)
            if status is not None:
                sql += " AND status = ?"
                params.append(status)
            found.update(row[0] for row in self._connection().execute(sql, params))
        return found

    def get_run(self, run_hash: str) -> RunRecord:
        row = (
            self._connection()
            .execute(f"SELECT {RUN_SQL_COLUMNS} FROM runs WHERE run_hash = ?", (run_hash,))
            .fetchone()
        )
        if row is None:
            raise LiftbenchError(
                f"no run {run_hash!r} in results store {self.path}; check the full run hash and the --store path"
            )
        return record_from_row(row)

    def runs(self, include_superseded: bool = False, with_json: bool = False, **filters: Any) -> pd.DataFrame:
        """One row per run: the run columns, the spec flattened as `spec.<key>` and `metric.<name>` columns
        (`with_json`: also the stored `spec_json`, `provenance_json` and `config_json` texts).

        Filters name a run column (`task="iris"`); a list, tuple or set matches any of its values and
        None matches a missing value. Superseded results are left out unless `include_superseded`.
        """
        return self._runs_frame(filters, with_json=with_json, include_superseded=include_superseded)

    def predictions(self, run_hash: str, split: str | None = None) -> pd.DataFrame:
        """A run's prediction rows (all splits, or one), ordered by split and row index.

        Class codes come back as integers; `proba` holds a list per row or None, `std` NaN where absent,
        `terminated` and `invalid_samples` <NA> where the method generated nothing.
        """
        kind = self.get_run(run_hash).kind
        sql = f"SELECT {PREDICTION_SQL_COLUMNS} FROM predictions WHERE run_hash = ?"
        params: list[Any] = [run_hash]
        if split is not None:
            sql += " AND split = ?"
            params.append(split)
        rows = self._connection().execute(sql + " ORDER BY split, row_index", params).fetchall()
        frame = pd.DataFrame(
            rows,
            columns=[
                "row_index",
                "split",
                "y_true",
                "y_pred",
                "invalid",
                "proba",
                "std",
                "raw",
                *GENERATION_FLAGS,
            ],
        )
        frame["row_index"] = frame["row_index"].astype(np.int64)
        frame["invalid"] = frame["invalid"].astype(bool)
        frame["proba"] = [None if p is None else json.loads(p) for p in frame["proba"]]
        frame["std"] = frame["std"].astype(float)
        frame["y_true"] = pd.to_numeric(frame["y_true"], errors="raise").astype(float)
        frame["y_pred"] = frame["y_pred"].astype(float)
        frame["terminated"] = frame["terminated"].astype("boolean")
        frame["invalid_samples"] = frame["invalid_samples"].astype("Int64")
        if kind == "classification":
            frame["y_pred"] = frame["y_pred"].astype(np.int64)
            if frame["y_true"].notna().all():
                frame["y_true"] = frame["y_true"].astype(np.int64)
        return frame

    def compare(self, metric: str, by: Sequence[str] = ("method", "task"), **filters: Any) -> pd.DataFrame:
        """Mean, standard deviation and count of a metric over the ok runs of each `by` group.

        The std is the sample std (ddof=1, as pandas and the paper's `get_mean_std_*` tables); NaN for
        a group of one run. `count` counts the runs whose metric is defined. Anything that varies within
        a group besides the seeds (train size, perturbation) should be in `by` or in the filters.
        """
        frame = self.runs(**{**filters, "status": "ok"})
        column = f"metric.{metric}"
        stored = [c.removeprefix("metric.") for c in frame.columns if c.startswith("metric.")]
        if column not in frame.columns:
            raise LiftbenchError(
                f"no ok run in results store {self.path} has metric {metric!r}{did_you_mean(metric, stored)};"
                f" stored metrics: {', '.join(sorted(stored)) or 'none'}"
            )
        unknown = [name for name in by if name not in frame.columns]
        if unknown:
            raise LiftbenchError(
                f"cannot group by {unknown[0]!r}{did_you_mean(unknown[0], frame.columns)}; run columns:"
                f" {', '.join(c for c in frame.columns if not c.startswith('metric.'))}"
            )
        grouped = frame.groupby(list(by), dropna=False, sort=True)[column]
        return grouped.agg(mean="mean", std=lambda values: values.std(ddof=1), count="count").reset_index()

    def export(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        """Write the runs (as `runs`, plus `spec_json` and `provenance_json`) to a .csv or .parquet file."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise LiftbenchError(f"cannot export results to {path}: name a .csv or .parquet file")
        frame = self._runs_frame(filters, with_json=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            try:
                import pyarrow
            except ImportError as err:
                raise LiftbenchError(
                    f"exporting {path} as Parquet needs pyarrow, which is not installed;"
                    " `pip install pyarrow` or export to .csv"
                ) from err
            _parquet_ready(frame, pyarrow).to_parquet(path, index=False)
        return path

    # internals

    def _runs_frame(
        self, filters: Mapping[str, Any], with_json: bool, include_superseded: bool = False
    ) -> pd.DataFrame:
        where, params = _where(filters, include_superseded)
        rows = (
            self._connection()
            .execute(f"SELECT {RUN_SQL_COLUMNS} FROM runs{where} ORDER BY created_at, run_hash", params)
            .fetchall()
        )
        base = [
            {
                "run_hash": r[0],
                "suite": r[1],
                "task": r[2],
                "method": r[3],
                "kind": r[4],
                "seed": r[5],
                "split_seed": r[6],
                "train_size": r[7],
                "status": r[8],
                "error": r[12],
                "created_at": r[13],
                "config_hash": r[14],
                "superseded_by": r[16],
                **_flatten(json.loads(r[9]), "spec."),
                **{f"metric.{name}": value for name, value in json.loads(r[11]).items()},
                **({"spec_json": r[9], "provenance_json": r[10], "config_json": r[15]} if with_json else {}),
            }
            for r in rows
        ]
        columns = ["run_hash", *RUN_FILTERS[1:], "error", "created_at", "config_hash", "superseded_by"]
        json_columns = ["spec_json", "provenance_json", "config_json"] if with_json else []
        if not base:
            return pd.DataFrame(columns=columns + json_columns)
        frame = pd.DataFrame(base)
        spec_columns = sorted(c for c in frame.columns if c.startswith("spec.") and c != "spec_json")
        metric_columns = sorted(c for c in frame.columns if c.startswith("metric."))
        return frame[columns + spec_columns + metric_columns + json_columns]

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        pid = getattr(local, "pid", None)
        if pid != os.getpid():
            if getattr(local, "conn", None) is not None:
                _INHERITED_ACROSS_FORK.append(local.conn)
            local.conn = self._open()
            local.pid = os.getpid()
        return local.conn

    def _open(self) -> sqlite3.Connection:
        live = _LIVE.setdefault((os.getpid(), os.path.realpath(self.path)), weakref.WeakSet())
        if not any(not conn.closed for conn in live):  # the note above `_LIVE` says why
            self._check_file()
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=_Connection
            )
        except sqlite3.Error as err:
            raise LiftbenchError(f"cannot open results store {self.path}: {err}") from err
        live.add(conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._ensure_schema(conn)  # first: a file that is not a liftbench store is left as it is
            conn.execute("PRAGMA journal_mode = WAL")
            self._ensure_claims_table(conn)
        except sqlite3.DatabaseError as err:
            conn.close()
            raise LiftbenchError(
                f"cannot open results store {self.path}: {err}{self._backup_hint()}"
            ) from err
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def backup_path(self) -> Path:
        """Where the store keeps its copy from before its last schema change."""
        return self.path.with_name(self.path.name + ".bak")

    def _backup_hint(self) -> str:
        if self.backup_path.is_file():
            return f"; its backup from before the last schema change is {self.backup_path}"
        return "; there is no backup of it: rerun the suites into a new --store file"

    def _check_file(self) -> None:
        """Refuse a folder, a non-SQLite file or a store cut short before SQLite touches it."""
        if self.path.is_dir():
            raise LiftbenchError(
                f"results store {self.path} is a folder; name a file such as {DEFAULT_STORE_PATH}"
            )
        if self.path.is_file():
            with self.path.open("rb") as handle:
                header = handle.read(SQLITE_HEADER_BYTES)
            if header and not header.startswith(SQLITE_HEADER):
                raise LiftbenchError(
                    f"results store {self.path} is not an SQLite database; name another --store file or move it away"
                )
            expected = expected_size(header)
            size = self.path.stat().st_size
            wal = self.path.with_name(self.path.name + "-wal")
            # A checkpoint cut short leaves the file shorter than its header says; the WAL repairs that.
            if expected is not None and size < expected and not (wal.is_file() and wal.stat().st_size):
                raise LiftbenchError(
                    f"results store {self.path} is truncated ({size} of {expected} bytes){self._backup_hint()}"
                )
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LiftbenchError(f"cannot create the folder of results store {self.path}: {err}") from err

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        if self._schema_version(conn) == SCHEMA_VERSION:
            return
        version = self._schema_version(conn)
        if version is not None:
            self._backup(conn)  # before a migration changes the file
        # A write lock, so two processes creating or migrating one store agree.
        with _transaction(conn, self.path):
            version = self._schema_version(conn)
            if version == SCHEMA_VERSION:
                return
            if version is not None:
                self._migrate(conn, version)
                return
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                raise LiftbenchError(
                    f"results store {self.path} is an SQLite database but not a liftbench one (tables:"
                    f" {', '.join(sorted(tables))}); name another --store file"
                )
            for statement in (*SCHEMA, CLAIMS_TABLE):
                conn.execute(statement)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        """Bring a store of an older schema version up to `SCHEMA_VERSION`, one step at a time.

        Runs stored before version 2 have no effective configuration (`config_hash` NULL): resume
        cannot prove they match what the code runs now, so it runs them again and keeps them superseded.
        """
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _ensure_claims_table(self, conn: sqlite3.Connection) -> None:
        """Give a store written before runners claimed runs its (empty) claims table."""
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'").fetchone():
            return
        try:
            with _transaction(conn, self.path):
                conn.execute(CLAIMS_TABLE)
        except LiftbenchError:
            return  # a store that cannot be written can still be read; `check_writable` says why

    def _backup(self, conn: sqlite3.Connection) -> None:
        """Copy the store to `backup_path` with SQLite's backup API (consistent under concurrent writers)."""
        partial = self.backup_path.with_name(self.backup_path.name + ".partial")
        try:
            target = sqlite3.connect(partial)
            try:
                conn.backup(target)
            finally:
                target.close()
            partial.replace(self.backup_path)
        except (OSError, sqlite3.Error) as err:
            raise LiftbenchError(
                f"cannot back up results store {self.path} to {self.backup_path} before upgrading its schema"
                f" ({err}); make its folder writable, or name another --store file"
            ) from err
        finally:
            partial.unlink(missing_ok=True)

    def _schema_version(self, conn: sqlite3.Connection) -> int | None:
        """The stored schema version (an older one is migrated), None for a store without one yet;
        an unreadable or newer version is an error."""
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if has_meta is None:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row is not None and row[0].isdigit() else None
        if version is None or not 1 <= version <= SCHEMA_VERSION:
            found = "no schema version" if row is None else f"schema version {row[0]}"
            raise LiftbenchError(
                f"results store {self.path} has {found}, this liftbench reads versions 1 to {SCHEMA_VERSION};"
                " upgrade liftbench if a newer one wrote it, or name another --store file"
            )
        return version


class _transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any exception; SQLite errors as LiftbenchError."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise _write_error(self.path, err) from err
        return self.conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, *rest: object
    ) -> None:
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")
                return
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.OperationalError as err:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _write_error(self.path, err) from err
        if isinstance(exc, sqlite3.OperationalError):
            raise _write_error(self.path, exc) from exc


def _write_error(path: Path, err: sqlite3.OperationalError) -> LiftbenchError:
    """One line for a write SQLite refused; the transaction has been rolled back."""
    reason = str(err)
    if "readonly" in reason or "read-only" in reason:
        fix = "make the file and its folder writable, or name another --store file"
    elif "full" in reason:
        fix = "free some disk space and run the same command again (what was stored is kept)"
    else:
        fix = "nothing of this write was stored; run the same command again to resume"
    return LiftbenchError(f"cannot write to results store {path} ({reason}); {fix}")


def _flatten(value: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Nested dicts as dotted keys; lists stay JSON text so every cell is a scalar."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, Mapping):
            out.update(_flatten(item, f"{prefix}{key}."))
        elif isinstance(item, list):
            out[f"{prefix}{key}"] = json.dumps(item)
        else:
            out[f"{prefix}{key}"] = item
    return out


def _where(filters: Mapping[str, Any], include_superseded: bool = False) -> tuple[str, list[Any]]:
    clauses: list[str] = [] if include_superseded else ["superseded_by IS NULL"]
    params: list[Any] = []
    for name, value in filters.items():
        if name not in RUN_FILTERS:
            raise LiftbenchError(
                f"cannot filter runs by {name!r}{did_you_mean(name, RUN_FILTERS)}; filters: {', '.join(RUN_FILTERS)}"
            )
        if value is None:
            clauses.append(f"{name} IS NULL")
        elif isinstance(value, list | tuple | set | frozenset):
            options = [_sql_value(v) for v in value]
            clauses.append(f"{name} IN ({', '.join('?' * len(options))})" if options else "0")
            params.extend(options)
        else:
            clauses.append(f"{name} = ?")
            params.append(_sql_value(value))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _sql_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _parquet_ready(frame: pd.DataFrame, pyarrow: Any) -> pd.DataFrame:
    """Columns of mixed Python types (a spec key that is a number in one method and text in another) as JSON text."""
    out = frame.copy()
    for column in [c for c in out.columns if pd.api.types.is_object_dtype(out[c].dtype)]:
        try:
            pyarrow.array(out[column], from_pandas=True)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
            out[column] = [v if v is None or isinstance(v, str) else json.dumps(v) for v in out[column]]
    return out
