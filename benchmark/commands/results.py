"""`liftbench results`: list, show, export and compare what the store holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchmark.commands.results_table import compare_table, echo_table
from benchmark.harness.store import DEFAULT_STORE_PATH, ResultStore
from tasks.errors import LiftbenchError

_store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_STORE_PATH,
    show_default=True,
    help="The results store (SQLite).",
)


def _filters(suite: str | None, task: str | None, method: str | None) -> dict[str, str]:
    return {k: v for k, v in {"suite": suite, "task": task, "method": method}.items() if v is not None}


def _filter_options(fn):
    for option in (
        click.option("--suite", default=None, help="Only runs stored by this suite."),
        click.option("--task", default=None, help="Only runs of this task."),
        click.option("--method", default=None, help="Only runs of this method."),
    ):
        fn = option(fn)
    return fn


def _open(store_path: Path) -> ResultStore:
    if not store_path.exists():
        raise LiftbenchError(
            f"results store {store_path} does not exist; `liftbench run --suite default` creates it"
        )
    return ResultStore(store_path)


@click.group(name="results")
def group() -> None:
    """Inspect the results store."""


@group.command(name="list")
@_store_option
@_filter_options
def list_runs(store_path: Path, suite: str | None, task: str | None, method: str | None) -> None:
    """One line per stored run: hash, status, task, method, seeds, headline metric."""
    store = _open(store_path)
    runs = store.runs(**_filters(suite, task, method))
    for _, row in runs.iterrows():
        metric = "metric.accuracy" if row["kind"] == "classification" else "metric.rae"
        value = row.get(metric)
        shown = (
            f"{metric.removeprefix('metric.')}={value:.4f}"
            if row["status"] == "ok" and value == value
            else row["status"]
        )
        size = (
            "all"
            if row["train_size"] != row["train_size"] or row["train_size"] is None
            else int(row["train_size"])
        )
        click.echo(
            f"{row['run_hash']}  {row['task']:<24} {row['method']:<10} seed={row['seed']} split={row['split_seed']} n={size}  {shown}"
        )
    click.echo(f"{len(runs)} runs in {store.path}")


@group.command(name="show")
@click.argument("run_hash")
@_store_option
@click.option(
    "--predictions", "n_predictions", type=int, default=5, show_default=True, help="Prediction rows to print."
)
def show_run(run_hash: str, store_path: Path, n_predictions: int) -> None:
    """Everything stored about one run: spec, metrics, provenance, first predictions."""
    store = _open(store_path)
    record = store.get_run(run_hash)
    click.echo(f"run {record.run_hash} ({record.status}) stored {record.created_at}, suite {record.suite}")
    click.echo("spec: " + json.dumps(record.spec, sort_keys=True))
    if record.error:
        click.echo(f"error: {record.error}")
    for name, value in sorted(record.metrics.items()):
        click.echo(f"  {name:<18} {value:.6g}")
    click.echo("provenance: " + json.dumps(record.provenance, sort_keys=True, indent=2, default=str))
    if record.status == "ok" and n_predictions > 0:
        click.echo(store.predictions(run_hash).head(n_predictions).to_string(index=False))


@group.command(name="export")
@click.argument("path", type=click.Path(path_type=Path))
@_store_option
@_filter_options
def export_runs(
    path: Path, store_path: Path, suite: str | None, task: str | None, method: str | None
) -> None:
    """Write the runs with their metrics to PATH (.csv or .parquet)."""
    out = _open(store_path).export(path, **_filters(suite, task, method))
    click.echo(f"wrote {out}")


@group.command(name="compare")
@click.option(
    "--metric",
    default="accuracy",
    show_default=True,
    help="The metric to tabulate (e.g. auc, rae, macro_f1).",
)
@_store_option
@_filter_options
def compare(metric: str, store_path: Path, suite: str | None, task: str | None, method: str | None) -> None:
    """Tasks x methods: mean±std of a metric over seeds (count of runs in brackets)."""
    table = compare_table(_open(store_path), metric, **_filters(suite, task, method))
    echo_table(table, f"test {metric}, mean±std (runs)")
