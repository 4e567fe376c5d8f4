"""Check every run of a suite before the first one is executed: names, parameters, protocols, data."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from benchmark.core.methods import METHODS, method_entries
from benchmark.core.rows import load_run_task, perturbation_of, task_params_for
from benchmark.core.runspec import RunSpec, canonical_json
from benchmark.harness.effective import method_params_for
from tasks.availability import availability
from tasks.errors import LiftbenchError
from tasks.evaluation_sets import make_evaluation_set
from tasks.registry import get_spec, resolve_params
from tasks.splits import SPLIT_PROTOCOLS, make_split


def check_runs(runs: Sequence[RunSpec], where: str = "suite") -> list[RunSpec]:
    """Validate every run before any is executed: names, parameters, protocols.

    A problem a user can fix raises one LiftbenchError naming `where`; runs whose method needs an
    optional dependency that is not installed are dropped with a warning.
    """
    entries = method_entries()
    kept = []
    train_rows: dict[tuple[str, str, str], int] = {}  # (task, params, protocol) -> training rows
    for spec in runs:
        task_spec = get_spec(spec.task)
        params = spec.task_params.to_json()
        params.pop("missing", None)
        resolve_params(task_spec, params)
        if spec.method not in entries:
            raise METHODS.unknown(spec.method, where=f"{where}: ")
        entry = entries[spec.method]
        entry.check(task_spec.kind, method_params_for(spec), where=f"{where}: run {spec.label()}")
        if spec.split_protocol not in SPLIT_PROTOCOLS:
            raise LiftbenchError(
                f"{where}: unknown split protocol {spec.split_protocol!r}; use one of {', '.join(SPLIT_PROTOCOLS)}"
            )
        if spec.train_size is not None:
            _check_train_size(spec, where, train_rows)
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


def _check_train_size(spec: RunSpec, where: str, train_rows: dict[tuple[str, str, str], int]) -> None:
    """A training-set size the split can give (the count of training rows depends on the task, its
    parameters and the protocol, not on the seeds, so it is computed once per combination)."""
    params = task_params_for(spec)
    key = (spec.task, canonical_json(params), spec.split_protocol)
    if key not in train_rows:
        try:
            data = load_run_task(spec.task, params)
        except LiftbenchError:
            return  # data this machine lacks: the suite may be meant for another; the run says so itself
        split = make_split(data, seed=spec.split_seed, protocol=spec.split_protocol)
        train_rows[key] = split.sizes()["train"]
    n_train = train_rows[key]
    if spec.train_size > n_train:
        raise LiftbenchError(
            f"{where}: run {spec.label()}: training-set size {spec.train_size} is not possible with"
            f" {n_train} training rows; use sizes 1..{n_train}"
        )


def _check_data_changes(spec: RunSpec, where: str) -> None:
    """Check a run's perturbation and evaluation sets: names and parameters, then against its task's
    data where this machine has it (a run of a task whose data is missing says so when it runs)."""
    try:
        perturbation = perturbation_of(spec)
        evaluations = [make_evaluation_set(e.name, e.params) for e in spec.evaluations]
        if perturbation is not None and perturbation.changes_features and evaluations:
            raise LiftbenchError(
                f"perturbation {perturbation.name!r} changes the feature columns, so evaluation sets "
                "(built on the task's own features) cannot be predicted; drop one of the two"
            )
        if not availability(get_spec(spec.task)).available:
            return
        data = load_run_task(spec.task, task_params_for(spec))
        if perturbation is not None:
            perturbation.check(data)
        for evaluation in evaluations:
            evaluation.check(data)
    except LiftbenchError as err:
        raise LiftbenchError(f"{where}: run {spec.label()}: {err}") from None
