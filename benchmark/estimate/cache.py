"""Where a machine's probe is kept, and under which key, so a dry-run measures a machine only once.

The folder is `$LIFTBENCH_PROBE_CACHE`, else `probe/` in liftbench's cache (`$LIFTBENCH_CACHE`, default
`~/.cache/liftbench`, beside the bundled model and the `precision: auto` decisions); the file
`machine-probe-<key>.json`. The key is what sets a machine's speed: the CPU model, the
torch version, the threads a run gets, and the probe's format (a changed probe measures afresh). A file
that cannot be read or parsed is measured again, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from benchmark.estimate.profile import MachineProfile
from benchmark.lift.lm.bundled import cache_dir as liftbench_cache
from benchmark.lift.lm.matmul_rate import cpu_model

PROBE_FORMAT = 3  # 3: decoding timed at two batch sizes; LIFT predicts with its weights cast once


def cache_dir() -> Path:
    if os.environ.get("LIFTBENCH_PROBE_CACHE"):
        return Path(os.environ["LIFTBENCH_PROBE_CACHE"]).expanduser()
    return liftbench_cache() / "probe"


def machine_key(threads: int) -> dict[str, Any]:
    """The key of a probe run at `threads` threads per run (`probe.run_threads`)."""
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": threads,
        "probe_format": PROBE_FORMAT,
    }


def cache_path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"machine-probe-{digest}.json"


def read_profile(key: dict[str, Any]) -> MachineProfile | None:
    """The cached profile of this key, or None when there is none or it is unreadable."""
    try:
        profile = MachineProfile.from_json(json.loads(cache_path(key).read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return profile if profile.key == key else None


def write_profile(profile: MachineProfile) -> Path:
    """Write atomically (a concurrent dry-run reads the old file or the new one, never half)."""
    path = cache_path(profile.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(profile.to_json(), indent=1))
    partial.replace(path)
    return path
