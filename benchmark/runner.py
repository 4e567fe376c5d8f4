"""Run RunSpecs: load the task, split, fit, predict, score, and store each run in one transaction.

A run's perturbation (`tasks.perturbations`) is applied after the split and its training-size subset,
before fitting, with a seed drawn from the run's split seed and seed (so every method of one split
and seed sees the same perturbed rows). Its evaluation sets (`tasks.evaluation_sets`) are built from
the clean data and split and predicted after the test rows; their predictions are stored with the
test predictions as splits `eval:<name>`.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark import provenance
from benchmark.methods import FitData, make_method, method_entries
from benchmark.metrics import compute_metrics
from benchmark.runspec import RunSpec, canonical_json
from benchmark.store import ResultStore, RunRecord, predictions_frame
from benchmark.wandb_mirror import WandbMirror
from tasks.errors import LiftbenchError, did_you_mean
from tasks.evaluation_sets import SPLIT_PREFIX, EvalRows, make_evaluation_set
from tasks.perturbations import TablePerturbation, make_perturbation
from tasks.registry import get_spec, load_task, resolve_params
from tasks.spec import TaskData
from tasks.splits import SPLIT_PROTOCOLS, make_split, nested_train_subsets

LAUNCHERS = ("local", "ray")

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
    lost: int = 0  # runs a cluster launcher could not bring back; they run again next time

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
        if spec.perturbation is not None or spec.evaluations:
            _check_data_changes(spec, where)
        if not entry.available():
            warnings.warn(
                f"skipping {spec.label()}: method {spec.method!r} needs {', '.join(entry.requires)}",
                stacklevel=2,
            )
            continue
        kept.append(spec)
    return kept


def _perturbation(spec: RunSpec) -> TablePerturbation | None:
    if spec.perturbation is None:
        return None
    return make_perturbation(spec.perturbation.name, spec.perturbation.params)


def _check_data_changes(spec: RunSpec, where: str) -> None:
    """Check a run's perturbation and evaluation sets: names and parameters, then against its task's data."""
    try:
        perturbation = _perturbation(spec)
        evaluations = [make_evaluation_set(e.name, e.params) for e in spec.evaluations]
        if perturbation is not None and perturbation.changes_features and evaluations:
            raise LiftbenchError(
                f"perturbation {perturbation.name!r} changes the feature columns, so evaluation sets "
                "(built on the task's own features) cannot be predicted; drop one of the two"
            )
        data = _cached_task(spec.task, canonical_json(task_params_for(spec)))
        if perturbation is not None:
            perturbation.check(data)
        for evaluation in evaluations:
            evaluation.check(data)
    except LiftbenchError as err:
        raise LiftbenchError(f"{where}: run {spec.label()}: {err}") from None


def _perturbation_seed(spec: RunSpec) -> int:
    """The perturbation's seed: one draw from the run's split seed and seed together."""
    return int(np.random.SeedSequence([spec.split_seed, spec.seed]).generate_state(1)[0])


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
    evaluation_rows: dict[str, EvalRows] = {
        e.name: make_evaluation_set(e.name, e.params).rows(data, split) for e in spec.evaluations
    }
    perturbation = _perturbation(spec)
    if perturbation is not None:
        seed = _perturbation_seed(spec)
        perturbed = perturbation.apply(data, split, seed)
        data, split = perturbed.data, perturbed.split
        y_all = data.y.to_numpy()
        prov["perturbation"] = {
            **spec.perturbation.to_json(),
            "applies_to": perturbation.applies_to,
            "seed": seed,
            "report": perturbed.report,
            "data_checksum": data.checksum,
            "split_hash": split.hash,
            "split_sizes": split.sizes(),
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
        frames = [predictions_frame(y_test, pred, row_index=split.test, split="test")]
        evaluated = {}
        for name, rows in evaluation_rows.items():
            start = time.perf_counter()
            extra = method.predict(rows.X)
            seconds = time.perf_counter() - start
            frames.append(predictions_frame(rows.y_true, extra, split=SPLIT_PREFIX + name))
            evaluated[name] = {**rows.meta, "rows": len(rows.X), "predict_seconds": seconds}
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
    if evaluated:
        prov["evaluations"] = evaluated
    record = RunRecord(**base, provenance=prov, metrics=metrics)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
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
    launcher: str = "local",
    ray_options: Mapping[str, Any] | None = None,
) -> SuiteSummary:
    """Execute the runs not yet stored (all of them with `force`), storing each as it finishes.

    `launcher="local"` runs here (`jobs > 1`: a pool of processes); `"ray"` sends each run to a Ray
    cluster (`ray_options`: address, num_cpus, num_gpus, max_in_flight of `run_with_ray`). Either way
    only this process writes the store and W&B, and under a multi-process launch (Lightning DDP,
    srun) only global rank zero does. `on_done(result, finished, to_do)` is called after each run is
    stored. Ctrl-C stops after the runs already stored; they are kept, and the next call resumes.
    """
    if launcher not in LAUNCHERS:
        raise LiftbenchError(f"unknown launcher {launcher!r}; use one of: {', '.join(LAUNCHERS)}")
    writer = is_global_rank_zero()
    stored = set() if force else store.stored_hashes([s.hash for s in runs], status="ok")
    todo = [s for s in runs if s.hash not in stored]
    summary = SuiteSummary(total=len(runs), skipped=len(runs) - len(todo))
    # W&B's init/finish is mostly waiting on its service process: mirror in one background thread so
    # it overlaps with fitting. The mirror never raises; a W&B failure is a warning.
    mirroring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wandb-mirror") if mirror else None

    def record(result: RunResult) -> None:
        if writer:
            store.write_run(result.record, result.predictions)
        if writer and mirroring is not None and result.ok:
            r = result.record
            mirroring.submit(
                mirror.log_run, r.spec, r.run_hash, suite, r.metrics, result.predictions, r.provenance
            )
        summary.done.append(result)
        if on_done is not None:
            on_done(result, len(summary.done), len(todo))

    try:
        if launcher == "ray":
            from benchmark.launchers import run_with_ray

            run_with_ray(todo, suite, record, **dict(ray_options or {}))
            summary.lost = len(todo) - len(summary.done)
        elif jobs <= 1:
            for spec in todo:
                record(execute_run(spec, suite))
        else:
            _run_in_pool(todo, suite, jobs, record)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if mirroring is not None:
            mirroring.shutdown(wait=True)
    return summary


def is_global_rank_zero() -> bool:
    """False in the non-zero ranks of a multi-process launch (torchrun, Lightning DDP, srun), which
    run the same command: only rank zero may write results. Environment variables as Lightning reads
    them; no variable set means a single process."""
    for variable in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if variable in os.environ:
            return int(os.environ[variable]) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


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
