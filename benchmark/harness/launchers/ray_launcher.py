"""Fan a suite's independent runs out over a Ray cluster; the driver alone stores the results.

Each RunSpec becomes one Ray task that calls `benchmark.harness.execute.execute_run` on a worker and returns
its `RunResult` (spec, record and predictions frame, pickled through Ray's object store). The driver
collects results with `ray.wait` as they finish and hands each to `record`, which writes it to the
store in one transaction, exactly as the local launcher does. The driver claims each run in the store
just before submitting it (`benchmark.harness.claims.RunQueue`) and has already skipped the hashes
that are stored, so an interrupted suite resumes the same way, and two drivers on one store split it.

Pointing it at a cluster: start Ray on the nodes (`ray start --head` on one, `ray start
--address=HEAD:6379` on the others), then on the head node run
`liftbench run --suite lift14 --launcher ray --address auto`. With no address a local Ray instance
is started for the suite and shut down after it (unless `RAY_ADDRESS` names a cluster; Ray reads
it). `ray://HOST:10001` connects through Ray Client from another machine (needs `ray[client]`).
When Ray is already initialised in this process (a notebook, a test) that connection is used as it
is and left running.

Why the driver writes and workers do not share the store: the store is one SQLite file, and SQLite's
locking is not reliable over NFS and other network file systems, where concurrent writers can corrupt
the database. Results travel back to the driver instead; a run's predictions are a few thousand rows.

Workers run with `OMP_NUM_THREADS` set to the CPUs each task reserves and W&B disabled (the driver
mirrors each stored run). A task that Ray cannot finish (its worker or node died, it ran out of
memory, it raised past `execute_run`, including a `LiftbenchError` such as an impossible training
size) is reported as one warning naming the run; the other runs go on, and the lost run is not stored,
so the next invocation runs it again. A learner that crashes inside `execute_run` is not lost: it
comes back as a stored 'failed' record, as with the local launcher.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from benchmark.core.runspec import RunSpec
from benchmark.harness.claims import RunQueue
from benchmark.harness.execute import RunResult, execute_run
from tasks.errors import LiftbenchError

RAY_MISSING = "the ray launcher needs ray: pip install 'liftbench[ray]' (make setup installs it)"
IN_FLIGHT_PER_CLUSTER_CPU = 2  # default bound on submitted, unfinished tasks, per CPU of the cluster


def run_with_ray(
    todo: Sequence[RunSpec] | RunQueue,
    suite: str | None,
    record: Callable[[RunResult], None],
    *,
    address: str | None = None,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    max_in_flight: int | None = None,
    log_to_driver: bool = False,
) -> None:
    """Execute `todo` as Ray tasks and call `record(result)` in this process as each one finishes.

    `todo` is a list of runs, or the runner's `RunQueue`, which claims each run as it is submitted.

    `address`: None starts a local Ray instance, "auto" joins the cluster running on this node,
    "ray://host:port" connects through Ray Client; ignored when Ray is already initialised.
    `num_cpus` and `num_gpus` are what each run reserves on the cluster (a GPU run gets
    `CUDA_VISIBLE_DEVICES` set by Ray). At most `max_in_flight` tasks are submitted and unfinished at
    once (default: twice the cluster's CPUs), so a suite of thousands of runs is not submitted all at
    once. `log_to_driver` shows the workers' output here. Ctrl-C cancels the unfinished tasks and
    re-raises; the runs already recorded are kept. Only a Ray instance started here is shut down.
    """
    ray = _import_ray()
    if num_cpus < 0 or num_gpus < 0:
        raise LiftbenchError(
            f"ray launcher: num_cpus={num_cpus} and num_gpus={num_gpus} must be >= 0 (what each run reserves)"
        )
    if max_in_flight is not None and max_in_flight < 1:
        raise LiftbenchError(f"ray launcher: max_in_flight={max_in_flight} must be a whole number >= 1")
    queue = todo if isinstance(todo, RunQueue) else RunQueue(todo)
    if queue.finished:
        return
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=address,
                ignore_reinit_error=True,
                include_dashboard=False,
                log_to_driver=log_to_driver,
            )
        except ConnectionError as err:
            raise LiftbenchError(
                f"ray launcher: no Ray cluster at address {address!r} ({err}); start one with "
                "`ray start --head`, or leave the address out to start a local one"
            ) from None
    try:
        limit = max_in_flight or max(
            1, IN_FLIGHT_PER_CLUSTER_CPU * int(ray.cluster_resources().get("CPU", 1))
        )
        _fan_out(ray, queue, suite, record, num_cpus=num_cpus, num_gpus=num_gpus, limit=limit)
    finally:
        if started:
            ray.shutdown()


CANCEL_SETTLE_S = 10.0


def _worker_env(num_cpus: float) -> dict[str, str]:
    """Environment of the worker processes: one BLAS/OpenMP thread per reserved CPU, W&B off."""
    return {"OMP_NUM_THREADS": str(max(1, math.floor(num_cpus))), "WANDB_MODE": "disabled"}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise LiftbenchError(RAY_MISSING) from None
    return ray


def _fan_out(
    ray: Any,
    queue: RunQueue,
    suite: str | None,
    record: Callable[[RunResult], None],
    *,
    num_cpus: float,
    num_gpus: float,
    limit: int,
) -> None:
    """Keep up to `limit` tasks submitted; record each result as it arrives."""
    execute = ray.remote(execute_run).options(
        num_cpus=num_cpus, num_gpus=num_gpus, runtime_env={"env_vars": _worker_env(num_cpus)}
    )
    in_flight: dict[Any, RunSpec] = {}
    try:
        while in_flight or not queue.finished:
            while len(in_flight) < limit and (spec := queue.next()) is not None:
                in_flight[execute.remote(spec, suite)] = spec
            if not in_flight:
                queue.wait()  # the runs left are held by other runners
                continue
            finished, _ = ray.wait(list(in_flight), num_returns=1, timeout=queue.poll_timeout)
            for ref in finished:
                spec = in_flight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as err:
                    warnings.warn(_lost_run_message(ray, spec, err), stacklevel=3)
                    continue
                record(result)
    except BaseException:  # Ctrl-C, or `record` failed: stop the cluster's work on this suite
        for ref in in_flight:
            ray.cancel(ref)
        # Let the cancellations land, so the next suite does not meet workers still being interrupted.
        if in_flight:
            ray.wait(list(in_flight), num_returns=len(in_flight), timeout=CANCEL_SETTLE_S)
        raise


def _lost_run_message(ray: Any, spec: RunSpec, err: Exception) -> str:
    """One line: which run was lost and why (the task's own exception where it raised one)."""
    cause = err.cause if isinstance(err, ray.exceptions.RayTaskError) and err.cause is not None else err
    if isinstance(cause, LiftbenchError):
        return f"ray launcher: run {spec.label()} is not stored: {cause}"
    lines = str(cause).strip().splitlines()
    why = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return f"ray launcher: run {spec.label()} is not stored ({why}); the next invocation runs it again"
