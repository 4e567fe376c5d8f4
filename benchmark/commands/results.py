"""`liftbench results`: list, show, export and compare what the store holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchmark.commands import command_store
from benchmark.commands.results_table import compare_table, echo_table, experiment_label
from benchmark.core.metrics import HEADLINE_METRIC
from benchmark.core.runspec import RunSpec
from benchmark.harness import provenance
from benchmark.harness.effective import differences
from benchmark.harness.merge import merge_stores
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
    return command_store(store_path)


@click.group(name="results")
def group() -> None:
    """Inspect the results store."""


@group.command(name="list")
@_store_option
@_filter_options
@click.option("--superseded", is_flag=True, help="Also list results kept after their run was redone.")
def list_runs(
    store_path: Path, suite: str | None, task: str | None, method: str | None, superseded: bool
) -> None:
    """One line per stored run, grouped by experiment: hash, status, seeds, headline metric."""
    store = _open(store_path)
    runs = store.runs(include_superseded=superseded, with_json=True, **_filters(suite, task, method))
    specs = [RunSpec.from_dict(json.loads(text)) for text in runs["spec_json"]]
    runs = runs.assign(
        experiment=[experiment_label(s) for s in specs], configuration=[s.method_label() for s in specs]
    )
    for (experiment, configuration), group in runs.groupby(["experiment", "configuration"], sort=True):
        click.echo(f"{experiment} | {configuration}")
        for _, row in group.sort_values(["split_seed", "seed", "created_at"]).iterrows():
            metric = f"metric.{HEADLINE_METRIC[row['kind']]}"
            value = row.get(metric)
            shown = (
                f"{metric.removeprefix('metric.')}={value:.4f}"
                if row["status"] == "ok" and value == value
                else row["status"]
            )
            mark = f"  superseded by {row['superseded_by']}" if row["superseded_by"] else ""
            click.echo(f"  {row['run_hash']}  split={row['split_seed']} seed={row['seed']}  {shown}{mark}")
    click.echo(f"{len(runs)} runs in {store.path}")


@group.command(name="show")
@click.argument("run_hash")
@_store_option
@click.option(
    "--predictions", "n_predictions", type=int, default=5, show_default=True, help="Prediction rows to print."
)
def show_run(run_hash: str, store_path: Path, n_predictions: int) -> None:
    """Everything stored about one run: spec, effective configuration, metrics, provenance, predictions.

    Also what differs from the results it superseded, and where the code and libraries running now
    differ from the ones that produced it (shown, never a reason to rerun).
    """
    store = _open(store_path)
    record = store.get_run(run_hash)
    click.echo(f"run {record.run_hash} ({record.status}) stored {record.created_at}, suite {record.suite}")
    if record.superseded_by:
        click.echo(f"superseded by {record.superseded_by}: not a current result")
    click.echo("spec: " + json.dumps(record.spec, sort_keys=True))
    if record.error:
        click.echo(f"error: {record.error}")
    for name, value in sorted(record.metrics.items()):
        click.echo(f"  {name:<18} {value:.6g}")
    click.echo(
        f"effective configuration (hash {record.config_hash}): "
        + json.dumps(record.config, sort_keys=True, indent=2)
    )
    for old in store.superseded(record.run_hash):
        click.echo(f"supersedes {old.run_hash} (stored {old.created_at}), whose configuration differs in:")
        for line in differences(old.config, record.config) or [
            "(nothing recorded: stored before configurations were)"
        ]:
            click.echo(f"  {line}")
    stored_env = {key: record.provenance.get(key, {}) for key in ("versions", "git")}
    current_env = {key: value for key, value in provenance.environment().items() if key in stored_env}
    changed = differences(stored_env, current_env)
    if changed:
        click.echo("provenance: this code and its libraries differ from the run's (stored -> now):")
        for line in changed:
            click.echo(f"  {line}")
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
    """Experiments x method configurations: mean±std of a metric over seeds (runs and seeds in brackets)."""
    table = compare_table(_open(store_path), metric, **_filters(suite, task, method))
    echo_table(table, f"test {metric}, mean±std per experiment (runs; split seeds; seeds)")


@group.command(name="merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--into",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="The store to merge into (created if missing).",
)
def merge(sources: tuple[Path, ...], target: Path) -> None:
    """Merge stores (e.g. the shards of a suite) into one; conflicting results are reported, not overwritten."""
    report = merge_stores(sources, target)
    for conflict in report.conflicts:
        click.echo(f"conflict {conflict}", err=True)
    click.echo(report.summary())
    if report.conflicts:
        raise LiftbenchError(
            f"{len(report.conflicts)} runs hold different results in the merged stores (listed above);"
            f" {target} keeps its own: compare them with `liftbench results show HASH --store ...`"
        )
