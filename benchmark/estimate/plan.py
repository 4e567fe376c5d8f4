"""The estimate of a list of runs on this machine, and the lines `liftbench run --dry-run` prints."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from benchmark.core.methods import method_entries
from benchmark.core.runspec import RunSpec
from benchmark.estimate.blocks import SuiteBlock
from benchmark.estimate.precisions import run_precisions
from benchmark.estimate.probe import ProbeResult, machine_profile, run_threads, threads_of_a_run
from benchmark.estimate.wall_time import SuiteEstimate, estimate_suite, is_lm, run_params
from benchmark.estimate.workload import COUNTED, Workload, workload


def workloads_of(runs: Sequence[RunSpec]) -> dict[str, Workload]:
    """Run hash -> its workload; runs that share rows and (for LMs) tokenization are counted once."""
    entries = method_entries()
    shared: dict[tuple[str, ...], Workload] = {}
    out = {}
    for spec in runs:
        params = run_params(spec, entries[spec.method])
        key = (spec.task, spec.task_params.short(), str(spec.split_seed), spec.split_protocol)
        key += (str(spec.train_size), str(spec.row_limit), ",".join(e.short() for e in spec.evaluations))
        if is_lm(params):
            key += tuple(
                str(params.get(name)) for name in ("model", "serializer", "serializer_options", "separator")
            )
        if key not in shared:
            shared[key] = workload(spec, params)
        out[spec.hash] = shared[key]
    return out


def estimate_runs(
    runs: Sequence[RunSpec],
    blocks: Mapping[str, SuiteBlock],
    jobs: int,
    reprobe: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    threads: int | None = None,
    precision: str | None = None,
) -> tuple[SuiteEstimate, ProbeResult]:
    """The estimate of `runs` with `jobs` workers from this machine's probe (cached; measured first
    where the cache lacks what the runs need), at `threads` per run (default: as `--jobs` gives).
    With `precision`, every fine-tuning LM run is estimated in it instead of in its own (the bench's
    what-if of a CPU without native bf16)."""
    workloads = workloads_of(runs)
    threads = threads or run_threads(jobs)
    precisions = plan_precisions(runs, workloads, jobs, threads)
    if precision is not None:
        precisions = dict.fromkeys(precisions, precision)
    probe = machine_profile(runs, jobs, reprobe, progress, precisions, threads)
    return estimate_suite(runs, workloads, blocks, probe.profile, jobs, precisions), probe


def plan_precisions(
    runs: Sequence[RunSpec], workloads: Mapping[str, Workload], jobs: int, threads: int | None = None
) -> dict[str, str]:
    """`run_precisions` at the threads a run will have (`run_threads(jobs)` unless given): `precision:
    auto` decisions are kept per thread count, and a `--jobs` worker reads the one-thread decision."""
    with threads_of_a_run(threads or run_threads(jobs)):
        return run_precisions(runs, workloads)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def summary_lines(estimate: SuiteEstimate, probe: ProbeResult | None) -> list[str]:
    """Per block, then the total: what the runs to run will take here (module docstring of `wall_time`)."""
    left_out = sum(estimate.not_estimated.values())
    which = (
        f"{len(estimate.runs)} of the {len(estimate.runs) + left_out}"
        if left_out
        else f"the {len(estimate.runs)}"
    )
    lines = [f"estimated time on this machine for {which} runs to run, per suite block:"]
    for block in estimate.blocks:
        lm = f", {block.lm_runs} LM" if block.lm_runs else ""
        lines.append(
            f"  block {block.block.index:>2} ({block.block.label}): {block.runs} runs{lm}, {duration(block.seconds)}"
        )
    counted = ", ".join(
        f"{n} by {'the model tokenizer' if how == COUNTED else how}"
        for how, n in sorted(estimate.counted_with.items())
    )
    workers = "in one process"
    if estimate.jobs > 1:
        workers = f"in {estimate.jobs} workers, each run {estimate.slowdown:.2f}x as slow beside the others as alone"
    lines.append(
        f"estimated wall time with --jobs {estimate.jobs}: {duration(estimate.wall_s)}"
        f" ({duration(estimate.seconds)} of runs {workers})"
        + (f"; LM prompt tokens counted {counted}" if counted else "")
    )
    if probe is not None:
        for entry, why in sorted(probe.unavailable.items()):
            if entry.startswith("parallel/"):
                lines.append(f"not measured: {entry}: {why}")
    for entry, runs in sorted(estimate.not_estimated.items()):
        why = probe.unavailable.get(entry, "not probed") if probe is not None else "not in the profile"
        lines.append(f"not estimated: {runs} runs of {entry}: {why}")
    if probe is not None:
        busy = probe.busy_entries()
        if busy:
            worst = max(busy.values())
            lines.append(
                f"probe: other processes used up to {worst:.0%} of this machine's CPUs while it measured"
                f" {', '.join(sorted(busy))}: those rates are low and this estimate long;"
                " --reprobe on a quiet machine measures again"
            )
        lines.append(probe.describe())
    return lines
