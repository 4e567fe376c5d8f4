"""The runner end to end: real suites, a real SQLite store, real subprocesses killed mid-suite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import threadpoolctl

from benchmark.cli import main
from benchmark.core.methods import FitInfo, MethodEntry, Predictions, register_method
from benchmark.core.rows import task_params_for
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.execute import execute_run
from benchmark.harness.runner import longest_first, one_thread_workers, run_suite, worker_pool
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError

REPO = Path(__file__).resolve().parent.parent


def _suite(tmp_path: Path, n_splits: int, name: str = "resume") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: {name}
            grid:
              tasks:
                - {{name: moons, params: {{n: 120}}}}
              methods: [majority, logreg, tree]
              seeds: [0]
              split_seeds: {list(range(n_splits))}
            """
        )
    )
    return path


def _cli(args: list[str]) -> subprocess.Popen:
    """The CLI in its own process group, so a SIGKILL can take it with its workers (and Ray's)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "RAY_AUTH_MODE": "disabled"}
    return subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _assert_consistent(store_path: Path) -> pd.DataFrame:
    """Every stored run is complete: integrity ok, one test prediction per test row, no duplicates."""
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = conn.execute(
            "SELECT COUNT(*) FROM predictions WHERE run_hash NOT IN (SELECT run_hash FROM runs)"
        ).fetchone()[0]
        assert orphans == 0
    store = ResultStore(store_path)
    runs = store.runs()
    assert runs["run_hash"].is_unique
    for run_hash in runs["run_hash"]:
        record = store.get_run(run_hash)
        assert len(store.predictions(run_hash)) == record.provenance["split_sizes"]["test"]
    return runs


def test_smoke_suite_runs_then_resumes_with_nothing_redone(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = tmp_path / "store.sqlite"
    assert main(["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled"]) == 0
    out = capsys.readouterr().out
    assert "6 runs done (0 failed), 0 were already stored" in out
    assert f"Results: {store}" in out
    assert "iris" in out and "logreg" in out  # the results table
    runs = _assert_consistent(store)
    assert len(runs) == 6 and set(runs["status"]) == {"ok"}
    first_created = dict(zip(runs["run_hash"], runs["created_at"], strict=True))

    assert main(["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled"]) == 0
    assert "0 runs done (0 failed), 6 were already stored" in capsys.readouterr().out
    again = ResultStore(store).runs()
    assert dict(zip(again["run_hash"], again["created_at"], strict=True)) == first_created


def test_dry_run_lists_stored_and_pending(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "store.sqlite"
    main(["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled", "--filter", "task=iris"])
    capsys.readouterr()
    assert main(["run", "--suite", "smoke", "--store", str(store), "--dry-run"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert sum(line.startswith("stored ") for line in lines) == 3
    assert sum(line.startswith("to run ") for line in lines) == 3
    assert "6 runs in suite smoke: 3 stored, 3 to run" in out


@pytest.mark.parametrize(
    "launch",
    [[], ["--jobs", "2"], ["--launcher", "ray", "--num-cpus", "1"]],
    ids=["one-process", "jobs-2", "ray"],
)
def test_sigkill_mid_suite_loses_nothing_and_resume_completes(tmp_path: Path, launch: list[str]) -> None:
    suite, store = _suite(tmp_path, n_splits=12), tmp_path / "store.sqlite"
    args = ["run", "--suite", str(suite), "--store", str(store), "--wandb", "disabled", *launch]
    proc = _cli(args)
    deadline = time.monotonic() + 180
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if store.exists():
            try:
                stored = len(ResultStore(store).runs())
            except (LiftbenchError, sqlite3.Error):
                stored = 0
            if stored >= 4:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the suite finished before it could be killed; make it longer"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _assert_consistent(store)
    assert 4 <= len(before) < 36

    proc = _cli(args[: len(args) - len(launch)])  # the plain runner resumes what any launcher left
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"{36 - len(before)} runs done (0 failed), {len(before)} were already stored" in out
    after = _assert_consistent(store)
    assert len(after) == 36
    kept = after.set_index("run_hash").loc[before["run_hash"], "created_at"]
    assert list(kept) == list(before["created_at"])  # the runs stored before the kill were not redone


def test_two_runners_on_one_store_do_not_corrupt_it(tmp_path: Path) -> None:
    suite, store = _suite(tmp_path, n_splits=5), tmp_path / "store.sqlite"
    args = ["run", "--suite", str(suite), "--store", str(store), "--wandb", "disabled"]
    procs = [_cli(args), _cli(args)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    runs = _assert_consistent(store)
    assert len(runs) == 15 and set(runs["status"]) == {"ok"}


def test_parallel_jobs_store_every_run(tmp_path: Path) -> None:
    suite, store = _suite(tmp_path, n_splits=2), tmp_path / "store.sqlite"
    assert (
        main(["run", "--suite", str(suite), "--store", str(store), "--jobs", "2", "--wandb", "disabled"]) == 0
    )
    assert len(_assert_consistent(store)) == 6


def test_pool_workers_run_blas_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spawned worker's BLAS reads OMP_NUM_THREADS when it imports numpy, before any initializer: the
    runner sets it while it spawns, and gives this process its environment back."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with one_thread_workers(), worker_pool(1) as pool:
        libraries = pool.submit(threadpoolctl.threadpool_info).result()
    assert "OMP_NUM_THREADS" not in os.environ
    blas = [lib["num_threads"] for lib in libraries if lib["user_api"] == "blas"]
    assert blas and set(blas) == {1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: bad\ngrid:\n  tasks: [iris]\n  methods: [logreg]\n  seeds: [zero]\n", "seeds"),
        ("name: bad\ngrid:\n  tasks: [iris]\n  methods: [logregg]\n", "logregg"),
        ("name: bad\ngrid:\n  tasks: [irs]\n  methods: [logreg]\n", "irs"),
        ("name: bad\ngrid:\n  tasks: [{name: moons, params: {n: many}}]\n  methods: [logreg]\n", "'n'"),
        ("name: bad\ngrid:\n  tasks: [linear]\n  methods: [logreg]\n", "does not do regression"),
        ("name: bad\ngrid: [unclosed\n", "bad.yaml"),
    ],
)
def test_bad_suites_exit_2_with_one_line_and_leave_the_store_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture, body: str, expected: str
) -> None:
    store = tmp_path / "store.sqlite"
    main(["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled"])
    before = ResultStore(store).runs()
    capsys.readouterr()
    suite = tmp_path / "bad.yaml"
    suite.write_text(body)
    assert main(["run", "--suite", str(suite), "--store", str(store), "--wandb", "disabled"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("liftbench: error:")
    assert expected in err
    pd.testing.assert_frame_equal(ResultStore(store).runs(), before)


def test_wandb_offline_mirror_through_the_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)
    store = tmp_path / "out" / "store.sqlite"
    code = main(
        ["run", "--suite", "smoke", "--store", str(store), "--wandb", "offline", "--filter", "task=iris"]
    )
    assert code == 0
    runs = sorted((tmp_path / "out" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 3
    assert all(list(run.glob("run-*.wandb")) for run in runs)


_failures: dict[str, int] = {}


class _Exploding:
    name = "exploding"

    def fit(self, data):  # noqa: ANN001, ANN201
        raise RuntimeError("the learner blew up")

    def predict(self, X):  # noqa: ANN001, ANN201
        raise AssertionError("unreachable")


class _Constant:
    name = "constant-one"

    def fit(self, data):  # noqa: ANN001, ANN201
        return FitInfo(selected={"value": 1})

    def predict(self, X):  # noqa: ANN001, ANN201
        return Predictions(y_pred=np.ones(len(X), dtype=int))


register_method(MethodEntry("test-exploding", lambda **_: _Exploding(), ("classification",)))
register_method(MethodEntry("test-constant", lambda **_: _Constant(), ("classification",)))


def test_a_crashing_method_is_stored_as_failed_and_retried_on_resume(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store.sqlite")
    runs = [RunSpec(task="iris", method="test-exploding"), RunSpec(task="iris", method="test-constant")]
    summary = run_suite(check_runs(runs), store, suite="t")
    assert [r.record.status for r in summary.done] == ["failed", "ok"]
    failed = store.get_run(runs[0].hash)
    assert failed.error == "RuntimeError: the learner blew up"
    assert "Traceback" in failed.provenance["traceback"]
    assert store.get_run(runs[1].hash).metrics["accuracy"] == pytest.approx(1 / 3, abs=0.01)
    again = run_suite(runs, store, suite="t")
    assert again.skipped == 1 and [r.spec for r in again.done] == [runs[0]]


def test_generated_tasks_draw_new_data_per_split_seed_unless_seeded() -> None:
    a = execute_run(RunSpec(task="moons", task_params={"n": 100}, method="majority", split_seed=0))
    b = execute_run(RunSpec(task="moons", task_params={"n": 100}, method="majority", split_seed=1))
    assert a.record.provenance["data_checksum"] != b.record.provenance["data_checksum"]
    fixed = [
        execute_run(RunSpec(task="moons", task_params={"n": 100, "seed": 7}, method="majority", split_seed=s))
        for s in (0, 1)
    ]
    assert fixed[0].record.provenance["data_checksum"] == fixed[1].record.provenance["data_checksum"]
    assert task_params_for(RunSpec(task="iris", method="majority", split_seed=3)) == {}


def test_train_size_uses_a_nested_subset() -> None:
    small = execute_run(RunSpec(task="iris", method="logreg", train_size=12))
    assert small.record.provenance["split_sizes"]["train"] == 12
    full = execute_run(RunSpec(task="iris", method="logreg"))
    assert full.record.provenance["split_sizes"]["test"] == small.record.provenance["split_sizes"]["test"]


def test_provenance_records_what_reproduces_the_run() -> None:
    prov = execute_run(RunSpec(task="iris", method="logreg")).record.provenance
    for key in ("data_checksum", "split_hash", "versions", "git", "device", "fit_seconds", "predict_seconds"):
        assert key in prov
    assert prov["data_source"] in ("sklearn-mirror", "openml-cache")
    assert prov["versions"]["scikit-learn"]


def test_results_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "store.sqlite"
    main(["run", "--suite", "smoke", "--store", str(store), "--wandb", "disabled"])
    capsys.readouterr()
    assert main(["results", "list", "--store", str(store), "--task", "iris"]) == 0
    listing = capsys.readouterr().out
    assert "3 runs in" in listing and "accuracy=" in listing
    run_hash = listing.splitlines()[1].split()[0]  # the first run under the first experiment
    assert main(["results", "show", run_hash, "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert run_hash in shown and "split_hash" in shown and "y_pred" in shown
    assert main(["results", "compare", "--metric", "balanced_accuracy", "--store", str(store)]) == 0
    assert "moons" in capsys.readouterr().out
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"runs.{suffix}"
        assert main(["results", "export", str(out), "--store", str(store)]) == 0
        frame = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert len(frame) == 6 and "metric.accuracy" in frame.columns
    assert main(["results", "list", "--store", str(tmp_path / "missing.sqlite")]) == 2


@pytest.mark.parametrize(
    ("env", "writes"),
    [
        ({}, True),
        ({"RANK": "1"}, False),
        ({"RANK": "0"}, True),
        ({"SLURM_PROCID": "2"}, False),
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
        ({"LOCAL_RANK": "1"}, False),
    ],
)
def test_only_global_rank_zero_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], writes: bool
) -> None:
    for variable in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK", "LOCAL_RANK", "NODE_RANK"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    store = ResultStore(tmp_path / "store.sqlite")
    summary = run_suite([RunSpec(task="iris", method="majority")], store)
    assert len(summary.done) == 1
    assert len(store.runs()) == (1 if writes else 0)


def test_unknown_launcher_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(LiftbenchError, match="unknown launcher 'slurm'"):
        run_suite([], ResultStore(tmp_path / "s.sqlite"), launcher="slurm")


def test_a_pool_starts_the_language_model_runs_first() -> None:
    """LIFT runs take minutes and baselines seconds: started last, they would leave a process idle."""
    runs = [
        RunSpec(task="iris", method="majority"),
        RunSpec(task="iris", method="lift", model="tiny-gpt2"),
        RunSpec(task="iris", method="logreg"),
        RunSpec(task="wine", method="lift", model="tiny-gpt2"),
    ]
    assert [(r.task, r.method) for r in longest_first(runs)] == [
        ("iris", "lift"),
        ("wine", "lift"),
        ("iris", "majority"),
        ("iris", "logreg"),
    ]
