"""The Ray launcher on a real local Ray cluster (one for the whole file), with a real SQLite store."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import ray

from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import RunResult, execute_run
from benchmark.harness.launchers import run_with_ray
from benchmark.harness.store import ResultStore, RunRecord
from tasks.errors import LiftbenchError

SUITE = "ray-test"


def _specs(methods: tuple[str, ...] = ("majority", "logreg", "tree"), splits: tuple[int, ...] = (0, 1)):
    return [
        RunSpec(task="moons", task_params={"n": 100}, method=method, split_seed=split)
        for method in methods
        for split in splits
    ]


class _Recorder:
    """Writes each result to the store as the runner's driver does, and keeps it for the test."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self.results: list[RunResult] = []

    def __call__(self, result: RunResult) -> None:
        self.store.write_run(result.record, result.predictions)
        self.results.append(result)


class _Spy:
    """Wraps a ray function in the driver and keeps the arguments of every call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls: list[tuple[Any, ...]] = []
        real = getattr(ray, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(ray, name, spy)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_AUTH_MODE", "disabled")  # a loopback test cluster; no token in ~/.ray
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


def test_missing_ray_is_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(
        LiftbenchError, match=re.escape("pip install 'liftbench[ray]' (make setup installs it)")
    ):
        run_with_ray(_specs()[:1], SUITE, lambda result: None)


@pytest.mark.parametrize(
    ("options", "problem"),
    [({"max_in_flight": 0}, "max_in_flight=0"), ({"num_gpus": -1.0}, "num_gpus=-1.0")],
)
def test_bad_options_are_user_errors(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(LiftbenchError, match=re.escape(problem)):
        run_with_ray(_specs()[:1], SUITE, lambda result: None, **options)


def test_suite_fans_out_and_matches_the_local_launcher(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _specs()
    store = ResultStore(tmp_path / "store.sqlite")
    recorder = _Recorder(store)
    waits = _Spy(monkeypatch, "wait")

    run_with_ray(specs, SUITE, recorder)

    assert ray.is_initialized()  # not started by the launcher, so not shut down by it
    assert sorted(r.spec.hash for r in recorder.results) == sorted(s.hash for s in specs)
    assert store.stored_hashes([s.hash for s in specs], status="ok") == {s.hash for s in specs}
    # Default bound: twice the cluster's 2 CPUs, and all 6 runs could not be submitted at once.
    assert max(len(args[0]) for args in waits.calls) == 4
    _assert_ran_on_ray_workers([r.record for r in recorder.results])
    for result in recorder.results:
        local = execute_run(result.spec, SUITE)
        stored = store.get_run(result.spec.hash)
        assert stored.suite == SUITE
        np.testing.assert_equal(stored.metrics, local.record.metrics)
        pd.testing.assert_frame_equal(result.predictions, local.predictions)
        assert len(store.predictions(result.spec.hash)) == stored.provenance["split_sizes"]["test"]


def test_one_in_flight_with_two_cpus_per_run(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _specs(methods=("logreg",))
    store = ResultStore(tmp_path / "store.sqlite")
    recorder = _Recorder(store)
    waits = _Spy(monkeypatch, "wait")

    run_with_ray(specs, SUITE, recorder, num_cpus=2.0, max_in_flight=1)

    assert [len(args[0]) for args in waits.calls] == [1, 1]
    assert store.stored_hashes([s.hash for s in specs], status="ok") == {s.hash for s in specs}
    # The runs ran on Ray workers with the launcher's environment (this process has OMP_NUM_THREADS=1).
    assert {r.record.provenance["device"]["omp_num_threads"] for r in recorder.results} == {"2"}


def test_a_run_that_raises_on_its_worker_is_reported_and_the_others_are_stored(
    cluster: None, tmp_path: Path
) -> None:
    good = _specs(methods=("majority",))
    impossible = RunSpec(task="moons", task_params={"n": 100}, method="majority", train_size=1000)
    store = ResultStore(tmp_path / "store.sqlite")

    with pytest.warns(UserWarning, match=re.escape(impossible.label())) as caught:
        run_with_ray([good[0], impossible, good[1]], SUITE, _Recorder(store))

    (message,) = [str(w.message) for w in caught if impossible.label() in str(w.message)]
    assert "training-set size 1000" in message and "\n" not in message
    assert store.stored_hashes([s.hash for s in [*good, impossible]]) == {s.hash for s in good}


def test_interrupt_cancels_the_unfinished_runs_and_reraises(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _specs()
    cancels = _Spy(monkeypatch, "cancel")

    def interrupt(result: RunResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_with_ray(specs, SUITE, interrupt)

    assert len(cancels.calls) == 3  # four submitted (the default bound), one finished
    # The cluster is still usable afterwards.
    store = ResultStore(tmp_path / "store.sqlite")
    run_with_ray(specs[:1], SUITE, _Recorder(store))
    assert store.stored_hashes([specs[0].hash], status="ok") == {specs[0].hash}


def test_cli_ray_launcher_runs_a_suite_and_resumes(
    cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmark.cli import main

    store = tmp_path / "store.sqlite"
    args = ["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled", "--launcher", "ray"]
    assert main([*args, "--filter", "task=iris"]) == 0
    assert "3 runs done (0 failed), 0 were already stored" in capsys.readouterr().out
    assert main(args) == 0
    assert "3 runs done (0 failed), 3 were already stored" in capsys.readouterr().out
    stored = ResultStore(store)
    assert len(stored.runs(status="ok")) == 6
    _assert_ran_on_ray_workers([stored.get_run(h) for h in stored.runs()["run_hash"]])
    # --num-cpus reaches the workers (one OpenMP thread per reserved CPU): the options are passed on.
    assert main([*args, "--force", "--num-cpus", "2", "--max-in-flight", "1", "--filter", "method=tree"]) == 0
    assert {r.provenance["device"]["omp_num_threads"] for r in _records(stored, method="tree")} == {"2"}


def _records(store: ResultStore, **filters: Any) -> list[RunRecord]:
    return [store.get_run(run_hash) for run_hash in store.runs(**filters)["run_hash"]]


def _assert_ran_on_ray_workers(records: list[RunRecord]) -> None:
    """Each run executed in a Ray worker process, not in this (the driver's) process."""
    for record in records:
        where = record.provenance["executed_by"]
        assert where["pid"] != os.getpid() and where["host"] == socket.gethostname()
        assert where["ray"]["node_id"] == ray.get_runtime_context().get_node_id()
        assert where["ray"]["worker_id"] != ray.get_runtime_context().get_worker_id()
