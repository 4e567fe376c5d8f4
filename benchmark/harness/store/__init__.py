"""The results store: one SQLite file with every run's record and its per-row predictions.

`result_store` is the store itself (`ResultStore`: writes in one transaction, reads, resume, claims'
table), `records` what it holds (`RunRecord`, prediction frames checked on write), `schema` the SQL
tables, their version and the migrations of older stores.
"""

from benchmark.harness.store.records import RunRecord, predictions_frame, predictions_from_frame
from benchmark.harness.store.result_store import (
    BUSY_TIMEOUT_S,
    DEFAULT_STORE_PATH,
    RUN_FILTERS,
    SUPERSEDED_MARK,
    ResultStore,
)
from benchmark.harness.store.schema import SCHEMA_VERSION

__all__ = [
    "BUSY_TIMEOUT_S",
    "DEFAULT_STORE_PATH",
    "RUN_FILTERS",
    "SCHEMA_VERSION",
    "SUPERSEDED_MARK",
    "ResultStore",
    "RunRecord",
    "predictions_frame",
    "predictions_from_frame",
]
