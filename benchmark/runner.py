"""Run RunSpecs: load the task, split, fit, predict, score, and store each run in one transaction.

A run whose hash is already stored (status ok) is skipped, so a suite can be stopped at any moment
and resumed with nothing lost and nothing done twice. Runs are executed in this process or in a pool
of worker processes (`jobs > 1`); only this process writes to the store and to W&B.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmark import provenance
from benchmark.methods import FitData, make_method, method_entries
from benchmark.metrics import compute_metrics
from benchmark.runspec import RunSpec, canonical_json
from benchmark.store import ResultStore, RunRecord, predictions_frame
from benchmark.wandb_mirror import WandbMirror
from tasks.errors import LiftbenchError, did_you_mean
from tasks.registry import get_spec, load_task, resolve_params
from tasks.spec import TaskData
from tasks.splits import SPLIT_PROTOCOLS, make_split, nested_train_subsets

# RunSpec fields that LIFT-style methods take as parameters; baselines do not declare them.
_LM_FIELDS = ("serializer", "serializer_options", "model")


@dataclass
class RunResult:
    spec: RunSpec
    record: RunRecord
    predictions: pd.DataFrame | None

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"


@dataclass
class SuiteSummary:
    total: int
    skipped: int  # already stored
    done: list[RunResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.done if not r.ok]


def check_runs(runs: Sequence[RunSpec], where: str = "suite") -> list[RunSpec]:
    """Validate every run before any is executed: names, parameters, protocols.

    A problem a user can fix raises one LiftbenchError naming `where`; runs whose method needs an
    optional dependency that is not installed are dropped with a warning.
    """
    entries = method_entries()
    kept = []
    for spec in runs:
        task_spec = get_spec(spec.task)
        params = spec.task_params.to_json()
        params.pop("missing", None)
        resolve_params(task_spec, params)
        entry = entries.get(spec.method)
        if entry is None:
            raise LiftbenchError(
                f"{where}: unknown method {spec.method!r}{did_you_mean(spec.method, entries)}; "
                f"known: {', '.join(sorted(entries))}"
            )
        if task_spec.kind not in entry.kinds:
            raise LiftbenchError(
                f"{where}: method {spec.method!r} does not do {task_spec.kind} (task {spec.task!r}); "
                f"it does {', '.join(entry.kinds)}"
            )
        unknown = sorted(set(spec.method_params) - set(entry.defaults))
        if unknown:
            raise LiftbenchError(
                f"{where}: method {spec.method!r} has no parameter {unknown[0]!r}"
                f"{did_you_mean(unknown[0], entry.defaults)}; its parameters: {', '.join(sorted(entry.defaults)) or 'none'}"
            )
        for name in _LM_FIELDS:
            if getattr(spec, name) and name not in entry.defaults:
                raise LiftbenchError(f"{where}: method {spec.method!r} takes no {name} (run {spec.label()})")
        if spec.split_protocol not in SPLIT_PROTOCOLS:
            raise LiftbenchError(
                f"{where}: unknown split protocol {spec.split_protocol!r}; use one of {', '.join(SPLIT_PROTOCOLS)}"
            )
        if spec.perturbation is not None:
            raise LiftbenchError(
                f"{where}: run {spec.label()} asks for perturbation {spec.perturbation.name!r}, "
                "but no perturbations are registered in this version; remove it from the suite"
            )
        if not entry.available():
            warnings.warn(
                f"skipping {spec.label()}: method {spec.method!r} needs {', '.join(entry.requires)}",
                stacklevel=2,
            )
            continue
        kept.append(spec)
    return kept


@functools.lru_cache(maxsize=8)
def _cached_task(name: str, params_json: str) -> TaskData:
    import json

    params = json.loads(params_json)
    missing = params.pop("missing", "keep")
    return load_task(name, missing=missing, **params)


def task_params_for(spec: RunSpec) -> dict[str, Any]:
    """The task parameters a run loads its data with.

    A generated task (one with a `seed` parameter) that the suite does not seed explicitly is seeded
    with the run's split seed, so every split seed is an independent draw of the data; the paper's
    code reused one draw (np.random.seed(123)) for all of its "simulations".
    """
    params = spec.task_params.to_json()
    if "seed" not in params and "seed" in get_spec(spec.task).defaults:
        params["seed"] = spec.split_seed
    return params


def execute_run(spec: RunSpec, suite: str | None = None) -> RunResult:
    """Fit and evaluate one run; an exception inside the method becomes a stored 'failed' record."""
    data = _cached_task(spec.task, canonical_json(task_params_for(spec)))
    split = make_split(data, seed=spec.split_seed, protocol=spec.split_protocol)
    y_all = data.y.to_numpy()
    if spec.train_size is not None:
        subsets = nested_train_subsets(split, y_all, [spec.train_size], seed=spec.split_seed)
        split = split.subset_train(subsets[spec.train_size])
    base = {
        "run_hash": spec.hash,
        "task": spec.task,
        "method": spec.method,
        "kind": data.kind,
        "seed": spec.seed,
        "split_seed": spec.split_seed,
        "train_size": spec.train_size,
        "spec": spec.to_dict(),
        "suite": suite,
    }
    prov: dict[str, Any] = {
        "data_checksum": data.checksum,
        "data_source": data.source,
        "data_source_detail": data.source_detail,
        "task_params": data.params,
        "split_hash": split.hash,
        "split_sizes": split.sizes(),
        "n_classes": None if data.classes is None else len(data.classes),
        **provenance.environment(),
    }
    params = spec.method_params.to_json()
    for name in _LM_FIELDS:
        value = getattr(spec, name)
        if value:
            params[name] = value.to_json() if hasattr(value, "to_json") else value
    try:
        method = make_method(spec.method, data.kind, spec.seed, params)
        fit_data = FitData(
            task=data,
            X_train=data.X.iloc[split.train],
            y_train=y_all[split.train],
            X_val=data.X.iloc[split.val],
            y_val=y_all[split.val],
            seed=spec.seed,
        )
        start = time.perf_counter()
        info = method.fit(fit_data)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        pred = method.predict(data.X.iloc[split.test])
        predict_seconds = time.perf_counter() - start
        y_test = y_all[split.test]
        metrics = compute_metrics(data.kind, y_test, pred, prov["n_classes"])
    except LiftbenchError:
        raise
    except Exception as err:  # a learner that crashes is a result to record, not a reason to stop the suite
        prov["traceback"] = traceback.format_exc(limit=20)
        record = RunRecord(**base, status="failed", provenance=prov, error=f"{type(err).__name__}: {err}")
        return RunResult(spec, record, None)
    prov.update(
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        process_peak_rss_mb=provenance.peak_rss_mb(),
        selected=info.selected,
        fit_info=info.extra,
    )
    record = RunRecord(**base, provenance=prov, metrics=metrics)
    frame = predictions_frame(y_test, pred, row_index=split.test, split="test")
    return RunResult(spec, record, frame)


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.simplefilter("ignore")


def run_suite(
    runs: Sequence[RunSpec],
    store: ResultStore,
    suite: str | None = None,
    jobs: int = 1,
    force: bool = False,
    mirror: WandbMirror | None = None,
    on_done: Callable[[RunResult, int, int], None] | None = None,
) -> SuiteSummary:
    """Execute the runs not yet stored (all of them with `force`), storing each as it finishes.

    `on_done(result, finished, to_do)` is called after each run is stored (for progress output).
    Ctrl-C stops after the runs already stored; they are kept, and the next call resumes.
    """
    stored = set() if force else store.stored_hashes([s.hash for s in runs], status="ok")
    todo = [s for s in runs if s.hash not in stored]
    summary = SuiteSummary(total=len(runs), skipped=len(runs) - len(todo))

    def record(result: RunResult) -> None:
        store.write_run(result.record, result.predictions)
        if mirror is not None and result.ok:
            mirror.log_run(
                result.record.spec,
                result.record.run_hash,
                suite,
                result.record.metrics,
                result.predictions,
                result.record.provenance,
            )
        summary.done.append(result)
        if on_done is not None:
            on_done(result, len(summary.done), len(todo))

    try:
        if jobs <= 1:
            for spec in todo:
                record(execute_run(spec, suite))
        else:
            _run_in_pool(todo, suite, jobs, record)
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary


def _run_in_pool(
    todo: Iterable[RunSpec], suite: str | None, jobs: int, record: Callable[[RunResult], None]
) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker) as pool:
        pending: set[Future[RunResult]] = {pool.submit(execute_run, spec, suite) for spec in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    record(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
