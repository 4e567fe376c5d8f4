"""Check every run of a suite before the first one is executed: names, parameters, protocols, data."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from benchmark.core.methods import method_entries
from benchmark.core.rows import load_run_task, perturbation_of, task_params_for
from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import LM_FIELDS
from tasks.errors import LiftbenchError, did_you_mean
from tasks.evaluation_sets import make_evaluation_set
from tasks.registry import get_spec, resolve_params
from tasks.splits import SPLIT_PROTOCOLS


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
        for name in LM_FIELDS:
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


def _check_data_changes(spec: RunSpec, where: str) -> None:
    """Check a run's perturbation and evaluation sets: names and parameters, then against its task's data."""
    try:
        perturbation = perturbation_of(spec)
        evaluations = [make_evaluation_set(e.name, e.params) for e in spec.evaluations]
        if perturbation is not None and perturbation.changes_features and evaluations:
            raise LiftbenchError(
                f"perturbation {perturbation.name!r} changes the feature columns, so evaluation sets "
                "(built on the task's own features) cannot be predicted; drop one of the two"
            )
        data = load_run_task(spec.task, task_params_for(spec))
        if perturbation is not None:
            perturbation.check(data)
        for evaluation in evaluations:
            evaluation.check(data)
    except LiftbenchError as err:
        raise LiftbenchError(f"{where}: run {spec.label()}: {err}") from None
