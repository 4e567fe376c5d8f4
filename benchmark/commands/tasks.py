"""`liftbench tasks`: list, show and check the task catalogue."""

from __future__ import annotations

import sys

import click

from benchmark.commands.params import parse_key_values
from tasks.availability import availability
from tasks.errors import LiftbenchError
from tasks.openml_source import cache_root
from tasks.registry import get_spec, list_specs, load_task
from tasks.spec import KINDS, TaskData, TaskSpec
from tasks.splits import make_split


@click.group(name="tasks")
def group() -> None:
    """The task catalogue: what can be benchmarked and whether it loads offline."""


@group.command(name="list")
@click.option("--suite", default=None, help="Only the tasks of this suite (e.g. lift14, lift-extra).")
@click.option(
    "--kind", type=click.Choice(KINDS), default=None, help="Only classification or regression tasks."
)
def list_tasks(suite: str | None, kind: str | None) -> None:
    """One line per task: name, kind, source, OpenML id, suites, offline availability."""
    specs = list_specs(suite=suite, kind=kind)
    rows = [("name", "kind", "source", "openml", "suites", "offline")]
    for spec in specs:
        avail = availability(spec)
        rows.append(
            (
                spec.name,
                spec.kind,
                spec.source,
                str(spec.openml_id or "-"),
                ",".join(spec.suites) or "-",
                avail.via if avail.available else "no",
            )
        )
    _echo_table(rows)
    click.echo(
        f"{len(specs)} tasks; `liftbench tasks show NAME` for details, `liftbench tasks check` to load them"
    )


@group.command(name="show")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A task parameter (repeatable).")
def show_task(name: str, params: tuple[str, ...]) -> None:
    """Everything about one task: shape, classes, source, parameters, availability, citation."""
    spec = get_spec(name)
    avail = availability(spec)
    given = parse_key_values(params)
    loadable = avail.available or (spec.source == "file" and bool(given))
    data = load_task(name, **given) if loadable else None  # before printing: a bad parameter is one line
    click.echo(f"{spec.name}: {spec.description}" if spec.description else spec.name)
    if data is not None and data.name != spec.name:
        click.echo(f"  name:       {data.name}")
    click.echo(f"  kind:       {spec.kind}")
    click.echo(f"  source:     {spec.source}" + (f" (OpenML {spec.openml_id})" if spec.openml_id else ""))
    if spec.mirror:
        click.echo(f"  mirror:     {spec.mirror}")
    if spec.suites:
        click.echo(f"  suites:     {', '.join(spec.suites)}")
    shown = data.params if data is not None else spec.defaults  # the values this load used
    if shown:
        click.echo("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in shown.items()))
    if spec.citation:
        click.echo(f"  citation:   {spec.citation}")
    if data is None:
        click.echo(f"  offline:    unavailable: {avail.reason}")
        return
    click.echo(
        f"  offline:    yes, served by {data.source}"
        + (f" ({data.source_detail})" if data.source_detail else "")
    )
    click.echo(f"  shape:      {data.n_rows} rows x {data.n_features} features; {data.target_summary()}")
    if data.classes is not None:
        counts = data.y.value_counts().sort_index()
        shown = ", ".join(f"{data.classes[int(code)]}: {int(n)}" for code, n in counts.items())
        click.echo(
            f"  classes:    {shown}"
            if len(data.classes) <= 12
            else f"  classes:    {len(data.classes)} ({shown[:200]}...)"
        )
    types = sorted(set(data.feature_types.values()))
    counts_by_type = {t: sum(1 for v in data.feature_types.values() if v == t) for t in types}
    click.echo(
        "  features:   "
        + ", ".join(f"{n} {t}" for t, n in counts_by_type.items())
        + f"; first: {', '.join(map(str, data.X.columns[:6]))}"
    )
    per_column = data.X.isna().sum()
    per_column = per_column[per_column > 0]
    if len(per_column):
        listed = ", ".join(f"{name} {int(n)}" for name, n in per_column.items())
        click.echo(
            f"  missing:    {int(per_column.sum())} values in {len(per_column)} columns (kept; see "
            f"missing=drop-columns): {listed}"
        )
    click.echo(f"  split:      {_split_summary(data)}")
    click.echo(f"  checksum:   {data.checksum}")


@group.command(name="check")
@click.option("--suite", default=None, help="Only the tasks of this suite.")
def check_tasks(suite: str | None) -> None:
    """Load every task available offline; say for the others why not and how to fix it."""
    specs = list_specs(suite=suite)
    rows = [("task", "kind", "rows", "feat", "target", "source", "checksum", "train/val/test")]
    unavailable: list[tuple[TaskSpec, str]] = []
    real = 0
    with click.progressbar(specs, label="loading tasks", file=sys.stderr) as bar:
        for spec in bar:
            avail = availability(spec)
            if not avail.available:
                unavailable.append((spec, avail.brief or avail.reason))
                continue
            try:
                data = load_task(spec.name)
            except LiftbenchError as err:
                unavailable.append((spec, str(err)))
                continue
            real += spec.openml_id is not None or spec.source.endswith("-file")
            rows.append(
                (
                    spec.name,
                    spec.kind,
                    str(data.n_rows),
                    str(data.n_features),
                    data.target_summary(),
                    data.source,
                    data.checksum,
                    _split_summary(data),
                )
            )
    _echo_table(rows)
    if unavailable:
        click.echo(f"\n{len(unavailable)} tasks are not available offline:")
        width = max(len(spec.name) for spec, _ in unavailable)
        for spec, reason in unavailable:
            click.echo(f"  {spec.name.ljust(width)}  {reason}")
        click.echo(
            f"OpenML cache: {cache_root()} (set LIFTBENCH_OPENML_CACHE to use another); on a machine with network,"
            " `liftbench data fetch --suite lift14` (or --suite lift-extra) fills it."
        )
    click.echo(f"\n{len(rows) - 1} of {len(specs)} tasks loaded offline, {real} of them real datasets.")


def _split_summary(data: TaskData) -> str:
    split = make_split(data, seed=0)
    sizes = split.sizes()
    return f"{sizes['train']}/{sizes['val']}/{sizes['test']} ({split.protocol}, hash {split.hash[:8]})"


def _echo_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            click.echo("  ".join("-" * w for w in widths))
