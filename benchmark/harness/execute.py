"""Execute one run: prepare its rows, fit, predict the test rows and evaluation sets, score.

`execute_run` is what every launcher calls, in this process, in a worker process or on a Ray node; it
returns the record the driver stores. An exception inside the method becomes a stored 'failed' record.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchmark.core.methods import make_method, resolved_params
from benchmark.core.metrics import compute_metrics
from benchmark.core.rows import RunRows, rows_for_spec
from benchmark.core.runspec import RunSpec
from benchmark.harness import provenance
from benchmark.harness.effective import RAN_WITH, config_hash, effective_config, method_params_for
from benchmark.harness.store import RunRecord, predictions_frame
from tasks.errors import LiftbenchError
from tasks.evaluation_sets import SPLIT_PREFIX
from tasks.local_files import task_label


@dataclass
class RunResult:
    spec: RunSpec
    record: RunRecord
    predictions: pd.DataFrame | None

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"


def _record_base(spec: RunSpec, rows: RunRows, suite: str | None) -> dict[str, Any]:
    return {
        "run_hash": spec.hash,
        "task": task_label(spec.task, spec.task_params),  # a file task by its own name
        "method": spec.method,
        "kind": rows.data.kind,
        "seed": spec.seed,
        "split_seed": spec.split_seed,
        "train_size": spec.train_size,
        "spec": spec.to_dict(),
        "suite": suite,
    }


def _data_provenance(rows: RunRows) -> dict[str, Any]:
    data, split = rows.clean_data, rows.clean_split
    prov: dict[str, Any] = {
        "data_checksum": data.checksum,
        "data_source": data.source,
        "data_source_detail": data.source_detail,
        "task_params": data.params,
        "split_hash": split.hash,
        "split_sizes": split.sizes(),
        "n_classes": None if data.classes is None else len(data.classes),
    }
    if rows.perturbation is not None:
        prov["perturbation"] = rows.perturbation
    return prov


def execute_run(spec: RunSpec, suite: str | None = None) -> RunResult:
    """Fit and evaluate one run; an exception inside the method becomes a stored 'failed' record."""
    rows = rows_for_spec(spec)
    base = _record_base(spec, rows, suite)
    prov = {**_data_provenance(rows), **provenance.environment()}
    data, split, y_all = rows.data, rows.split, rows.y
    params = method_params_for(spec)
    config = effective_config(spec, rows.clean_data, rows.clean_split, params)  # until the method says more
    try:
        config = effective_config(
            spec, rows.clean_data, rows.clean_split, resolved_params(spec.method, data.kind, params)
        )
        method = make_method(spec.method, data.kind, spec.seed, params)
        start = time.perf_counter()
        info = method.fit(rows.fit_data(spec.seed))
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        pred = method.predict(data.X.iloc[split.test])
        predict_seconds = time.perf_counter() - start
        y_test = y_all[split.test]
        metrics = compute_metrics(data.kind, y_test, pred, prov["n_classes"])
        frames = [predictions_frame(y_test, pred, row_index=split.test, split="test")]
        evaluated = {}
        for name, eval_rows in rows.evaluation_rows.items():
            start = time.perf_counter()
            extra = method.predict(eval_rows.X)
            seconds = time.perf_counter() - start
            frames.append(predictions_frame(eval_rows.y_true, extra, split=SPLIT_PREFIX + name))
            evaluated[name] = {**eval_rows.meta, "rows": len(eval_rows.X), "predict_seconds": seconds}
    except LiftbenchError:
        raise
    except Exception as err:  # a learner that crashes is a result to record, not a reason to stop the suite
        prov["traceback"] = traceback.format_exc(limit=20)
        record = RunRecord(
            **base, status="failed", provenance=prov, error=f"{type(err).__name__}: {err}", config=config
        )
        return RunResult(spec, record, None)
    prov.update(
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        process_peak_rss_mb=provenance.peak_rss_mb(),
        selected=info.selected,
        fit_info=info.extra,
    )
    if evaluated:
        prov["evaluations"] = evaluated
    config[RAN_WITH] = info.ran_with
    record = RunRecord(
        **base, provenance=prov, metrics=metrics, config=config, config_hash=config_hash(config)
    )
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return RunResult(spec, record, frame)
