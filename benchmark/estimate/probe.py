"""This machine's profile for a list of runs: read from the cache, measuring only what it lacks.

Everything is measured at the threads a run will get (one in a `--jobs` worker, else this process's),
and the cache is kept per thread count. The first dry-run on a machine measures the harness, every baseline its runs use and every LM
(model and fine-tuning mode), with a line on stderr per step, and caches the result (`cache`); later
dry-runs read it, and probe only methods or models the cache does not hold yet. `reprobe` measures
everything the runs need afresh (other entries of the cache are kept).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from benchmark.core.methods import method_entries
from benchmark.core.other_load import WARN_SHARE, OtherLoad
from benchmark.core.runspec import RunSpec
from benchmark.estimate.cache import cache_path, machine_key, read_profile, write_profile
from benchmark.estimate.probe_baselines import probe_baseline, probe_harness
from benchmark.estimate.probe_lm import probe_lm
from benchmark.estimate.probe_parallel import probe_parallel
from benchmark.estimate.profile import MachineProfile, baseline_key, parallel_key
from benchmark.estimate.wall_time import is_lm, lm_args, lm_key, run_params
from benchmark.lift.module import quiet_lightning
from tasks.errors import LiftbenchError
from tasks.registry import get_spec

HARNESS, BASELINE, LM, PARALLEL = "harness", "baseline", "lm", "parallel"


@dataclass(frozen=True)
class ProbeResult:
    profile: MachineProfile
    path: Path
    measured: tuple[str, ...]  # entries measured by this call
    seconds: float  # spent measuring in this call
    unavailable: dict[str, str] = field(default_factory=dict)  # entry -> why it cannot be measured here
    used: tuple[str, ...] = ()  # the entries the runs need (the harness included)

    def busy_entries(self) -> dict[str, float]:
        """The used entries measured while other processes took at least WARN_SHARE of the CPUs."""
        load = self.profile.other_load
        return {name: load[name] for name in self.used if load.get(name, 0.0) >= WARN_SHARE}

    def describe(self) -> str:
        if self.measured:
            return (
                f"machine probe: measured {len(self.measured)} entries in {self.seconds:.0f} s,"
                f" cached in {self.path} (--reprobe measures again)"
            )
        dates = sorted(self.profile.probed_at.values())
        when = f"{dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else "?"
        return f"machine probe: from the cached probe of {when}, {self.path} (--reprobe measures again)"


@dataclass(frozen=True)
class Entry:
    """One profile entry to measure: the harness, a baseline on a task kind, or an LM in a mode."""

    name: str
    what: str  # HARNESS, BASELINE or LM
    args: tuple[str | None, ...] = ()

    def measure(self, profile: MachineProfile) -> None:
        if self.what == HARNESS:
            profile.harness = probe_harness()
        elif self.what == PARALLEL:
            profile.parallel[self.name] = probe_parallel(int(str(self.args[0])))
        elif self.what == LM:
            profile.models[self.name] = probe_lm(*self.args)
        else:
            profile.baselines[self.name] = probe_baseline(*self.args)


def needed_entries(runs: Sequence[RunSpec], precisions: Mapping[str, str] | None = None) -> list[Entry]:
    """Every method and model the runs use, as profile entries (an LM's in the precision each run
    trains in, `precisions`)."""
    entries = method_entries()
    needed: dict[str, Entry] = {}
    for spec in runs:
        params = run_params(spec, entries[spec.method])
        if is_lm(params):
            precision = (precisions or {}).get(spec.hash)
            name = lm_key(params, precision)
            needed.setdefault(name, Entry(name, LM, lm_args(params, precision)))
        else:
            kind = get_spec(spec.task).kind
            name = baseline_key(kind, spec.method)
            needed.setdefault(name, Entry(name, BASELINE, (kind, spec.method)))
    return [needed[name] for name in sorted(needed)]


def run_threads(jobs: int) -> int:
    """The threads a run gets: one in a `--jobs` worker (the runner sets OMP_NUM_THREADS=1 there), this
    process's own when the runs are done in it."""
    return 1 if jobs > 1 else torch.get_num_threads()


@contextlib.contextmanager
def threads_of_a_run(threads: int) -> Iterator[None]:
    """torch and the BLAS libraries (numpy, scikit-learn) at `threads` threads while probing."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


def machine_profile(
    runs: Sequence[RunSpec],
    jobs: int = 1,
    reprobe: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    precisions: Mapping[str, str] | None = None,
    threads: int | None = None,
) -> ProbeResult:
    """The profile the runs need with `jobs` workers (module docstring), at `threads` per run (default:
    `run_threads(jobs)`); the cache file is rewritten when anything was measured."""
    threads = threads or run_threads(jobs)
    key = machine_key(threads)
    profile = read_profile(key) or MachineProfile(key=key)
    held = set() if reprobe else {*profile.baselines, *profile.models, *profile.parallel}
    needed = needed_entries(runs, precisions)
    if jobs > 1:
        needed.append(Entry(parallel_key(jobs), PARALLEL, (str(jobs),)))
    missing = [entry for entry in needed if entry.name not in held]
    if reprobe or profile.harness is None:
        missing.insert(0, Entry(HARNESS, HARNESS))
    used = (HARNESS, *(entry.name for entry in needed))
    if not missing:
        return ProbeResult(profile, cache_path(key), (), 0.0, used=used)
    started, unavailable = time.perf_counter(), {}
    progress(
        f"probing this machine once ({len(missing)} entries: {', '.join(e.name for e in missing)});"
        " later dry-runs read the cache"
    )
    with warnings.catch_warnings(), quiet_lightning(), threads_of_a_run(threads):
        warnings.simplefilter("ignore")  # convergence warnings of the probe's fits say nothing here
        for entry in missing:
            start, others = time.perf_counter(), OtherLoad()
            try:
                entry.measure(profile)
            except LiftbenchError as err:  # a model this machine cannot load: its runs are not estimated
                unavailable[entry.name] = str(err)
                progress(f"probe: {entry.name} cannot be measured here: {err}")
                continue
            profile.probed_at[entry.name] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            share = profile.other_load[entry.name] = others.share()
            busy = f" (other processes used {share:.0%} of the CPUs meanwhile)" if share >= WARN_SHARE else ""
            progress(f"probe: {entry.name} in {time.perf_counter() - start:.1f} s{busy}")
    spent = time.perf_counter() - started
    profile.probe_seconds += spent
    path = write_profile(profile)
    progress(f"probe: done in {spent:.0f} s, cached in {path}")
    measured = tuple(e.name for e in missing if e.name not in unavailable)
    return ProbeResult(profile, path, measured, spent, unavailable, used)
