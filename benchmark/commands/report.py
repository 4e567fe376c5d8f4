"""`liftbench report`: every table and figure of the paper's analyses, regenerated from the results store."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.report import build_report, run_command
from benchmark.commands import command_store
from benchmark.harness.store import DEFAULT_STORE_PATH
from tasks.errors import LiftbenchError

DEFAULT_REPORT_DIR = Path("results/report")


@click.command(name="report")
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_STORE_PATH,
    show_default=True,
    help="The results store (SQLite) to read; nothing is refitted.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_REPORT_DIR,
    show_default=True,
    help="Folder for report.md, the figures (PDF, PNG) and the tables (Markdown, LaTeX).",
)
@click.option(
    "--wandb",
    "wandb_mode",
    type=click.Choice(["online", "offline", "disabled"]),
    default="disabled",
    show_default=True,
    help="Also log every table and figure to one W&B run (job type 'report').",
)
@click.option("--wandb-project", default="liftbench", show_default=True, help="W&B project.")
@click.option("--wandb-entity", default=None, help="W&B entity (team or user).")
def command(
    store_path: Path, out_dir: Path, wandb_mode: str, wandb_project: str, wandb_entity: str | None
) -> None:
    """Build the report: main tables, decision boundaries, sample complexity, robustness, calibration,
    prompt and pretraining ablations, statistics; studies without results are listed with the command
    that produces them."""
    if not store_path.is_file():
        raise LiftbenchError(
            f"results store {store_path} does not exist; `liftbench run --suite study-accuracy` creates it,"
            " or name another file with --store"
        )
    store = command_store(store_path)
    report = build_report(
        store, out_dir, wandb_mode=wandb_mode, wandb_project=wandb_project, wandb_entity=wandb_entity
    )
    figures = sum(a.kind == "figure" for a in report.artifacts)
    tables = sum(a.kind == "table" for a in report.artifacts)
    click.echo(f"{report.n_runs} runs read from {store.path}: {figures} figures and {tables} tables built")
    for study in report.studies:
        for item in study.missing:
            click.echo(f"missing  {study.title}: {item.what}\n         {run_command(item.suite, store)}")
    if report.wandb_dir is not None:
        click.echo(f"W&B ({wandb_mode}) run: {report.wandb_dir}")
    click.echo(f"index: {report.index}")
