"""What a suite costs per method: fit and predict seconds and peak memory, from results stores.

The bench never reruns the whole default suite. It runs a slice of it (`liftbench run --filter`) in a
temporary store, each method in a fresh process of its own whose own peak memory is taken
(`benchmark.bench.peak_memory`), so it is the method's and not that of whatever ran before it; and
it summarises a store that holds a full run of the suite (`make run`), where one process ran
everything, so a run's recorded peak memory (`process_peak_rss_mb`) is the process's peak up to
that run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark.harness.store import ResultStore
from benchmark.harness.suites import filter_runs, load_suite


def suite_methods(suite: str, filter_expr: str) -> list[str]:
    """The methods of a suite's runs that match `filter_expr`, in the suite's order."""
    runs = filter_runs(load_suite(suite).expand(), filter_expr)
    return list(dict.fromkeys(spec.method for spec in runs))


def run_slice(
    suite: str, filter_expr: str, methods: list[str], store_path: Path, progress: Callable[[str], None]
) -> dict[str, dict[str, float | None]]:
    """Run the matching runs of each method with `liftbench run`, one process per method, into
    `store_path`: per method, the wall seconds of its process (start-up included) and the process's
    own peak resident memory (`benchmark.bench.peak_memory`)."""
    measured = {}
    with tempfile.TemporaryDirectory(prefix="liftbench-peak-") as folder:
        for method in methods:
            peak_file = Path(folder) / f"{method}.json"
            command = [
                *(sys.executable, "-m", "benchmark.bench.peak_memory", str(peak_file)),
                *("run", "--suite", suite, "--filter", f"{filter_expr},method={method}"),
                *("--store", str(store_path), "--wandb", "disabled"),
            ]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stderr[-3000:]}")
            peak = json.loads(peak_file.read_text())["peak_rss_mb"]
            measured[method] = {"process_wall_seconds": wall, "peak_rss_mb": peak}
            progress(f"suite slice: {method} done in {wall:.1f}s")
    return measured


def summarise_store(store_path: Path, suite: str) -> dict[str, Any]:
    """Per method: ok runs, fit and predict seconds (total and per run) and the largest recorded peak
    RSS; in all: how many of the suite's runs the store holds and the wall span of the stored runs."""
    with ResultStore(store_path) as store:
        expected = [spec.hash for spec in load_suite(suite).expand()]
        stored = store.stored_hashes(expected, status="ok")
        records = [store.get_run(run_hash) for run_hash in expected if run_hash in stored]
    methods: dict[str, dict[str, Any]] = {}
    for record in records:
        entry = methods.setdefault(
            record.method, {"runs": 0, "fit_seconds": 0.0, "predict_seconds": 0.0, "peak_rss_mb": 0.0}
        )
        entry["runs"] += 1
        entry["fit_seconds"] += record.provenance["fit_seconds"]
        entry["predict_seconds"] += record.provenance["predict_seconds"]
        entry["peak_rss_mb"] = max(entry["peak_rss_mb"], record.provenance["process_peak_rss_mb"])
    for entry in methods.values():
        entry["fit_seconds_per_run"] = entry["fit_seconds"] / entry["runs"]
        entry["predict_seconds_per_run"] = entry["predict_seconds"] / entry["runs"]
    return {
        "store": str(store_path),
        "suite": suite,
        "suite_runs": len(expected),
        "stored_runs": len(records),
        "complete": len(records) == len(expected),
        "fit_predict_seconds": sum(e["fit_seconds"] + e["predict_seconds"] for e in methods.values()),
        "wall_span_seconds": _wall_span(records),
        "methods": methods,
    }


def _wall_span(records: list[Any]) -> float | None:
    """From the start of the first `liftbench run` that stored one of the runs (its process start:
    imports, planning and worker start-up included, as `time` measures it) to the last run stored.
    A suite stopped and resumed spans the pause. Runs stored before runs recorded their runner's start
    give a lower bound: the first stored run's own fit and predict seconds before its store time."""
    if not records:
        return None
    last = max(datetime.fromisoformat(r.created_at) for r in records)
    starts = [r.provenance.get("runner_started_at") for r in records]
    if all(starts):
        return (last - min(datetime.fromisoformat(s) for s in starts)).total_seconds()
    head = min(records, key=lambda r: r.created_at)
    first = datetime.fromisoformat(head.created_at)
    return (
        (last - first).total_seconds() + head.provenance["fit_seconds"] + head.provenance["predict_seconds"]
    )
