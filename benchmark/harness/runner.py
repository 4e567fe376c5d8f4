"""Run a suite: execute each RunSpec not yet stored (`execute.execute_run`) and store it in one transaction.

Evaluation-set predictions are stored with the test predictions as splits `eval:<name>`.

A run whose hash is already stored (status ok) with the effective configuration this code would run
now (`benchmark.harness.effective`) is skipped, so a suite can be stopped at any moment and resumed
with nothing lost and nothing done twice. A stored run whose configuration differs (a changed method
default, an edited data file) is done again, and its old result kept as superseded, never pooled with
the new one. With `force` every run is done again, and a stored ok result is replaced only by a new
run that succeeds. Runs are executed in this process or in a pool of worker processes (`jobs > 1`);
only this process writes to the store and to W&B. A pool starts the runs of language-model methods
first (`longest_first`): they take minutes where a classical baseline takes seconds, so started last
they would leave the other processes idle at the end. Runners started on the same store (two
terminals, two machines) split the suite: each run is claimed before it is fitted (`claims`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from benchmark.core.methods import method_entries
from benchmark.core.runspec import RunSpec
from benchmark.harness.claims import RunQueue
from benchmark.harness.effective import config_hash, planned_config
from benchmark.harness.execute import RunResult, execute_run
from benchmark.harness.launchers.ray_launcher import run_with_ray
from benchmark.harness.provenance import process_started_at
from benchmark.harness.store import ResultStore
from benchmark.harness.wandb_mirror import WandbMirror
from tasks.errors import LiftbenchError

LAUNCHERS = ("local", "ray")


@dataclass
class SuitePlan:
    """Which runs of a suite are done now, and why the others are not."""

    todo: list[RunSpec]
    skipped: int  # stored ok with the configuration this code would run now
    stored_ok: set[str]  # hashes of the todo runs that have a stored ok result
    changed: set[str]  # ...whose stored configuration differs from what would run now: kept as superseded


def plan_suite(runs: Sequence[RunSpec], store: ResultStore, force: bool = False) -> SuitePlan:
    """Compare each run with the store: new, failed and changed runs are done (all of them with `force`).

    A stored ok run is compared by the hash of its effective configuration known before fitting
    (`planned_config`: parameters after defaults, data checksum, split hash).
    """
    stored = store.stored_configs([s.hash for s in runs])
    todo, stored_ok, changed = [], set(), set()
    for spec in runs:
        status, stored_config = stored.get(spec.hash, (None, None))
        if status == "ok":
            if stored_config != config_hash(planned_config(spec)):
                changed.add(spec.hash)
            elif not force:
                continue
            stored_ok.add(spec.hash)
        todo.append(spec)
    return SuitePlan(todo, len(runs) - len(todo), stored_ok, changed)


@dataclass
class SuiteSummary:
    total: int
    skipped: int  # already stored with the same effective configuration
    done: list[RunResult] = field(default_factory=list)
    interrupted: bool = False
    lost: int = 0  # runs a cluster launcher could not bring back; they run again next time
    redone: int = 0  # stored results whose effective configuration changed: done again, old kept superseded
    kept: int = 0  # forced reruns that failed: the stored ok result was kept
    elsewhere: int = 0  # runs another runner on the same store stored while this one ran

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.done if not r.ok]


def _init_worker() -> None:
    warnings.simplefilter("ignore")


@contextlib.contextmanager
def one_thread_workers() -> Iterator[None]:
    """OMP_NUM_THREADS=1 in this process's environment while it spawns workers (unless the user set it).

    A spawned worker imports numpy (the runner's own imports) before any initializer runs, and its
    BLAS reads OMP_NUM_THREADS then: set in the initializer, it came too late, and two workers on two
    cores each ran BLAS on two threads (a GP run took 33 s instead of 1.5 s beside another)."""
    given = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = given or "1"
    try:
        yield
    finally:
        if given is None:
            del os.environ["OMP_NUM_THREADS"]


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """The pool of `jobs` spawned worker processes (enter `one_thread_workers` while it is used)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker)


def run_suite(
    runs: Sequence[RunSpec],
    store: ResultStore,
    suite: str | None = None,
    jobs: int = 1,
    force: bool = False,
    mirror: WandbMirror | None = None,
    on_done: Callable[[RunResult, int, int], None] | None = None,
    launcher: str = "local",
    ray_options: Mapping[str, Any] | None = None,
    claim_options: Mapping[str, float] | None = None,
) -> SuiteSummary:
    """Execute the runs not yet stored as they would run now (all of them with `force`), storing each
    as it finishes (`plan_suite` decides; the module docstring says what happens to stored results).

    `launcher="local"` runs here (`jobs > 1`: a pool of processes); `"ray"` sends each run to a Ray
    cluster (`ray_options`: address, num_cpus, num_gpus, max_in_flight of `run_with_ray`). Either way
    only this process writes the store and W&B, and under a multi-process launch (Lightning DDP,
    srun) only global rank zero does. `on_done(result, finished, to_do)` is called after each run is
    stored. Ctrl-C stops after the runs already stored; they are kept, and the next call resumes.

    Each run is claimed in the store before it is fitted (`claims.RunQueue`; `claim_options`:
    heartbeat_s, stale_after_s, poll_s), so runners sharing a store split the suite; this one returns
    when every run is stored, by it or by another runner (`SuiteSummary.elsewhere`).
    """
    if launcher not in LAUNCHERS:
        raise LiftbenchError(f"unknown launcher {launcher!r}; use one of: {', '.join(LAUNCHERS)}")
    writer = is_global_rank_zero()
    plan = plan_suite(runs, store, force)
    todo = plan.todo
    summary = SuiteSummary(total=len(runs), skipped=plan.skipped, redone=len(plan.changed))
    # W&B's init/finish is mostly waiting on its service process: mirror in one background thread so
    # it overlaps with fitting. The mirror never raises; a W&B failure is a warning.
    mirroring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wandb-mirror") if mirror else None

    started_at = process_started_at()

    def record(result: RunResult) -> None:
        # When the command that ran it started: a suite's wall time, start-up included, reads off the store.
        result.record.provenance["runner_started_at"] = started_at
        run_hash = result.record.run_hash
        changed = run_hash in plan.changed
        if not result.ok and run_hash in plan.stored_ok and not changed:
            summary.kept += 1  # a forced rerun failed: the stored ok result stays
        elif writer:
            store.write_run(result.record, result.predictions, supersede=changed)
        if writer and mirroring is not None and result.ok:
            r = result.record
            mirroring.submit(
                mirror.log_run, r.spec, r.run_hash, suite, r.metrics, result.predictions, r.provenance
            )
        summary.done.append(result)
        if on_done is not None:
            on_done(result, len(summary.done), len(todo))

    order = longest_first(todo) if launcher == "local" and jobs > 1 else todo
    queue = RunQueue(order, store if writer else None, rerun=plan.stored_ok, **dict(claim_options or {}))
    try:
        if launcher == "ray":
            run_with_ray(queue, suite, record, **dict(ray_options or {}))
            summary.lost = len(todo) - len(summary.done) - queue.done_elsewhere
        elif jobs <= 1:
            _run_here(queue, suite, record)
        else:
            _run_in_pool(queue, suite, jobs, record)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        queue.close()
        summary.elsewhere = queue.done_elsewhere
        if mirroring is not None:
            mirroring.shutdown(wait=True)
    return summary


def is_global_rank_zero() -> bool:
    """False in the non-zero ranks of a multi-process launch (torchrun, Lightning DDP, srun), which
    run the same command: only rank zero may write results. Environment variables as Lightning reads
    them; no variable set means a single process."""
    for variable in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if variable in os.environ:
            return int(os.environ[variable]) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def longest_first(todo: Sequence[RunSpec]) -> list[RunSpec]:
    """The runs of methods that need a language model (transformers) first, each group in suite order."""
    entries = method_entries()

    def needs_lm(spec: RunSpec) -> bool:
        entry = entries.get(spec.method)
        return entry is not None and "transformers" in entry.requires

    return sorted(todo, key=lambda spec: not needs_lm(spec))


def _run_here(queue: RunQueue, suite: str | None, record: Callable[[RunResult], None]) -> None:
    while not queue.finished:
        spec = queue.next()
        if spec is None:
            queue.wait()  # the runs left are held by other runners
        else:
            record(execute_run(spec, suite))


def _run_in_pool(queue: RunQueue, suite: str | None, jobs: int, record: Callable[[RunResult], None]) -> None:
    """At most `jobs` runs in flight, each claimed just before it is submitted."""
    with one_thread_workers(), worker_pool(jobs) as pool:
        pending: set[Future[RunResult]] = set()
        try:
            while pending or not queue.finished:
                while len(pending) < jobs and (spec := queue.next()) is not None:
                    pending.add(pool.submit(execute_run, spec, suite))
                if not pending:
                    queue.wait()
                    continue
                finished, pending = wait(pending, timeout=queue.poll_timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    record(future.result())
        except BaseException:  # Ctrl-C, SIGTERM (the CLI raises it as KeyboardInterrupt), a failed store
            for future in pending:
                future.cancel()
            stop_workers(pool)
            raise


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers now: leaving the pool waits for the runs in flight, which went on for
    minutes after a SIGTERM reached only this process (Ctrl-C reaches the workers too). Their runs
    are not stored, and a later call does them again."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if callable(terminate):
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
