"""The W&B mirror: real offline runs read back from disk, nothing when disabled, warnings instead of errors."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmark.core.runspec import RunSpec
from benchmark.harness.wandb_mirror import MirrorWarning, WandbMirror, has_credentials, resolve_mode
from tasks.errors import LiftbenchError

SPEC = RunSpec(task="iris", method="logreg", split_seed=1, method_params={"C": 0.5})
METRICS = {"accuracy": 0.9, "invalid_rate": 0.0}
PREDICTIONS = pd.DataFrame({"row": [3, 7, 9], "y_true": [0, 1, 2], "y_pred": [0, 2, 2]})
PROVENANCE = {"git_commit": "abc123", "data_checksum": "0123456789abcdef"}


@pytest.fixture(scope="module", autouse=True)
def _shut_down_wandb() -> Iterator[None]:
    yield
    WandbMirror(mode="disabled").close()


@pytest.fixture(autouse=True)
def _offline_and_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test goes online, and wandb's caches and staging stay inside the test's folder."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home" / name.lower()))


def read_records(run_folder: Path) -> list[dict[str, Any]]:
    """The records of a run's .wandb log, decoded by wandb's own reader (`wandb leet inspect`)."""
    out = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_folder)],
        cwd=run_folder.parent,  # the CLI may write its debug log under ./wandb
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def log(mirror: WandbMirror, suite: str | None = "smoke") -> Path | None:
    return mirror.log_run(SPEC.to_dict(), SPEC.hash, suite, METRICS, PREDICTIONS, PROVENANCE)


def test_offline_run_holds_the_spec_metrics_and_predictions(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    mirror = WandbMirror(mode="offline", dir=tmp_path / "wb")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MirrorWarning)
        folder = log(mirror)
    assert "wandb" not in "".join(capfd.readouterr())  # silent: the runner's console stays readable
    assert folder is not None and folder.parent == tmp_path / "wb" / "wandb"
    assert folder.name.startswith("offline-run-")
    assert len(list(folder.glob("run-*.wandb"))) == 1
    # The provenance is the config's; W&B collects no copy of its own (a `pip freeze` a run).
    assert not (folder / "files" / "requirements.txt").exists()
    assert not (folder / "files" / "wandb-metadata.json").exists()

    records = read_records(folder)
    run = next(r["run"] for r in records if r["type"] == "run")
    config = run["config"]["update"]
    assert {key: config[key] for key in SPEC.to_dict()} == SPEC.to_dict()
    assert config["hash"] == SPEC.hash and config["provenance"] == PROVENANCE
    assert run["display_name"] == SPEC.label()
    assert (run["run_group"], run["job_type"], run["project"]) == ("smoke", "logreg", "liftbench")
    assert {"iris", "logreg", "suite=smoke"} <= set(run["tags"])
    summary: dict[str, Any] = {}
    for record in records:
        if record["type"] == "summary":
            summary.update(record["summary"].get("update", {}))
    assert {key: summary[key] for key in METRICS} == METRICS
    assert summary["predictions.nrows"] == len(PREDICTIONS)
    assert [r["exit"].get("exit_code", 0) for r in records if r["type"] == "exit"] == [0]

    table = json.loads((folder / "files" / summary["predictions.path"]).read_text())
    assert table["columns"] == list(PREDICTIONS.columns)
    assert table["data"] == PREDICTIONS.to_numpy().tolist()


def test_only_the_test_rows_become_a_wandb_table(tmp_path: Path) -> None:
    """Evaluation-set rows (a grid of 3,600 points) stay in the store; W&B gets the test split."""
    grid = pd.DataFrame({"row_index": range(50), "split": "eval:grid", "y_true": 0, "y_pred": 1})
    test = pd.DataFrame({"row_index": [4, 8], "split": "test", "y_true": [0, 1], "y_pred": [0, 0]})
    frame = pd.concat([grid.iloc[:20], test, grid.iloc[20:]], ignore_index=True)
    folder = WandbMirror(mode="offline", dir=tmp_path / "wb").log_run(
        SPEC.to_dict(), SPEC.hash, None, METRICS, frame, PROVENANCE
    )
    assert folder is not None
    summary: dict[str, Any] = {}
    for record in read_records(folder):
        if record["type"] == "summary":
            summary.update(record["summary"].get("update", {}))
    assert summary["predictions.nrows"] == 2
    table = json.loads((folder / "files" / summary["predictions.path"]).read_text())
    assert table["data"] == test.to_numpy().tolist()


def test_wandb_dir_is_used_when_no_dir_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "from-env"))
    (tmp_path / "from-env").mkdir()
    folder = WandbMirror(mode="offline").log_run(SPEC.to_dict(), SPEC.hash, None, METRICS, None, {})
    assert folder is not None and folder.parent == tmp_path / "from-env" / "wandb"


def test_disabled_writes_and_imports_nothing(tmp_path: Path) -> None:
    code = (
        "import sys, pandas as pd\n"
        "from benchmark.harness.wandb_mirror import WandbMirror\n"
        f"out = WandbMirror(mode='disabled', dir={str(tmp_path / 'wb')!r}).log_run("
        "{'task': 'iris', 'method': 'logreg'}, 'h', 's', {'accuracy': 1.0}, pd.DataFrame({'y': [1]}), {})\n"
        "print(out, 'wandb' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["None", "False"]
    assert not (tmp_path / "wb").exists()


def test_a_broken_wandb_warns_and_keeps_going(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    def broken_init(**kwargs: Any) -> None:
        raise RuntimeError("service crashed\nwith a second line")

    monkeypatch.setattr(wandb, "init", broken_init)
    with pytest.warns(MirrorWarning) as caught:
        assert log(WandbMirror(mode="offline", dir=tmp_path / "wb")) is None
    message = str(caught[0].message)
    assert "RuntimeError: service crashed" in message and SPEC.hash in message
    assert "\n" not in message


def test_a_failure_after_init_finishes_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    def broken_table(**kwargs: Any) -> None:
        raise ValueError("cannot build table")

    monkeypatch.setattr(wandb, "Table", broken_table)
    with pytest.warns(MirrorWarning, match="ValueError: cannot build table"):
        assert log(WandbMirror(mode="offline", dir=tmp_path / "wb")) is None
    (folder,) = (tmp_path / "wb" / "wandb").glob("offline-run-*")
    exits = [r["exit"].get("exit_code", 0) for r in read_records(folder) if r["type"] == "exit"]
    assert exits == [1]


def test_online_without_credentials_warns_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert not has_credentials()
    with pytest.warns(MirrorWarning, match="No API key configured"):
        assert log(WandbMirror(mode="online", dir=tmp_path / "wb")) is None


def test_mode_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_mode("disabled") == "disabled"
    assert resolve_mode(None) == "offline"  # WANDB_MODE=offline from the fixture
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert resolve_mode(None) == "offline"
    monkeypatch.delenv("WANDB_MODE")
    assert resolve_mode(None) == "offline"  # no credentials
    netrc.write_text("machine example.org login a password b\n")
    assert resolve_mode(None) == "offline"
    netrc.write_text("machine api.wandb.ai login user password secret\n")
    assert resolve_mode(None) == "online"
    netrc.unlink()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode(None) == "online"
    with pytest.raises(LiftbenchError, match="'onlin' is not a mode"):
        WandbMirror(mode="onlin")
