"""`liftbench run`: expand a suite, run what is not stored yet, and show the results."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from tqdm import tqdm

from benchmark.commands import command_store
from benchmark.commands.results_table import echo_suite_tables
from benchmark.core.methods import method_entries
from benchmark.core.metrics import HEADLINE_METRIC
from benchmark.core.runspec import RunSpec
from benchmark.estimate.blocks import SuiteBlock, suite_blocks
from benchmark.harness.checks import check_runs
from benchmark.harness.cost import Throughput, estimate_cost
from benchmark.harness.execute import RunResult, method_params_for
from benchmark.harness.runner import LAUNCHERS, SuiteSummary, plan_suite, run_suite
from benchmark.harness.store import DEFAULT_STORE_PATH, ResultStore
from benchmark.harness.suites import Suite, filter_runs, load_suite, validate_names
from benchmark.harness.suites.overrides import apply_overrides, parse_override, with_row_limit
from benchmark.harness.suites.shards import parse_shard, shard_runs
from benchmark.harness.wandb_mirror import WandbMirror
from benchmark.lift.lm.availability import check_model_here
from tasks.registry import all_specs


@click.command(name="run")
@click.option(
    "--suite", "suite_ref", required=True, metavar="NAME|PATH", help="A shipped suite name or a YAML file."
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_STORE_PATH,
    show_default=True,
    help="The results store (SQLite).",
)
@click.option(
    "--filter",
    "filter_expr",
    default=None,
    metavar="EXPR",
    help="Only matching runs, e.g. 'task=iris method=logreg|svm seed=0'.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="METHOD.KEY=VALUE",
    help="Change a parameter of every run of a method, e.g. --set lift.model=tiny-gpt2 --set lift.epochs=1;"
    " the changed runs are other runs (other hashes).",
)
@click.option(
    "--limit-rows",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Cap every split and evaluation set at N rows, stratified (a smoke run; recorded in each run).",
)
@click.option(
    "--shard",
    "shard_text",
    default=None,
    metavar="I/N",
    help="Run only shard I of N (every N-th run), e.g. one task of a SLURM array; merge the stores after.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (local launcher).",
)
@click.option(
    "--launcher",
    type=click.Choice(LAUNCHERS),
    default="local",
    show_default=True,
    help="Run here, or send each run to a Ray cluster.",
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster address ('auto' on a node of a running cluster); default: a local cluster.",
)
@click.option(
    "--num-cpus", type=click.FloatRange(min=0), default=1.0, show_default=True, help="CPUs per run (ray)."
)
@click.option(
    "--num-gpus", type=click.FloatRange(min=0), default=0.0, show_default=True, help="GPUs per run (ray)."
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(min=1),
    default=None,
    help="Runs submitted at once (ray; default 2x cluster CPUs).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the runs and which are stored, and estimate the wall time of the runs to run on this"
    " machine (per suite block and in total, for --jobs) from a probe of it, cached; run nothing.",
)
@click.option(
    "--reprobe",
    is_flag=True,
    help="With --dry-run: measure this machine again instead of reading its cached probe.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rerun runs that are already stored; a stored result is replaced only by a run that succeeds.",
)
@click.option(
    "--wandb",
    "wandb_mode",
    type=click.Choice(["online", "offline", "disabled"]),
    default=None,
    help="Mirror runs to W&B (default: online with credentials, else offline).",
)
@click.option("--wandb-project", default="liftbench", show_default=True, help="W&B project.")
@click.option("--wandb-entity", default=None, help="W&B entity (team or user).")
def command(
    suite_ref: str,
    store_path: Path,
    filter_expr: str | None,
    overrides: tuple[str, ...],
    limit_rows: int | None,
    shard_text: str | None,
    jobs: int,
    launcher: str,
    address: str | None,
    num_cpus: float,
    num_gpus: float,
    max_in_flight: int | None,
    dry_run: bool,
    reprobe: bool,
    force: bool,
    wandb_mode: str | None,
    wandb_project: str,
    wandb_entity: str | None,
) -> None:
    """Run a benchmark suite; stored runs are skipped, so an interrupted suite resumes.

    Exit status: 0 when every run succeeded, 1 when a run failed or was lost, 2 for a user error
    (nothing is run), 130 when interrupted (Ctrl-C or SIGTERM).
    """
    suite, runs, scope, blocks = _selected_runs(suite_ref, filter_expr, overrides, limit_rows, shard_text)
    store = command_store(store_path)
    if dry_run:
        _print_plan(runs, store, force, scope, blocks, jobs, reprobe)
        return
    store.check_writable()
    _check_models_here(runs)
    # W&B's local files live beside the store unless WANDB_DIR says otherwise.
    wandb_dir = None if os.environ.get("WANDB_DIR") else store.path.parent / "wandb"
    mirror = WandbMirror(wandb_mode, project=wandb_project, entity=wandb_entity, dir=wandb_dir)
    click.echo(f"{scope}: {len(runs)} runs; store {store.path}; W&B {mirror.mode}", err=True)
    bar = tqdm(unit="run", file=sys.stderr, dynamic_ncols=True)

    def on_done(result: RunResult, finished: int, to_do: int) -> None:
        bar.total = to_do
        bar.update(1)
        bar.write(_run_line(result), file=sys.stderr)

    ray_options = {
        "address": address,
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "max_in_flight": max_in_flight,
    }
    try:
        with sigterm_as_interrupt():
            summary = run_suite(
                runs,
                store,
                suite=suite.name,
                jobs=jobs,
                force=force,
                mirror=mirror,
                on_done=on_done,
                launcher=launcher,
                ray_options=ray_options,
            )
    finally:
        bar.close()
        mirror.close()
    echo_suite_tables(store, [r.hash for r in runs])
    _print_summary(summary, store, mirror)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's kill, `timeout`) stops the suite as Ctrl-C does: the runs stored are kept,
    the workers end, the claims are released and the summary says how to resume."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding caller): its own handling stands
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _selected_runs(
    suite_ref: str,
    filter_expr: str | None,
    overrides: tuple[str, ...],
    limit_rows: int | None,
    shard_text: str | None,
) -> tuple[Suite, list[RunSpec], str, dict[str, SuiteBlock]]:
    """The suite, the runs this invocation does (filtered, overridden, row-limited, checked, sharded),
    how to name them, and the suite block each run comes from."""
    suite = load_suite(suite_ref)
    validate_names(suite, [s.name for s in all_specs()], method_entries())
    shard = parse_shard(shard_text) if shard_text is not None else None
    changes = [parse_override(text) for text in overrides]
    runs = suite.expand()
    if filter_expr:
        runs = filter_runs(runs, filter_expr, source=f"suite {suite.name}")
    defaults = {name: entry.defaults for name, entry in method_entries().items()}

    def change(specs: list[RunSpec]) -> list[RunSpec]:
        return with_row_limit(apply_overrides(specs, changes, defaults), limit_rows)

    runs = check_runs(change(runs), where=f"suite file {suite.path}")
    in_suite = len(runs)
    if shard is not None:
        runs = shard_runs(runs, shard)
    scope = f"suite {suite.name}" + (f", shard {shard} ({len(runs)} of {in_suite} runs)" if shard else "")
    return suite, runs, scope, suite_blocks(suite, change)


def _check_models_here(runs: list[RunSpec]) -> None:
    """Every model the runs name can be loaded on this machine, before the first run is fitted."""
    entries = method_entries()
    models = set()
    for spec in runs:
        params = {**entries[spec.method].defaults, **method_params_for(spec)}
        if isinstance(params.get("model"), str):
            models.add(params["model"])
    for model in sorted(models):
        check_model_here(model)


def _print_plan(
    runs: list[RunSpec],
    store: ResultStore,
    force: bool,
    scope: str,
    blocks: dict[str, SuiteBlock],
    jobs: int,
    reprobe: bool,
) -> None:
    """--dry-run: each run's state in the store, the counts, the GPU cost estimate (paper suites) and
    the wall time of the runs to run on this machine (its probe, measured once and cached)."""
    plan = plan_suite(runs, store, force)
    todo = {spec.hash for spec in plan.todo}
    for spec in runs:
        state = "changed" if spec.hash in plan.changed else "to run " if spec.hash in todo else "stored "
        click.echo(f"{state} {spec.hash}  {spec.label()}")
    click.echo(
        f"{len(runs)} runs in {scope}: {plan.skipped} stored, {len(todo)} to run"
        f" ({len(plan.changed)} of them stored with another configuration) (store {store.path})"
    )
    throughput = Throughput()
    click.echo(estimate_cost(runs, throughput).summary(throughput))
    if plan.todo:
        # Imported here: the estimate loads transformers and Lightning, seconds that every other use
        # of `run` would wait for before its first run starts.
        from benchmark.estimate.plan import estimate_runs, summary_lines

        estimate, probe = estimate_runs(
            plan.todo, blocks, jobs, reprobe, progress=lambda line: click.echo(line, err=True)
        )
        for line in summary_lines(estimate, probe):
            click.echo(line)


def _print_summary(summary: SuiteSummary, store: ResultStore, mirror: WandbMirror) -> None:
    """What was done and where it is; exit 1 when a run failed or was lost, 130 when interrupted."""
    failed = summary.failed
    click.echo(
        f"\n{len(summary.done)} runs done ({len(failed)} failed), {summary.skipped} were already stored"
        f" with the same configuration, {summary.redone} redone because their stored configuration"
        f" differs from what this code runs (old results kept as superseded)"
        + (f", {summary.elsewhere} were done by another runner" if summary.elsewhere else "")
        + f". Results: {store.path}"
        + (
            f"; W&B {mirror.mode} runs under {(mirror.dir or Path('.')) / 'wandb'}"
            if mirror.mode != "disabled"
            else ""
        )
    )
    if failed:
        click.echo("failed runs (see `liftbench results show HASH`):", err=True)
        for result in failed:
            click.echo(f"  {result.record.run_hash}  {result.spec.label()}: {result.record.error}", err=True)
    if summary.kept:
        click.echo(
            f"{summary.kept} forced reruns failed; their stored ok results are kept (not replaced)", err=True
        )
    if summary.lost:
        click.echo(
            f"{summary.lost} runs did not come back from the cluster (warnings above); run again to redo them",
            err=True,
        )
    if summary.interrupted:
        click.echo("interrupted: the runs above are stored; run the same command again to resume", err=True)
        raise SystemExit(130)
    if failed or summary.lost:
        raise click.exceptions.Exit(1)


def _run_line(result: RunResult) -> str:
    record = result.record
    if not result.ok:
        return f"FAILED {record.run_hash}  {result.spec.label()}: {record.error}"
    key = HEADLINE_METRIC[record.kind]
    value = record.metrics.get(key)
    timing = record.provenance.get("fit_seconds", 0.0) + record.provenance.get("predict_seconds", 0.0)
    return f"ok     {record.run_hash}  {result.spec.label()}  {key}={value:.4f}  ({timing:.1f}s)"
