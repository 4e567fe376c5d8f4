"""Merge results stores: the shards of a suite (`liftbench run --shard I/N`) into one store.

Every run of every source is copied into the target with its prediction rows, one transaction per
source, exactly as stored (rows are copied by SQLite, not re-encoded). A run the target already holds
is compared on what decides a result: its status, metrics, effective configuration where the store
records one (`config_hash`) and every prediction row.

* Same run, same configuration and result: kept once (counted as `same`).
* The target's run failed and the source's is ok: the ok result replaces the failure (`replaced`).
* The source's run failed and the target's is ok, or both failed: the target's is kept (`kept`).
* Both ok with different results or configurations: a conflict. The target keeps its own; the
  conflict is reported (`conflicts`), never overwritten in silence.

Results an effective-configuration change superseded (`superseded_by` set) are not merged: only the
current result of each run is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.harness.store import BUSY_TIMEOUT_S, ResultStore
from tasks.errors import LiftbenchError

RESULT_COLUMNS = ("status", "metrics_json", "config_hash")  # compared, where the store has them
PREDICTION_COLUMNS = ("row_index", "split", "y_true", "y_pred", "invalid", "proba_json", "std", "raw")


@dataclass(frozen=True)
class Conflict:
    run_hash: str
    source: Path
    why: str  # which of the compared parts differ

    def __str__(self) -> str:
        return f"{self.run_hash}: {self.source} holds another result ({self.why}); the target keeps its own"


@dataclass
class MergeReport:
    target: Path
    added: int = 0
    same: int = 0
    replaced: int = 0
    kept: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"merged into {self.target}: {self.added} runs added, {self.same} already there with the same"
            f" result, {self.replaced} failed runs replaced by ok ones, {self.kept} failed runs not copied"
            f" over ok or failed ones, {len(self.conflicts)} conflicts"
        )


def merge_stores(sources: Sequence[str | os.PathLike[str]], target: str | os.PathLike[str]) -> MergeReport:
    """Merge every source store into `target` (created if missing); see the module docstring."""
    target_path = Path(target)
    paths = [Path(source) for source in sources]
    if not paths:
        raise LiftbenchError("results merge: name at least one store to merge")
    for path in paths:
        if not path.is_file():
            raise LiftbenchError(f"results merge: store {path} does not exist; check the path")
        if target_path.exists() and path.resolve() == target_path.resolve():
            raise LiftbenchError(f"results merge: store {path} is also the target; name another --into file")
    for path in [*paths, target_path]:
        ResultStore(path).close()  # checks each is a liftbench store of this schema (upgrading an older one)
    report = MergeReport(target_path)
    conn = sqlite3.connect(target_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        for path in paths:
            _merge_one(conn, path, report)
    finally:
        conn.close()
    return report


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def _merge_one(conn: sqlite3.Connection, path: Path, report: MergeReport) -> None:
    conn.execute("ATTACH DATABASE ? AS src", (str(path),))
    try:
        columns = [c for c in _columns(conn, "main", "runs") if c in _columns(conn, "src", "runs")]
        compared = [c for c in RESULT_COLUMNS if c in columns]
        current = " WHERE superseded_by IS NULL" if "superseded_by" in columns else ""
        listed = ", ".join(columns)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for (run_hash,) in conn.execute(f"SELECT run_hash FROM src.runs{current}").fetchall():
                _merge_run(conn, run_hash, path, listed, compared, report)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH DATABASE src")


def _merge_run(
    conn: sqlite3.Connection, run_hash: str, path: Path, listed: str, compared: list[str], report: MergeReport
) -> None:
    select = f"SELECT {', '.join(compared)} FROM {{}}.runs WHERE run_hash = ?"
    theirs = conn.execute(select.format("src"), (run_hash,)).fetchone()
    ours = conn.execute(select.format("main"), (run_hash,)).fetchone()
    if ours is not None:
        status, their_status = ours[0], theirs[0]
        if their_status == "failed":
            report.kept += 1
            return
        if status == "ok":
            differ = [name for name, a, b in zip(compared, ours, theirs, strict=True) if a != b]
            if not _same_predictions(conn, run_hash):
                differ.append("predictions")
            if differ:
                report.conflicts.append(Conflict(run_hash, path, ", ".join(differ)))
            else:
                report.same += 1
            return
        conn.execute("DELETE FROM main.runs WHERE run_hash = ?", (run_hash,))  # cascades to predictions
        report.replaced += 1
    else:
        report.added += 1
    conn.execute(
        f"INSERT INTO main.runs ({listed}) SELECT {listed} FROM src.runs WHERE run_hash = ?", (run_hash,)
    )
    rows = ", ".join(PREDICTION_COLUMNS)
    conn.execute(
        f"INSERT INTO main.predictions (run_hash, {rows}) SELECT run_hash, {rows} FROM src.predictions"
        " WHERE run_hash = ?",
        (run_hash,),
    )


def _same_predictions(conn: sqlite3.Connection, run_hash: str) -> bool:
    """Whether both stores hold exactly the same prediction rows for the run (compared both ways)."""
    rows = ", ".join(PREDICTION_COLUMNS)
    part = f"SELECT {rows} FROM {{}}.predictions WHERE run_hash = ?"
    for first, second in (("main", "src"), ("src", "main")):
        query = f"SELECT 1 FROM ({part.format(first)} EXCEPT {part.format(second)}) LIMIT 1"
        if conn.execute(query, (run_hash, run_hash)).fetchone() is not None:
            return False
    return True
