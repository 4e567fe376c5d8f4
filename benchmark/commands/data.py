"""`liftbench data`: fill, check and locate the OpenML dataset cache.

`fetch` is the only command that uses the network; loading a task never does. On a machine with no
network, fetch on one that has it and copy the cache folder over (or point LIFTBENCH_OPENML_CACHE at
a shared copy).
"""

from __future__ import annotations

import click

from tasks import openml_source
from tasks.errors import LiftbenchError
from tasks.registry import list_specs


@click.group(name="data")
def group() -> None:
    """The OpenML dataset cache: fetch datasets into it, verify them, show where it is."""


def _dataset_ids(ids: tuple[int, ...], suite: str | None) -> list[int]:
    """The ids given with --id, then the OpenML ids of the suite's tasks, without repeats."""
    wanted = list(ids)
    if suite is not None:
        wanted += [spec.openml_id for spec in list_specs(suite=suite) if spec.openml_id is not None]
    return list(dict.fromkeys(wanted))


@group.command("fetch")
@click.option("--id", "ids", type=int, multiple=True, help="OpenML dataset id (repeat for several).")
@click.option("--suite", default=None, help="Fetch the OpenML datasets of every task in this suite.")
@click.option(
    "--retries", type=click.IntRange(min=1), default=3, show_default=True, help="Tries per request."
)
def fetch_command(ids: tuple[int, ...], suite: str | None, retries: int) -> None:
    """Download datasets into the cache (needs the OpenML server); files already there are kept."""
    wanted = _dataset_ids(ids, suite)
    if not wanted:
        raise LiftbenchError(
            "nothing to fetch: pass --id DID (repeatable) or --suite NAME with OpenML tasks in it"
        )
    failed = []
    for position, did in enumerate(wanted, start=1):
        prefix = f"[{position}/{len(wanted)}] dataset {did}:"
        try:
            openml_source.fetch(did, retries=retries)
        except LiftbenchError as err:
            failed.append(did)
            click.echo(f"{prefix} FAILED {err}")
            continue
        record = openml_source.read_manifest()[str(did)]
        click.echo(
            f"{prefix} {record['name']} v{record['version']}, {record['n_rows']} rows, "
            f"{record['n_features']} features"
        )
    click.echo(f"cache: {openml_source.cache_root()}")
    if failed:
        raise LiftbenchError(
            f"{len(failed)} of {len(wanted)} datasets could not be fetched ({', '.join(map(str, failed))}); "
            "the lines above say why"
        )


@group.command("verify")
@click.option("--id", "ids", type=int, multiple=True, help="OpenML dataset id (repeat for several).")
@click.option("--suite", default=None, help="Verify the OpenML datasets of every task in this suite.")
@click.pass_context
def verify_command(ctx: click.Context, ids: tuple[int, ...], suite: str | None) -> None:
    """Check cached datasets (default: all in the cache): files, ARFF md5, parsing, table checksum.

    Exits with code 1 when any dataset fails.
    """
    wanted = _dataset_ids(ids, suite) if ids or suite else openml_source.cached_dataset_ids()
    if not wanted:
        click.echo(f"no datasets in the cache at {openml_source.cache_root()}")
        return
    results = [openml_source.verify(did) for did in wanted]
    for result in results:
        click.echo(f"{'OK  ' if result.ok else 'FAIL'} {result.did}: {result.message}")
    n_failed = sum(not r.ok for r in results)
    click.echo(f"{len(results) - n_failed} of {len(results)} datasets OK in {openml_source.cache_root()}")
    if n_failed:
        ctx.exit(1)


@group.command("where")
def where_command() -> None:
    """Print the cache root and the datasets it holds."""
    click.echo(f"cache root: {openml_source.cache_root()}")
    ids = openml_source.cached_dataset_ids()
    if not ids:
        click.echo("no datasets cached; `liftbench data fetch --id DID` fills it")
        return
    manifest = openml_source.read_manifest()
    for did in ids:
        description = openml_source.read_description(did) or {}
        name = f"{description.get('oml:name', '?')} v{description.get('oml:version', '?')}"
        missing = openml_source.missing_cache_files(did)
        state = f"incomplete, missing {', '.join(missing)}" if missing else "complete"
        record = manifest.get(str(did))
        fetched = f", fetched {record.get('fetched_at')}" if record else ""
        click.echo(f"{did:>8}  {name}  ({state}{fetched})")
