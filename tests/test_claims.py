"""Runners that share a store: claims in a real SQLite store, real runner processes, real SIGKILLs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmark.core.runspec import RunSpec
from benchmark.harness.claims import STALE_AFTER_S, Claimant, RunQueue, claim_run
from benchmark.harness.execute import execute_run
from benchmark.harness.store import ResultStore

REPO = Path(__file__).resolve().parent.parent
N_RUNS = 12
SINCE = "2000-01-01T00:00:00.000+00:00"


def _claim(store: ResultStore, run_hash: str, me: Claimant, **kwargs: object) -> str:
    return claim_run(store, run_hash, me, stored_since=SINCE, rerun_stored=False, **kwargs)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_holder_keeps_its_run_and_a_dead_one_loses_it(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    alive = Claimant(pid=os.getppid())  # another live process on this host
    me = Claimant()
    assert _claim(store, "r1", alive) == "claimed"
    assert _claim(store, "r1", me) == "held"
    assert _claim(store, "r1", alive) == "claimed"  # a holder may claim its own run again

    gone = Claimant(pid=_dead_pid())
    assert _claim(store, "r2", gone) == "claimed"
    assert _claim(store, "r2", me) == "claimed"  # same host, pid gone: taken over at once

    far = Claimant(host="another-host", pid=os.getppid())
    assert _claim(store, "r3", far) == "claimed"
    assert _claim(store, "r3", me) == "held"  # another host: only its heartbeat tells
    time.sleep(0.3)
    assert _claim(store, "r3", me, stale_after_s=0.2) == "claimed"


def test_a_stored_run_is_not_claimed_and_storing_drops_the_claim(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    result = execute_run(RunSpec(task="iris", method="majority"))
    me = Claimant()
    assert _claim(store, result.spec.hash, me) == "claimed"
    store.write_run(result.record, result.predictions)
    with store.write_transaction() as conn:
        assert conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    assert _claim(store, result.spec.hash, Claimant()) == "stored"
    forced = claim_run(store, result.spec.hash, Claimant(), stored_since="2999", rerun_stored=True)
    assert forced == "claimed"  # --force reruns a run stored before this runner started


def test_heartbeat_keeps_a_claim_fresh_and_close_releases_it(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    spec = RunSpec(task="iris", method="majority")
    queue = RunQueue([spec], store, heartbeat_s=0.05)
    assert queue.next() == spec
    time.sleep(0.5)
    other = Claimant(host="another-host")
    assert _claim(store, spec.hash, other, stale_after_s=0.3) == "held"  # beats every 0.05 s
    queue.close()
    assert _claim(store, spec.hash, other, stale_after_s=0.3) == "claimed"


def _suite(tmp_path: Path, seconds: float = 0.3) -> Path:
    path = tmp_path / "shared.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: shared
            grid:
              tasks: [{{name: moons, params: {{n: 60}}}}]
              methods: [{{name: test-sleepy, params: {{seconds: {seconds}}}}}]
              split_seeds: {list(range(N_RUNS))}
            """
        )
    )
    return path


def _runner(tmp_path: Path, *extra: str) -> subprocess.Popen:
    """A runner process with the test's sleepy method, in its own process group (killed as a whole)."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "WANDB_MODE": "disabled",
        "PYTHONPATH": str(REPO),
        "LIFTBENCH_TEST_FIT_LOG": str(tmp_path / "fits.log"),
    }
    args = ["run", "--suite", str(tmp_path / "shared.yaml"), "--store", str(tmp_path / "s.sqlite"), *extra]
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "suite_runner.py"), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _fits(tmp_path: Path) -> list[tuple[str, str]]:
    """(run fingerprint, pid) of every finished fit."""
    log = tmp_path / "fits.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(" ".join(line.split()[:2]), line.split()[2]) for line in lines]


def _wait_for_fits(tmp_path: Path, at_least: int, pids: set[int] = frozenset()) -> None:
    """Until `at_least` fits are done in all (and by each of `pids`, if given)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fits = _fits(tmp_path)
        by_pid = Counter(int(pid) for _, pid in fits)
        if len(fits) >= at_least and all(by_pid[pid] >= 1 for pid in pids):
            return
        time.sleep(0.02)
    raise AssertionError(f"no {at_least} fits (by {pids}) in time: {_fits(tmp_path)}")


def _stored_ok(tmp_path: Path) -> int:
    return len(ResultStore(tmp_path / "s.sqlite").runs(status="ok"))


def test_two_runners_split_the_suite_and_fit_each_run_once(tmp_path: Path) -> None:
    _suite(tmp_path)
    runners = [_runner(tmp_path), _runner(tmp_path)]
    outs = [proc.communicate(timeout=300) for proc in runners]
    assert [proc.returncode for proc in runners] == [0, 0], [err for _, err in outs]
    fits = _fits(tmp_path)
    assert len(fits) == N_RUNS and len({run for run, _ in fits}) == N_RUNS  # each run fitted once
    assert {int(pid) for _, pid in fits} == {proc.pid for proc in runners}  # by both runners
    assert _stored_ok(tmp_path) == N_RUNS
    for out, _ in outs:
        assert "were done by another runner" in out


@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]], ids=["one-process", "jobs-2"])
def test_a_runner_killed_mid_run_leaves_its_runs_to_the_other(tmp_path: Path, jobs: list[str]) -> None:
    _suite(tmp_path)
    killed, survivor = _runner(tmp_path, *jobs), _runner(tmp_path)
    _wait_for_fits(tmp_path, at_least=2)  # both runners work; each fit sleeps 0.3 s
    assert killed.poll() is None, "the runner finished before it could be killed; make the suite longer"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    _, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    assert _stored_ok(tmp_path) == N_RUNS  # including the runs the killed runner held
    fitted = Counter(run for run, _ in _fits(tmp_path))
    # Every run fitted; at most the killed runner's runs in flight (one per job) a second time.
    assert len(fitted) == N_RUNS and sum(fitted.values()) <= N_RUNS + max(1, len(jobs))


def test_runs_held_by_killed_runners_go_to_a_third(tmp_path: Path) -> None:
    _suite(tmp_path, seconds=1.0)
    first, second = _runner(tmp_path), _runner(tmp_path)
    _wait_for_fits(tmp_path, at_least=2, pids={first.pid, second.pid})
    for proc in (first, second):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _stored_ok(tmp_path)
    with ResultStore(tmp_path / "s.sqlite").write_transaction() as conn:
        held = conn.execute("SELECT COUNT(*) FROM claims WHERE host = ?", (socket.gethostname(),)).fetchone()[
            0
        ]
    assert before < N_RUNS and held >= 1  # the dead runners' claims are still there
    start = time.monotonic()
    third = _runner(tmp_path)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert f"{N_RUNS - before} runs done (0 failed), {before} were already stored" in out
    assert _stored_ok(tmp_path) == N_RUNS
    # Taken over at once (their pids are gone on this host), not after their heartbeats went stale.
    assert time.monotonic() - start < STALE_AFTER_S
