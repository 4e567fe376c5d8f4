"""How much slower each run goes when `--jobs N` workers run at once on this machine (for `profile`).

A run timed alone is not a run timed beside N - 1 others: the workers share the cores with each other,
with the runner's own process and with whatever else the machine runs, and share its memory
bandwidth. The probe times a fixed piece of work, small tree fits (Python and numpy, like the
baselines) and products of an LM's shapes (torch), first alone (in the probing process, at one thread), then in N workers
started together (spawned processes of one thread, as the runner's pool makes them, held at a
barrier until all are ready); the slowdown is the mean time of the N over the time alone (at least 1).
It measures the machine's load of that moment too, as every probe does.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from multiprocessing.synchronize import Barrier

import numpy as np
import torch
from sklearn.tree import DecisionTreeClassifier

from tasks.errors import LiftbenchError

REPEATS = 12  # about 0.5 s of work alone on a 2-core machine of 76 GFLOP/s
PRODUCT = (256, 576)  # a batch of LIFT tokens through SmolLM2's hidden width
WAIT_S = 120  # for the spawned workers' imports and work, at most


def parallel_work() -> float:
    """Seconds of the fixed piece of work (module docstring) in this process."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rows, width = PRODUCT
    a, w = torch.randn(rows, width), torch.randn(width, width)
    start = time.perf_counter()
    for _ in range(REPEATS):
        DecisionTreeClassifier(max_depth=8, random_state=0).fit(X, y)
        for _ in range(8):
            a = torch.tanh(a @ w / width**0.5)
    return time.perf_counter() - start


def _worker(barrier: Barrier, results: multiprocessing.Queue) -> None:
    torch.set_num_threads(1)
    parallel_work()  # warm, as the parent is: first calls allocate
    barrier.wait()
    results.put(parallel_work())


def _spawned(count: int) -> list[float]:
    """`parallel_work` in `count` spawned one-thread workers started together: each one's seconds."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    environment = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    os.environ["OMP_NUM_THREADS"] = "1"  # the children's BLAS read it when they import numpy
    try:
        workers = [context.Process(target=_worker, args=(barrier, results)) for _ in range(count)]
        for worker in workers:
            worker.start()
        try:
            seconds = [results.get(timeout=WAIT_S) for _ in workers]
        except queue.Empty:
            raise LiftbenchError(
                f"{count} probe workers did not finish within {WAIT_S} s (exit codes "
                f"{[w.exitcode for w in workers]}); the estimate takes each run as fast as alone"
            ) from None
        finally:
            for worker in workers:
                worker.join(timeout=5)
                if worker.is_alive():
                    worker.terminate()
    finally:
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return seconds


def probe_parallel(jobs: int) -> float:
    """The slowdown of a run among `jobs` workers against this process alone at one thread (as the
    probe runs for `--jobs` > 1; module docstring)."""
    parallel_work()  # warm: first calls allocate
    alone = parallel_work()
    together = _spawned(jobs)
    return max(float(np.mean(together)) / alone, 1.0)
