"""What every result records about the machine and code that produced it."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import resource
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

_LIBRARIES = (
    "liftbench",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "xgboost",
    "xgboost-cpu",
    "torch",
    "transformers",
    "peft",
    "pytorch-lightning",
    "openml",
)


@functools.cache
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@functools.cache
def git_commit() -> dict[str, Any]:
    """The commit of the liftbench checkout that runs, and whether it had uncommitted changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


@functools.cache
def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
    }


def device() -> dict[str, Any]:
    """The machine, and the threads torch uses now (torch may be imported after the first run)."""
    info: dict[str, Any] = {**_machine(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name(0)
    return info


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    `VmHWM` from /proc/self/status where there is one: Linux carries `ru_maxrss` across fork and
    exec, so a worker started by a large process would report its parent's peak (a 400 MB parent's
    child read 410 MB for its own 11 MB). `ru_maxrss` (KiB on Linux) elsewhere.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def executed_by() -> dict[str, Any]:
    """Where the run executed: host and process, and the Ray node and worker when a Ray worker ran it.

    Ray is read only when this process has already imported and initialised it (a Ray worker has).
    """
    where: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        context = ray.get_runtime_context()
        where["ray"] = {
            "node_id": context.get_node_id(),
            "worker_id": context.get_worker_id(),
            "job_id": context.get_job_id(),
        }
    return where


def process_started_at() -> str:
    """When this process started (UTC, ISO 8601 to the millisecond, as the store's `created_at`)."""
    started = datetime.fromtimestamp(psutil.Process().create_time(), UTC)
    return started.isoformat(timespec="milliseconds")


def environment() -> dict[str, Any]:
    return {
        "versions": library_versions(),
        "git": git_commit(),
        "device": device(),
        "executed_by": executed_by(),
    }
