"""Text tables of stored results: one row per experiment, one column per method configuration.

A cell pools only runs that differ in their seeds (`split_seed`, `seed`): everything else that changes
the experiment (the task and its parameters, training size, perturbation, split protocol; the method
and its parameters, serializer and its options, model) is in the row or column label. Runs that differ
only in their extra evaluation sets make the same fit and count once (the one with the most sets).
A cell says how many runs it holds and over which seeds: `0.9333±0.0115 (n=3; split 0-2; seed 0)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import click
import pandas as pd

from analysis.loading import with_auc_from_predictions
from benchmark.core.metrics import HEADLINE_METRIC
from benchmark.core.runspec import RunSpec
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError, did_you_mean
from tasks.local_files import FILE_TASK, task_label


def experiment_label(spec: RunSpec) -> str:
    """`RunSpec.experiment_label`, a file task shown by its own name (`name=` or the file's stem)."""
    return spec.experiment_label(task_label(spec.task, spec.task_params) if spec.task == FILE_TASK else None)


def seed_list(values: Iterable[int]) -> str:
    """Sorted seeds with runs of consecutive ones shortened: `0-4,7`."""
    seeds = sorted(set(int(v) for v in values))
    parts: list[str] = []
    start = previous = None
    for seed in [*seeds, None]:
        if seed is not None and previous is not None and seed == previous + 1:
            previous = seed
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = seed
    return ",".join(parts)


def experiment_cells(store: ResultStore, metric: str, **filters: object) -> pd.DataFrame:
    """One row per (experiment, method configuration) of the ok runs: mean, std, count and seeds."""
    frame = store.runs(status="ok", with_json=True, **filters)
    if metric == "auc":  # runs stored before AUC was a metric: from their stored test probabilities
        frame = with_auc_from_predictions(store, frame)
    column = f"metric.{metric}"
    if column not in frame.columns:
        stored = sorted(c.removeprefix("metric.") for c in frame.columns if c.startswith("metric."))
        raise LiftbenchError(
            f"no ok run in results store {store.path} has metric {metric!r}{did_you_mean(metric, stored)};"
            f" stored metrics: {', '.join(stored) or 'none'}"
        )
    specs = [RunSpec.from_dict(json.loads(text)) for text in frame["spec_json"]]
    frame = (
        frame.assign(
            experiment=[experiment_label(s) for s in specs],
            configuration=[s.method_label() for s in specs],
            fit=[s.fit_key() for s in specs],
            sets=[len(s.evaluations) for s in specs],
        )
        .dropna(subset=[column])
        .sort_values("sets", ascending=False, kind="stable")
        .drop_duplicates("fit")
    )
    rows = []
    for (experiment, configuration), group in frame.groupby(["experiment", "configuration"], sort=True):
        values = group[column].astype(float)
        rows.append(
            {
                "experiment": experiment,
                "configuration": configuration,
                "mean": values.mean(),
                "std": values.std(ddof=1),
                "count": len(values),
                "split_seeds": seed_list(group["split_seed"]),
                "seeds": seed_list(group["seed"]),
            }
        )
    return pd.DataFrame(
        rows, columns=["experiment", "configuration", "mean", "std", "count", "split_seeds", "seeds"]
    )


def compare_table(store: ResultStore, metric: str, **filters: object) -> pd.DataFrame:
    """Experiments as rows, method configurations as columns, cells 'mean±std (n=..; split ..; seed ..)'."""
    cells = experiment_cells(store, metric, **filters)
    if cells.empty:
        return pd.DataFrame()
    text = cells.apply(
        lambda r: (
            f"{r['mean']:.4f}"
            + (f"±{r['std']:.4f}" if pd.notna(r["std"]) else "")
            + f" (n={int(r['count'])}; split {r['split_seeds']}; seed {r['seeds']})"
        ),
        axis=1,
    )
    table = cells.assign(cell=text).pivot(index="experiment", columns="configuration", values="cell")
    table = table.fillna("-")
    table.columns.name = None
    table.index.name = None
    return table


def echo_table(table: pd.DataFrame, title: str) -> None:
    click.echo(f"\n{title}")
    click.echo(table.to_string() if not table.empty else "(no ok runs)")


def echo_suite_tables(store: ResultStore, run_hashes: Sequence[str]) -> None:
    """The headline table of each kind for the given runs (those that are stored and ok)."""
    runs = store.runs(run_hash=list(run_hashes), status="ok")
    for kind, metric in HEADLINE_METRIC.items():
        if (runs["kind"] == kind).any() if len(runs) else False:
            table = compare_table(store, metric, run_hash=list(run_hashes), kind=kind)
            arrow = "higher" if kind == "classification" else "lower"
            echo_table(table, f"{kind}: test {metric} ({arrow} is better), mean±std per experiment")
