"""One run's rows: load the task, split it, cut the training subset, perturb, build evaluation sets.

The runner fits on what `prepare_rows` returns, and the analysis rebuilds a stored run's training rows
with the same function, so a figure can never draw other rows than the method was trained on.

A run's row limit (a smoke run, `RunSpec.row_limit`) cuts every part of the split after its training-size
subset, stratified, and makes its evaluation sets coarser to fit it. Its perturbation
(`tasks.perturbations`) is applied after the split, its training-size subset and the row limit,
with a seed drawn from the run's split seed and seed (every method of one split and seed sees the same
perturbed rows). Its evaluation sets (`tasks.evaluation_sets`) are built from the clean data and split.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark.core.methods import FitData
from benchmark.core.runspec import Evaluation, RunSpec, canonical_json
from tasks.evaluation_sets import EvalRows, EvaluationSet, make_evaluation_set
from tasks.perturbations import TablePerturbation, make_perturbation
from tasks.registry import get_spec, load_task
from tasks.spec import TaskData
from tasks.splits import Split, limit_rows, make_split, nested_train_subsets


@dataclass
class RunRows:
    """The rows of one run.

    `clean_data`/`clean_split` are the task and split before the perturbation (evaluation sets are
    built from them); `data`/`split` are what the method fits and is tested on.
    """

    clean_data: TaskData
    clean_split: Split
    data: TaskData
    split: Split
    evaluation_rows: dict[str, EvalRows] = field(default_factory=dict)
    perturbation: dict[str, Any] | None = None  # what was applied, for the run's provenance

    @property
    def y(self) -> np.ndarray:
        return self.data.y.to_numpy()

    @property
    def X_train(self) -> pd.DataFrame:
        return self.data.X.iloc[self.split.train]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.split.train]

    def fit_data(self, seed: int) -> FitData:
        """What a method fits on: the training and validation rows (never the test rows)."""
        X, y, split = self.data.X, self.y, self.split
        return FitData(
            task=self.data,
            X_train=X.iloc[split.train],
            y_train=y[split.train],
            X_val=X.iloc[split.val],
            y_val=y[split.val],
            seed=seed,
        )


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


def load_run_task(task: str, params: dict[str, Any]) -> TaskData:
    """The task with the given parameters (`missing` included), cached for the runs of one process."""
    return _cached_task(task, canonical_json(params))


@functools.lru_cache(maxsize=8)
def _cached_task(name: str, params_json: str) -> TaskData:
    params = json.loads(params_json)
    missing = params.pop("missing", "keep")
    return load_task(name, missing=missing, **params)


def perturbation_of(spec: RunSpec) -> TablePerturbation | None:
    if spec.perturbation is None:
        return None
    return make_perturbation(spec.perturbation.name, spec.perturbation.params)


def evaluation_set_of(evaluation: Evaluation, row_limit: int | None = None) -> EvaluationSet:
    """The evaluation set a run predicts: as the spec names it, coarser under a row limit."""
    made = make_evaluation_set(evaluation.name, evaluation.params)
    return made if row_limit is None else made.capped(row_limit)


def perturbation_seed(split_seed: int, seed: int) -> int:
    """The perturbation's seed: one draw from the run's split seed and seed together."""
    return int(np.random.SeedSequence([split_seed, seed]).generate_state(1)[0])


def prepare_rows(
    task: str,
    task_params: dict[str, Any],
    *,
    split_seed: int,
    split_protocol: str,
    train_size: int | None = None,
    perturbation: TablePerturbation | None = None,
    perturbation_seed: int | None = None,
    row_limit: int | None = None,
) -> RunRows:
    """Load, split, subset, cap and perturb one run's rows (evaluation sets: `rows_for_spec`)."""
    data = load_run_task(task, task_params)
    split = make_split(data, seed=split_seed, protocol=split_protocol)
    if train_size is not None:
        subsets = nested_train_subsets(split, data.y.to_numpy(), [train_size], seed=split_seed)
        split = split.subset_train(subsets[train_size])
    if row_limit is not None:
        split = limit_rows(split, data.y.to_numpy(), row_limit, seed=split_seed)
    rows = RunRows(clean_data=data, clean_split=split, data=data, split=split)
    if perturbation is not None:
        assert perturbation_seed is not None, "a perturbation needs the seed it is applied with"
        perturbed = perturbation.apply(data, split, perturbation_seed)
        rows.data, rows.split = perturbed.data, perturbed.split
        rows.perturbation = {
            "applies_to": perturbation.applies_to,
            "seed": perturbation_seed,
            "report": perturbed.report,
            "data_checksum": perturbed.data.checksum,
            "split_hash": perturbed.split.hash,
            "split_sizes": perturbed.split.sizes(),
        }
    return rows


def rows_for_spec(spec: RunSpec, clean: bool = False) -> RunRows:
    """`prepare_rows` for a RunSpec, evaluation sets included: what the runner fits on.

    `clean=True` stops at the clean data and split (no perturbation, no evaluation sets): what a
    run's effective configuration is computed from, without the cost of perturbing (an adversarial
    perturbation trains a surrogate model).
    """
    perturbation = None if clean else perturbation_of(spec)
    rows = prepare_rows(
        spec.task,
        task_params_for(spec),
        split_seed=spec.split_seed,
        split_protocol=spec.split_protocol,
        train_size=spec.train_size,
        perturbation=perturbation,
        perturbation_seed=None if perturbation is None else perturbation_seed(spec.split_seed, spec.seed),
        row_limit=spec.row_limit,
    )
    if clean:
        return rows
    rows.evaluation_rows = {
        e.name: evaluation_set_of(e, spec.row_limit).rows(rows.clean_data, rows.clean_split)
        for e in spec.evaluations
    }
    if rows.perturbation is not None:
        rows.perturbation = {**spec.perturbation.to_json(), **rows.perturbation}
    return rows
