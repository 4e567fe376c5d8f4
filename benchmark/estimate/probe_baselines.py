"""Time the classical baselines and the harness around a run on this machine (for `profile`).

Each baseline is the registered method with its real default grid (built through the METHODS
registry, `make_method`), fitted on a synthetic task of its kind at three shapes (`SHAPES`):
`blobs` (3 classes) for classification, `linear` for regression, split as a run splits them. Its
prediction is timed on the test rows and on `PREDICT_ROWS` rows. Time is bounded by the shapes, and
a method whose smallest fit already takes `SLOW_FIT_S` is not fitted at the larger ones: its
exponents are then taken as 1 (linear in rows and in features).

The harness: `execute_run` of `majority` with and without a 60 x 60 grid evaluation set, each
stored in a temporary store, gives the seconds of a run beyond its method and per predicted row.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark.core.methods import make_method
from benchmark.core.rows import rows_for_spec
from benchmark.core.runspec import Evaluation, RunSpec
from benchmark.estimate.profile import BaselineCost, HarnessCost
from benchmark.harness.execute import execute_run
from benchmark.harness.store import ResultStore

# (training rows, features): blobs is split 64/16/20 %, so n = rows / 0.64
SHAPES: tuple[tuple[int, int], ...] = ((48, 2), (192, 2), (192, 8))
PREDICT_ROWS = 2000
SLOW_FIT_S = 8.0
# What a `--jobs` worker imports before its first run: the runner's entry point and the methods.
WORKER_IMPORTS = "import benchmark.harness.execute, baselines, benchmark.lift.method"


def probe_spec(kind: str, method: str, rows: int, features: int) -> RunSpec:
    """A run of `method` on a synthetic task of `kind` with `rows` training rows of `features` features."""
    if kind == "classification":
        params = {"n": round(rows / 0.64), "dims": features, "centers": 3}
        return RunSpec(task="blobs", task_params=params, method=method)
    params = {"p": features, "n_train": rows, "n_val": max(rows // 4, 8), "n_test": 50}
    return RunSpec(task="linear", task_params=params, method=method)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _fit_and_predict(kind: str, method: str, rows: int, features: int) -> tuple[float, float, float, int]:
    """(fit seconds, predict seconds on the test rows, on PREDICT_ROWS rows, test rows)."""
    spec = probe_spec(kind, method, rows, features)
    run = rows_for_spec(spec)
    data, split = run.data, run.split
    built = make_method(method, kind, spec.seed, dict(spec.method_params))
    fit_data = run.fit_data(spec.seed)
    fit = _timed(lambda: built.fit(fit_data))
    test = data.X.iloc[split.test]
    predict_test = _timed(lambda: built.predict(test))
    many = pd.concat([data.X] * (PREDICT_ROWS // len(data.X) + 1)).iloc[:PREDICT_ROWS]
    predict_many = _timed(lambda: built.predict(many))
    return fit, predict_test, predict_many, len(test)


def probe_baseline(kind: str, method: str) -> BaselineCost:
    """Fit and prediction seconds of one baseline (module docstring)."""
    fits, predict_test, predict_many, n_test = [], 0.0, 0.0, 1
    for rows, features in SHAPES:
        fit, predict_test, predict_many, n_test = _fit_and_predict(kind, method, rows, features)
        fits.append(fit)
        if fit > SLOW_FIT_S and len(fits) == 1:  # too slow to go larger: linear in rows and features
            (n1, d1), (n2, _), (_, d2) = SHAPES
            fits += [fit * n2 / n1, fit * n2 / n1 * d2 / d1]
            break
    row_s = max(predict_many - predict_test, 0.0) / (PREDICT_ROWS - n_test)
    return BaselineCost(
        shapes=SHAPES,
        fit_seconds=tuple(fits),
        predict_call_s=max(predict_test - row_s * n_test, 0.0),
        predict_row_s=row_s,
    )


def probe_harness() -> HarnessCost:
    """Seconds of a run beyond its method, fixed and per predicted row; a worker's start."""
    plain = RunSpec(task="moons", task_params={"n": 100}, method="majority")
    grid = RunSpec(task="moons", task_params={"n": 100}, method="majority", evaluations=(Evaluation("grid"),))
    execute_run(plain)  # the first call imports and caches what every later run reuses
    with tempfile.TemporaryDirectory(prefix="liftbench-probe-") as folder:
        store = ResultStore(Path(folder) / "probe.sqlite")
        seconds = {}
        for name, spec in (("plain", plain), ("grid", grid)):
            start = time.perf_counter()
            result = execute_run(spec)
            store.write_run(result.record, result.predictions)
            wall = time.perf_counter() - start
            prov = result.record.provenance
            method_s = prov["fit_seconds"] + prov["predict_seconds"]
            method_s += sum(e["predict_seconds"] for e in prov.get("evaluations", {}).values())
            seconds[name] = max(wall - method_s, 0.0)
        store.close()
    grid_rows = len(rows_for_spec(grid).evaluation_rows["grid"].X)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", WORKER_IMPORTS], check=True, capture_output=True)
    worker = time.perf_counter() - start
    return HarnessCost(
        run_s=seconds["plain"],
        row_s=max(seconds["grid"] - seconds["plain"], 0.0) / grid_rows,
        worker_start_s=worker,
    )
