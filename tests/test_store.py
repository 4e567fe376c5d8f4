"""The results store: round trips, validation, atomicity under a crash, concurrent writers, export."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.core.methods import Predictions
from benchmark.harness.store import (
    SCHEMA_VERSION,
    ResultStore,
    RunRecord,
    predictions_frame,
    predictions_from_frame,
)
from tasks.errors import LiftbenchError

REPO = Path(__file__).resolve().parents[1]
# Helpers of this module run in spawned and killed child processes that import it; it leaves
# benchmark.core.metrics (scikit-learn, seconds to import) to the tests that score predictions.


def _classification_run(run_hash: str = "c0", seed: int = 0, method: str = "lift", accuracy: float = 0.8):
    y_true = np.array([0, 1, 2, 1, 0])
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25], [0.9, 0.05, 0.05]]
    )
    pred = Predictions(
        y_pred=np.array([0, 1, 2, -1, 0]),
        proba=proba,
        invalid=np.array([False, False, False, True, False]),
        raw=["0", "1", "2", "banana", "0"],
        terminated=np.array([True, True, False, False, True]),
        invalid_samples=np.array([0, 0, 0, 1, 0]),
    )
    record = RunRecord(
        run_hash=run_hash,
        suite="smoke",
        task="iris",
        method=method,
        kind="classification",
        seed=seed,
        split_seed=1,
        train_size=32,
        spec={"task": "iris", "method": method, "seed": seed, "params": {"lr": 1e-3, "layers": [8, 8]}},
        provenance={
            "git_commit": "abc",
            "wall_time_fit_s": np.float64(1.5),
            "trainable_params": np.int64(4096),
        },
        metrics={"accuracy": accuracy, "log_loss": float("nan")},
    )
    frame = predictions_frame(y_true, pred, row_index=np.array([10, 11, 12, 13, 14]))
    return record, frame, y_true, pred


def _regression_run(run_hash: str, seed: int = 0, n: int = 30) -> tuple[RunRecord, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    pred = Predictions(y_pred=y + rng.normal(scale=0.1, size=n), std=np.full(n, 0.1))
    record = RunRecord(
        run_hash=run_hash,
        task="linear",
        method="ridge",
        kind="regression",
        seed=seed,
        split_seed=0,
        train_size=None,
        spec={"seed": seed},
        metrics={"rmse": float(np.sqrt(np.mean((pred.y_pred - y) ** 2)))},
    )
    return record, predictions_frame(y, pred)


def test_round_trip(tmp_path: Path) -> None:
    from benchmark.core.metrics import compute_metrics

    store = ResultStore(tmp_path / "deep" / "folder" / "store.sqlite")
    record, frame, y_true, pred = _classification_run()
    store.write_run(record, frame)

    assert store.has("c0") and store.has("c0", status="ok") and not store.has("other")
    assert store.stored_hashes(["c0", "x", "c0"]) == {"c0"}
    back = store.get_run("c0")
    assert back.spec == record.spec and back.created_at == record.created_at
    assert back.provenance == {"git_commit": "abc", "wall_time_fit_s": 1.5, "trainable_params": 4096}
    assert back.metrics["accuracy"] == 0.8 and math.isnan(back.metrics["log_loss"])

    stored = store.predictions("c0")
    assert stored["row_index"].tolist() == [10, 11, 12, 13, 14]
    assert stored["y_pred"].dtype == np.int64 and stored["y_pred"].tolist() == [0, 1, 2, -1, 0]
    assert stored["raw"].tolist() == pred.raw
    assert stored["terminated"].tolist() == [True, True, False, False, True]
    assert stored["invalid_samples"].tolist() == [0, 0, 0, 1, 0]
    y_back, pred_back = predictions_from_frame(stored)
    scores = compute_metrics("classification", y_back, pred_back, 3)
    assert scores == compute_metrics("classification", y_true, pred, 3)
    assert scores["invalid_rate"] == pytest.approx(0.2) and scores["strict_invalid_rate"] == pytest.approx(
        0.4
    )

    runs = store.runs()
    assert runs.loc[0, "run_hash"] == "c0" and runs.loc[0, "metric.accuracy"] == 0.8
    assert runs.loc[0, "spec.params.lr"] == 1e-3 and runs.loc[0, "spec.params.layers"] == "[8, 8]"


def test_regression_predictions_keep_std(tmp_path: Path) -> None:
    from benchmark.core.metrics import compute_metrics

    store = ResultStore(tmp_path / "s.sqlite")
    record, frame = _regression_run("r0")
    store.write_run(record, frame)
    stored = store.predictions("r0", split="test")
    assert np.allclose(stored["std"], 0.1) and stored["y_true"].dtype == float
    y, pred = predictions_from_frame(stored)
    original_y, original_pred = predictions_from_frame(frame)
    assert compute_metrics("regression", y, pred) == compute_metrics("regression", original_y, original_pred)
    assert compute_metrics("regression", y, pred)["rmse"] == pytest.approx(record.metrics["rmse"])


def test_a_store_from_before_the_generation_flags_gains_them_on_open(tmp_path: Path) -> None:
    """A store of schema version 2, whose predictions table has no `terminated`/`invalid_samples`,
    keeps its rows, reads them back with the flags missing, and stores new runs with them."""
    path = tmp_path / "old.sqlite"
    old_record, old_frame = _regression_run("old")
    ResultStore(path).write_run(old_record, old_frame)
    with sqlite3.connect(path) as conn:  # the predictions table as schema version 1 first had it
        conn.executescript(
            """
            CREATE TABLE old_predictions AS SELECT run_hash, row_index, split, y_true, y_pred, invalid,
                proba_json, std, raw FROM predictions;
            DROP TABLE predictions;
            CREATE TABLE predictions (
                run_hash TEXT NOT NULL REFERENCES runs (run_hash) ON DELETE CASCADE,
                row_index INTEGER NOT NULL, split TEXT NOT NULL,
                y_true REAL CHECK (y_true IS NOT NULL OR split != 'test'), y_pred REAL NOT NULL,
                invalid INTEGER NOT NULL CHECK (invalid IN (0, 1)), proba_json TEXT, std REAL, raw TEXT,
                PRIMARY KEY (run_hash, split, row_index)
            ) WITHOUT ROWID;
            INSERT INTO predictions SELECT * FROM old_predictions;
            DROP TABLE old_predictions;
            UPDATE meta SET value = '2' WHERE key = 'schema_version';
            """
        )
    store = ResultStore(path)
    old = store.predictions("old")
    assert len(old) == 30 and old["terminated"].isna().all() and old["invalid_samples"].isna().all()
    assert predictions_from_frame(old)[1].terminated is None
    record, frame, _, pred = _classification_run()
    store.write_run(record, frame)
    assert store.predictions("c0")["terminated"].tolist() == pred.terminated.tolist()
    ResultStore(path).close()  # opening it again adds nothing twice
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(predictions)")]
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert columns.count("terminated") == 1 and columns[-2:] == ["terminated", "invalid_samples"]
    assert version == str(SCHEMA_VERSION) == "3"


def test_failed_run_is_stored_without_predictions(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record = RunRecord("f0", "iris", "lift", "classification", 0, 0, 8, {}, status="failed", error="boom")
    store.write_run(record)
    assert store.has("f0") and not store.has("f0", status="ok")
    assert store.stored_hashes(["f0"], status="ok") == set()
    assert store.get_run("f0").error == "boom" and store.predictions("f0").empty


def test_rewrite_replaces_run_and_all_its_predictions(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record, frame, *_ = _classification_run()
    store.write_run(record, frame)
    record.metrics = {"accuracy": 0.4}
    store.write_run(record, frame.iloc[:2])
    assert store.get_run("c0").metrics == {"accuracy": 0.4}
    assert len(store.predictions("c0")) == 2 and len(store.runs()) == 1


def test_delete_removes_predictions_too(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record, frame, *_ = _classification_run()
    store.write_run(record, frame)
    assert store.delete("c0") and not store.delete("c0")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 0
    with pytest.raises(LiftbenchError, match="no run 'c0'"):
        store.get_run("c0")


def _break(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    broken = frame.copy()
    broken[column] = broken[column].astype(object)
    broken.at[row, column] = value
    return broken


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="invalid"), "missing column"),
        (lambda f: f.assign(extra=1), "unknown column"),
        (lambda f: _break(f, "y_true", 2, float("nan")), "y_true has 1 NaN"),
        (lambda f: _break(f, "proba", 1, [0.5, 0.6, 0.1]), "sums to"),
        (lambda f: _break(f, "proba", 1, [0.5, 0.5]), "one length"),
        (lambda f: _break(f, "proba", 1, None), "some rows only"),
        (lambda f: _break(f, "y_pred", 0, 0.5), "integers"),
        (lambda f: _break(f, "row_index", 1, 10), "repeats"),
        (lambda f: f.assign(std=1.0), "std is for regression"),
        (lambda f: f.iloc[:0], "needs its prediction rows"),
    ],
)
def test_malformed_frame_writes_nothing(tmp_path: Path, change, message: str) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record, frame, *_ = _classification_run()
    with pytest.raises(ValueError, match=message):
        store.write_run(record, change(frame))
    assert not store.has("c0") and store.runs().empty


def test_malformed_rewrite_keeps_the_stored_run(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record, frame, *_ = _classification_run()
    store.write_run(record, frame)
    with pytest.raises(ValueError):
        store.write_run(record, frame.drop(columns="y_true"))
    assert len(store.predictions("c0")) == len(frame)


def test_an_error_inside_the_transaction_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    record, frame, *_ = _classification_run()

    insert = ResultStore._insert_predictions

    def fail_midway(self, conn, rows):
        insert(self, conn, rows[:2])
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ResultStore, "_insert_predictions", fail_midway)
    with pytest.raises(RuntimeError):
        store.write_run(record, frame)
    monkeypatch.undo()
    assert not store.has("c0")
    store.write_run(record, frame)  # the store is still writable
    assert len(store.predictions("c0")) == len(frame)


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from benchmark.harness.store import ResultStore
    from test_store import _classification_run

    insert = ResultStore._insert_predictions

    def insert_half_then_die(self, conn, rows):
        insert(self, conn, rows[: len(rows) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    ResultStore._insert_predictions = insert_half_then_die
    record, frame, *_ = _classification_run(accuracy={accuracy})
    ResultStore({path!r}).write_run(record, frame)
    """
)


def _crash_while_writing(path: Path, accuracy: float) -> None:
    script = CRASHING_WRITER.format(tests=str(REPO / "tests"), path=str(path), accuracy=accuracy)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -9, done.stderr


def test_killed_writer_leaves_nothing_or_the_complete_run(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _crash_while_writing(path, accuracy=0.1)  # a first write, killed inside its transaction
    store = ResultStore(path)
    assert not store.has("c0") and store.runs().empty
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    record, frame, *_ = _classification_run(accuracy=0.8)
    store.write_run(record, frame)
    store.close()
    _crash_while_writing(path, accuracy=0.1)  # a --force rewrite, killed inside its transaction
    store = ResultStore(path)
    assert store.get_run("c0").metrics["accuracy"] == 0.8
    assert len(store.predictions("c0")) == len(frame)


def _write_many(path: str, worker: int, n_runs: int, start_together=None) -> None:
    store = ResultStore(path)
    if start_together is not None:
        start_together.wait()
    for i in range(n_runs):
        record, frame = _regression_run(f"w{worker}-{i}", seed=worker * 1000 + i)
        store.write_run(record, frame)
    store.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    start_together = context.Barrier(2)
    workers = [context.Process(target=_write_many, args=(path, w, 20, start_together)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = ResultStore(path)
    runs = store.runs()
    assert len(runs) == 40 and runs["run_hash"].is_unique
    with sqlite3.connect(path) as conn:
        counts = dict(conn.execute("SELECT run_hash, COUNT(*) FROM predictions GROUP BY run_hash").fetchall())
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert set(counts) == set(runs["run_hash"]) and set(counts.values()) == {30}


def test_store_passes_to_a_spawned_process_by_path(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=_write_many, args=(store.path, 0, 1))
    worker.start()
    worker.join(timeout=60)
    assert worker.exitcode == 0 and store.has("w0-0")


def test_forked_child_and_threads_open_their_own_connections(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    store.write_run(*_regression_run("parent-before"))
    child = multiprocessing.get_context("fork").Process(
        target=lambda: store.write_run(*_regression_run("child"))
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    threads = [
        threading.Thread(
            target=lambda t=t: [store.write_run(*_regression_run(f"t{t}-{i}")) for i in range(5)]
        )
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.write_run(*_regression_run("parent-after"))
    assert len(store.runs()) == 18
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _filled_store(tmp_path: Path) -> ResultStore:
    store = ResultStore(tmp_path / "s.sqlite")
    for seed, (lift, knn) in enumerate([(0.8, 0.7), (0.9, 0.7), (1.0, 0.7)]):
        for method, accuracy in (("lift", lift), ("knn", knn)):
            record, frame, *_ = _classification_run(
                f"{method}{seed}", seed=seed, method=method, accuracy=accuracy
            )
            store.write_run(record, frame)
    store.write_run(
        RunRecord("bad", "iris", "lift", "classification", 9, 1, 32, {}, status="failed", error="oom")
    )
    return store


def test_runs_filters(tmp_path: Path) -> None:
    store = _filled_store(tmp_path)
    assert len(store.runs()) == 7
    assert set(store.runs(method="lift", status="ok")["seed"]) == {0, 1, 2}
    assert set(store.runs(seed=[0, 2], method="knn")["run_hash"]) == {"knn0", "knn2"}
    assert store.runs(seed=[]).empty and len(store.runs(suite=None)) == 1
    with pytest.raises(LiftbenchError, match="did you mean: method"):
        store.runs(metod="lift")


def test_compare_mean_std_count(tmp_path: Path) -> None:
    table = _filled_store(tmp_path).compare("accuracy").set_index("method")
    assert table.loc["lift", "mean"] == pytest.approx(0.9)
    assert table.loc["lift", "std"] == pytest.approx(0.1)  # ddof=1: sqrt((0.01 + 0 + 0.01) / 2)
    assert table.loc["lift", "count"] == 3  # the failed run is left out
    assert table.loc["knn", "std"] == pytest.approx(0.0)
    assert list(table["task"]) == ["iris", "iris"]


def test_compare_names_unknown_metric_and_column(tmp_path: Path) -> None:
    store = _filled_store(tmp_path)
    with pytest.raises(LiftbenchError, match="did you mean: accuracy"):
        store.compare("acuracy")
    with pytest.raises(LiftbenchError, match="cannot group by 'mehtod'"):
        store.compare("accuracy", by=("mehtod",))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_reads_back(tmp_path: Path, suffix: str) -> None:
    store = _filled_store(tmp_path)
    mixed, frame, *_ = _classification_run("mixed")
    mixed.spec["params"]["lr"] = "auto"  # a number in the other runs: Parquet needs one type per column
    store.write_run(mixed, frame)
    path = store.export(tmp_path / "out" / f"runs{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert len(back) == 8 and set(back["run_hash"]) == set(store.runs()["run_hash"])
    ok = back.set_index("run_hash")
    assert ok.loc["lift1", "metric.accuracy"] == pytest.approx(0.9)
    assert '"git_commit": "abc"' in ok.loc["lift1", "provenance_json"]


def test_export_without_pyarrow_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _filled_store(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(LiftbenchError, match="needs pyarrow"):
        store.export(tmp_path / "runs.parquet")
    with pytest.raises(LiftbenchError, match=r"\.csv or \.parquet"):
        store.export(tmp_path / "runs.xlsx")


def _one_line_error(path: Path) -> str:
    with pytest.raises(LiftbenchError) as caught:
        ResultStore(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def test_bad_store_paths(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are my notes\n")
    assert "not an SQLite database" in _one_line_error(text)
    assert text.read_text() == "these are my notes\n"

    assert "folder" in _one_line_error(tmp_path)

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    assert "not a liftbench one" in _one_line_error(other)

    newer = tmp_path / "newer.sqlite"
    ResultStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    assert f"schema version {SCHEMA_VERSION + 1}" in _one_line_error(newer)

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert "cannot create the folder" in _one_line_error(blocked / "store.sqlite")


def test_store_is_in_wal_mode(tmp_path: Path) -> None:
    ResultStore(tmp_path / "s.sqlite").close()
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# The schema of version 1 (liftbench before effective configurations), verbatim.
_V1_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE runs (
        run_hash TEXT PRIMARY KEY,
        suite TEXT,
        task TEXT NOT NULL,
        method TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('classification', 'regression')),
        seed INTEGER NOT NULL,
        split_seed INTEGER,
        train_size INTEGER,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        spec_json TEXT NOT NULL,
        provenance_json TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        error TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE predictions (
        run_hash TEXT NOT NULL REFERENCES runs (run_hash) ON DELETE CASCADE,
        row_index INTEGER NOT NULL,
        split TEXT NOT NULL,
        y_true REAL CHECK (y_true IS NOT NULL OR split != 'test'),
        y_pred REAL NOT NULL,
        invalid INTEGER NOT NULL CHECK (invalid IN (0, 1)),
        proba_json TEXT,
        std REAL,
        raw TEXT,
        PRIMARY KEY (run_hash, split, row_index)
    ) WITHOUT ROWID""",
    "CREATE INDEX runs_task_method ON runs (task, method)",
    "CREATE INDEX runs_method ON runs (method)",
    "CREATE INDEX runs_suite ON runs (suite)",
    "CREATE INDEX runs_status ON runs (status)",
)


def test_a_version_1_store_is_migrated_and_read(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as conn:
        for statement in _V1_SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute(
            "INSERT INTO runs VALUES ('old1', 'smoke', 'iris', 'logreg', 'classification', 0, 0, NULL, 'ok',"
            ' \'{"task": "iris", "method": "logreg"}\', \'{"git": {"commit": "abc"}}\','
            " '{\"accuracy\": 0.9}', NULL, '2026-01-01T00:00:00.000+00:00')"
        )
        conn.executemany(
            "INSERT INTO predictions VALUES ('old1', ?, 'test', ?, ?, 0, NULL, NULL, NULL)",
            [(0, 1, 1), (1, 2, 2)],
        )
    store = ResultStore(path)
    record = store.get_run("old1")
    assert record.metrics == {"accuracy": 0.9} and record.provenance == {"git": {"commit": "abc"}}
    assert record.config == {} and record.config_hash is None and record.superseded_by is None
    assert store.predictions("old1")["y_pred"].tolist() == [1, 2]
    assert store.stored_configs(["old1"]) == {"old1": ("ok", None)}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
    # The migrated store takes new results, and keeps the old one as superseded.
    new, frame, *_ = _classification_run("old1")
    new.config, new.config_hash = {"method": "logreg"}, "f00d"
    store.write_run(new, frame, supersede=True)
    assert list(store.runs()["run_hash"]) == ["old1"]
    assert store.get_run("old1").config_hash == "f00d"
    (kept,) = store.superseded("old1")
    assert kept.run_hash == "old1~1" and kept.metrics == {"accuracy": 0.9}
    assert store.predictions("old1~1")["y_pred"].tolist() == [1, 2]


def test_superseded_results_are_kept_apart_from_current_ones(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    for accuracy in (0.5, 0.6, 0.7):
        record, frame, *_ = _classification_run("r", accuracy=accuracy)
        store.write_run(record, frame, supersede=True)
    current = store.runs()
    assert list(current["run_hash"]) == ["r"] and list(current["metric.accuracy"]) == [0.7]
    assert list(store.compare("accuracy")["count"]) == [1]
    every = store.runs(include_superseded=True).set_index("run_hash")
    assert every.loc["r~1", "metric.accuracy"] == 0.5 and every.loc["r~2", "metric.accuracy"] == 0.6
    assert set(every["superseded_by"].dropna()) == {"r"}
    assert store.stored_hashes(["r", "r~1"]) == {"r", "r~1"}  # a superseded key stays readable
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone() == (15,)


def _read_and_close(path: Path) -> list[str]:
    """Another process (a `liftbench report` or `results list` while a suite runs): read, close."""
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "print(' '.join(r[0] for r in conn.execute('SELECT run_hash FROM runs ORDER BY run_hash')))\n"
        "conn.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_a_reader_closing_beside_a_running_suite_never_takes_its_wal(tmp_path: Path) -> None:
    """The runner's store opens a connection per thread (the claims heartbeat, the W&B mirror). Opening
    one read the file's header with Python's own open() and closed it, and closing any descriptor of a
    file drops every POSIX lock the process holds on it: SQLite's too. A reader in another process
    then found no other connection on closing, checkpointed and deleted the WAL, and every later
    result of the suite went to a deleted file that no other process could read (lift14-offline:
    two runs reported ok, absent from the store)."""
    store = ResultStore(tmp_path / "s.sqlite")
    store.write_run(*_regression_run("first"))
    thread = threading.Thread(target=lambda: store.write_run(*_regression_run("from-a-thread")))
    thread.start()
    thread.join()
    assert _read_and_close(store.path) == ["first", "from-a-thread"]
    assert store.path.with_name("s.sqlite-wal").exists()  # still this process's, while it is open
    store.write_run(*_regression_run("later"))
    assert _read_and_close(store.path) == ["first", "from-a-thread", "later"]
