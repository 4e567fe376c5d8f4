"""`liftbench methods`: what can be benchmarked on a task, with its parameters, defaults and grids."""

from __future__ import annotations

import json
from typing import Any

import click

from baselines.classification import CLASSIFIERS
from baselines.regression import REGRESSORS
from baselines.tuning import Recipe
from benchmark.core.methods import MethodEntry, method_entries
from tasks.errors import LiftbenchError, did_you_mean
from tasks.spec import KINDS

GRIDS: dict[str, dict[str, Recipe]] = {"classification": CLASSIFIERS, "regression": REGRESSORS}


@click.group(name="methods")
def group() -> None:
    """The registered methods: baselines and LIFT."""


@group.command(name="list")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only methods for this task kind.")
@click.option("--verbose", "-v", is_flag=True, help="Every parameter with its default, and each grid.")
def list_methods(kind: str | None, verbose: bool) -> None:
    """One line per method: kinds, installed or not, its parameters; -v adds defaults and grids."""
    entries = [e for e in method_entries().values() if kind is None or kind in e.kinds]
    width = max(len(e.name) for e in entries)
    for entry in entries:
        installed = "" if entry.available() else f"  [needs {', '.join(entry.requires)}]"
        click.echo(f"{entry.name.ljust(width)}  {'/'.join(entry.kinds)}{installed}  {entry.description}")
        if verbose:
            _echo_details(entry, kind, indent=" " * (width + 2))
    click.echo(
        f"{len(entries)} methods; `liftbench methods show NAME` for parameters, defaults and grids; "
        "set them in a suite's `methods:` block or with `params:`"
    )


@group.command(name="show")
@click.argument("name")
def show_method(name: str) -> None:
    """One method: its kinds, every parameter with its default, and the grid it searches per kind."""
    entries = method_entries()
    if name not in entries:
        raise LiftbenchError(
            f"unknown method {name!r}{did_you_mean(name, entries)}; `liftbench methods list` shows them all"
        )
    entry = entries[name]
    click.echo(f"{entry.name}: {entry.description}")
    click.echo(f"  kinds:      {', '.join(entry.kinds)}")
    if entry.requires:
        state = "installed" if entry.available() else "NOT installed (`make setup` installs it)"
        click.echo(f"  needs:      {', '.join(entry.requires)}: {state}")
    _echo_details(entry, None, indent="  ")


def _echo_details(entry: MethodEntry, kind: str | None, indent: str) -> None:
    click.echo(
        f"{indent}parameters: " + (", ".join(f"{k}={_text(v)}" for k, v in entry.defaults.items()) or "none")
    )
    for grid_kind in entry.kinds:
        recipe = GRIDS.get(grid_kind, {}).get(entry.name)
        if recipe is None or (kind is not None and grid_kind != kind):
            continue
        grid = ", ".join(f"{key} {_text(list(values))}" for key, values in recipe.grid.items()) or "none"
        click.echo(f"{indent}grid ({grid_kind}): {grid}  (the paper's; `grid:` replaces it)")


def _text(value: Any) -> str:
    return json.dumps(value, default=str)
