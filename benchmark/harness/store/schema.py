"""The store's SQLite schema: its tables, the version, the migrations from older versions, the file header."""

from __future__ import annotations

SCHEMA_VERSION = 3


SQLITE_HEADER = b"SQLite format 3\x00"


SQLITE_HEADER_BYTES = 100


SCHEMA = (
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
        created_at TEXT NOT NULL,
        config_hash TEXT,
        config_json TEXT NOT NULL DEFAULT '{}',
        superseded_by TEXT
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
        terminated INTEGER CHECK (terminated IN (0, 1)),
        invalid_samples INTEGER CHECK (invalid_samples >= 0),
        PRIMARY KEY (run_hash, split, row_index)
    ) WITHOUT ROWID""",
    "CREATE INDEX runs_task_method ON runs (task, method)",
    "CREATE INDEX runs_method ON runs (method)",
    "CREATE INDEX runs_suite ON runs (suite)",
    "CREATE INDEX runs_status ON runs (status)",
    "CREATE INDEX runs_superseded_by ON runs (superseded_by)",
)


# Steps from each older schema version to the next: version 1 had no effective configuration, version 2
# no per-row generation flags (NULL in the rows stored before).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE runs ADD COLUMN config_hash TEXT",
        "ALTER TABLE runs ADD COLUMN config_json TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE runs ADD COLUMN superseded_by TEXT",
        "CREATE INDEX runs_superseded_by ON runs (superseded_by)",
    ),
    2: (
        "ALTER TABLE predictions ADD COLUMN terminated INTEGER CHECK (terminated IN (0, 1))",
        "ALTER TABLE predictions ADD COLUMN invalid_samples INTEGER CHECK (invalid_samples >= 0)",
    ),
}


PREDICTION_SQL_COLUMNS = (
    "row_index, split, y_true, y_pred, invalid, proba_json, std, raw, terminated, invalid_samples"
)


# Not part of a schema version: any store without it gets it (empty) when opened.
CLAIMS_TABLE = """CREATE TABLE IF NOT EXISTS claims (
    run_hash TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,
    heartbeat REAL NOT NULL
)"""


RUN_SQL_COLUMNS = (
    "run_hash, suite, task, method, kind, seed, split_seed, train_size, status, "
    "spec_json, provenance_json, metrics_json, error, created_at, config_hash, config_json, superseded_by"
)


def expected_size(header: bytes) -> int | None:
    """The file size an SQLite header promises (page size x page count), when the header vouches for it."""
    if len(header) < SQLITE_HEADER_BYTES:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is valid only when "version-valid-for" equals the file change counter.
    if header[24:28] != header[92:96] or not pages:
        return None
    return page_size * pages
