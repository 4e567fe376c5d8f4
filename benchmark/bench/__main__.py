"""`python -m benchmark.bench [--quick] [--out DIR] [--only training,prediction,...] [--store PATH]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from transformers.utils import logging as transformers_logging

from benchmark.bench.measure import Progress
from benchmark.bench.report import terminal_summary, write_reports
from benchmark.bench.sections import FULL, QUICK, SECTIONS, parse_sections, run_bench
from benchmark.harness.store import DEFAULT_STORE_PATH
from benchmark.lift.module import quiet_lightning
from tasks.errors import LiftbenchError


@click.command()
@click.option("--quick", is_flag=True, help="Tiny models and sizes: seconds, for tests.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/bench"),
    show_default=True,
    help="Where bench.json and bench.md go.",
)
@click.option(
    "--only", default=None, metavar="SECTIONS", help=f"Some of: {','.join(SECTIONS)} (default: all)."
)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STORE_PATH,
    show_default=True,
    help="A results store with a default-suite run to summarise per method (skipped if missing).",
)
def command(quick: bool, out_dir: Path, only: str | None, store: Path) -> None:
    """Measure training and prediction throughput, prompt sizes and suite cost; write bench.json and bench.md."""
    sections = parse_sections(only)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the plain loop's model loss warns that it picks the default
    try:
        with quiet_lightning():
            results = run_bench(QUICK if quick else FULL, sections, store, Progress())
    finally:
        transformers_logging.set_verbosity(verbosity)
    json_path, markdown_path = write_reports(results, out_dir)
    click.echo(terminal_summary(results))
    click.echo(f"bench took {results['bench']['seconds']:.0f} s; results: {json_path} and {markdown_path}")
    over = results["bench"]["mfu_over_one"]
    if over:  # executed FLOPs cannot run faster than the machine's best rate: a count or a peak is wrong
        raise click.ClickException(f"MFU above 1, so a FLOP count or a peak is wrong: {'; '.join(over)}")


def main(argv: list[str] | None = None) -> int:
    try:
        command.main(args=argv, prog_name="python -m benchmark.bench", standalone_mode=False)
    except LiftbenchError as err:
        click.echo(f"bench: error: {err}", err=True)
        return 2
    except click.ClickException as err:
        err.show()
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
