"""The `liftbench` subcommands (click), one module per command group."""

from __future__ import annotations

from pathlib import Path

import click

from benchmark.harness.store import ResultStore


def command_store(path: Path) -> ResultStore:
    """The results store of a command, closed when the command ends (a store left open holds its
    connection until garbage collection; a program that calls several commands reopens its files)."""
    store = ResultStore(path)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)
    return store
