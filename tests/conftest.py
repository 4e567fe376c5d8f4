"""Test-wide setup: no network, one thread, isolated caches.

Sockets may only reach loopback (W&B's local service, Ray's local cluster); anything else raises,
so a test that would touch the network fails instead of hanging or passing by luck.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):  # unix domain sockets
        return True
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not use the network (tried to connect to {address!r})")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_openml_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with an empty OpenML cache of its own unless it sets one."""
    monkeypatch.setenv("LIFTBENCH_OPENML_CACHE", str(tmp_path_factory.mktemp("openml-cache")))


@pytest.fixture(scope="session", autouse=True)
def _session_precision_decisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures that train (LIFT decides `precision: auto` by default) keep
    their decisions in the session's own folder, never in this machine's cache: a tiny model's decision,
    probed while the tests load the machine, is no decision for a user's runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIFTBENCH_PRECISION_CACHE", str(tmp_path_factory.mktemp("session-precision-decisions")))
        yield


@pytest.fixture(autouse=True)
def _isolated_precision_decisions(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test decides `precision: auto` afresh: no decision kept by another test or by the machine."""
    monkeypatch.setenv("LIFTBENCH_PRECISION_CACHE", str(tmp_path_factory.mktemp("precision-decisions")))


@pytest.fixture(scope="session", autouse=True)
def _machine_probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A dry-run probes this machine once per test session, into a cache of the session's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path_factory.mktemp("liftbench-cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


CORPUS_TEST = "test_bad_inputs.py::test_bad_input["


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`make test` states the size of the bad-input corpus (tests/test_bad_inputs.py) and how it fared."""
    outcomes: dict[str, str] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if CORPUS_TEST in getattr(report, "nodeid", ""):
                outcomes.setdefault(report.nodeid, outcome)
    if outcomes:
        counts = {o: sum(v == o for v in outcomes.values()) for o in ("passed", "failed", "skipped", "error")}
        detail = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        terminalreporter.write_line(f"bad-input corpus: {len(outcomes)} cases ({detail})")
