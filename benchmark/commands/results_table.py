"""Text tables of stored results: tasks x methods, mean +/- std over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import click
import pandas as pd

from benchmark.core.metrics import HEADLINE_METRIC
from benchmark.harness.store import ResultStore


def compare_table(store: ResultStore, metric: str, **filters: object) -> pd.DataFrame:
    """Tasks as rows, methods as columns, cells 'mean+/-std (n)'."""
    frame = store.compare(metric, by=("task", "method"), **filters)
    cells = frame.apply(
        lambda r: (
            f"{r['mean']:.4f}" + (f"±{r['std']:.4f}" if pd.notna(r["std"]) else "") + f" ({int(r['count'])})"
        ),
        axis=1,
    )
    table = frame.assign(cell=cells).pivot(index="task", columns="method", values="cell").fillna("-")
    table.columns.name = None
    return table


def echo_table(table: pd.DataFrame, title: str) -> None:
    click.echo(f"\n{title}")
    click.echo(table.to_string())


def echo_suite_tables(store: ResultStore, run_hashes: Sequence[str]) -> None:
    """The headline table of each kind for the given runs (those that are stored and ok)."""
    runs = store.runs(run_hash=list(run_hashes), status="ok")
    for kind, metric in HEADLINE_METRIC.items():
        if (runs["kind"] == kind).any() if len(runs) else False:
            table = compare_table(store, metric, run_hash=list(run_hashes), kind=kind)
            arrow = "higher" if kind == "classification" else "lower"
            echo_table(table, f"{kind}: test {metric} ({arrow} is better), mean±std (runs) over seeds")
