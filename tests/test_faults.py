"""Faults injected into real parts: a full disk under SQLite, a store cut short, a W&B service that dies
mid-suite. Each must cost no stored result and reach the user as one line."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import psutil
import pytest
import wandb

from benchmark.cli import main
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.runner import run_suite
from benchmark.harness.store import ResultStore
from benchmark.harness.store import result_store as store_module
from benchmark.harness.wandb_mirror import MirrorWarning, WandbMirror

OLD_STORE = Path(__file__).parent / "data" / "store-3a5a9a7.sqlite"


def _dump(path: Path) -> list[str]:
    """Everything the store holds, as SQL (independent of WAL checkpoints)."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("liftbench: error:")]


@pytest.fixture
def iris_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "s.sqlite"
    assert (
        main(
            ["run", "--suite", "smoke", "--store", str(path), "--filter", "task=iris", "--wandb", "disabled"]
        )
        == 0
    )
    capsys.readouterr()
    return path


def test_a_full_disk_leaves_the_store_as_it_was(
    iris_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite's own limit on the file's pages gives the real SQLITE_FULL a full disk gives."""
    before = _dump(iris_store)
    real_connect = sqlite3.connect

    def connect_to_a_full_disk(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store_module.sqlite3, "connect", connect_to_a_full_disk)
    code = main(["run", "--suite", "smoke", "--store", str(iris_store), "--wandb", "disabled"])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = _error_lines(err)
    assert "Traceback" not in err
    assert f"cannot write to results store {iris_store} (database or disk is full)" in line
    assert "free some disk space and run the same command again" in line
    monkeypatch.undo()
    assert _dump(iris_store) == before


def test_a_truncated_store_is_refused_at_open_naming_its_backup(
    iris_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(iris_store) as conn:  # everything into the main file, as a copied store is
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = iris_store.read_bytes()
    iris_store.write_bytes(data[: len(data) // 2])
    assert main(["results", "list", "--store", str(iris_store)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"results store {iris_store} is truncated ({len(data) // 2} of {len(data)} bytes)" in line
    assert "there is no backup of it" in line

    backup = iris_store.with_name(iris_store.name + ".bak")
    backup.write_bytes(data)
    assert main(["run", "--suite", "smoke", "--store", str(iris_store)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"its backup from before the last schema change is {backup}" in line


def test_an_old_store_is_backed_up_before_it_is_migrated(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_STORE, old)  # schema version 1, before effective configurations and claims
    before = _dump(old)
    assert not any("CREATE TABLE claims" in line for line in before)
    assert main(["run", "--suite", "smoke", "--store", str(old), "--wandb", "disabled"]) == 0
    assert _dump(old.with_name("old.sqlite.bak")) == before
    assert any("CREATE TABLE claims" in line for line in _dump(old))


def test_a_wandb_service_dying_mid_suite_costs_no_local_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_init = wandb.init
    calls = []

    def dies_on_the_second_run(**kwargs: Any) -> Any:
        calls.append(kwargs["name"])
        if len(calls) == 2:
            raise ConnectionResetError("wandb service went away")
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", dies_on_the_second_run)
    runs = check_runs([RunSpec(task="iris", method=m) for m in ("majority", "logreg", "tree")])
    store = ResultStore(tmp_path / "s.sqlite")
    mirror = WandbMirror("offline", dir=tmp_path / "wb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_suite(runs, store, suite="t", mirror=mirror)
    mirror.close()
    assert len(summary.done) == 3 and not summary.failed
    assert store.stored_hashes([r.hash for r in runs], status="ok") == {r.hash for r in runs}
    mirrored = [w for w in caught if issubclass(w.category, MirrorWarning)]
    assert len(mirrored) == 1 and "ConnectionResetError: wandb service went away" in str(mirrored[0].message)
    assert len(list((tmp_path / "wb" / "wandb").glob("offline-run-*"))) == 2


def test_sigterm_stops_the_suite_and_its_workers_and_releases_their_claims(tmp_path: Path) -> None:
    """A scheduler's kill (SIGTERM to `liftbench run` alone) ended the runner's loop but left both
    `--jobs` workers fitting their runs for minutes. Now the workers end at once, the command says how
    to resume, the runs in flight are neither stored nor left claimed, and the next call does them."""
    suite = tmp_path / "slow.yaml"
    suite.write_text(
        "name: slow\nblocks:\n"
        "  - {tasks: [iris], methods: [majority]}\n"
        "  - tasks: [iris]\n"
        "    methods: [{name: lift, params: {model: tiny-gpt2, epochs: 400, precision: 32-true}}]\n"
        "    split_seeds: [0, 1]\n"
    )
    store = tmp_path / "s.sqlite"
    command = [sys.executable, "-m", "benchmark.cli", "run", "--suite", str(suite), "--store", str(store)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    runner = subprocess.Popen(
        [*command, "--jobs", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        parent = psutil.Process(runner.pid)
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and not (len(workers) == 2 and _fitting_both(store)):
            time.sleep(0.5)
            workers = [p for p in parent.children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2 and _fitting_both(store), "the two LIFT runs never started"
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130
    assert "interrupted: the runs above are stored; run the same command again to resume" in err
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers still running: {[p.pid for p in alive]}"
    assert ResultStore(store).runs().empty  # LIFT runs first: both were in flight, majority not begun
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # released for a resume


def _fitting_both(store: Path) -> bool:
    """Both LIFT runs claimed (`claims` rows) while nothing of LIFT is stored yet."""
    if not store.exists():
        return False
    try:
        with sqlite3.connect(store) as conn:
            claims = conn.execute("SELECT run_hash FROM claims").fetchall()
    except sqlite3.OperationalError:  # the store's tables are being made
        return False
    return len(claims) >= 2
