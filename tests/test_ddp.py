"""A real Lightning DDP run of `lift` on CPU: two processes, gloo, tiny-gpt2 on moons.

`tests/ddp_script.py` is started as its own program (Lightning's DDP launcher starts rank 1 by
running the same command again); each rank writes what it ended with, and this test compares them,
and compares the two-device run with the same spec on one device: the global batch, and so the
optimizer steps, must not depend on the device count.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).with_name("ddp_script.py")
TIMEOUT_S = 240
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_script(out_dir: Path, devices: int) -> list[dict]:
    """The ranks' records of one `ddp_script.py` run on `devices` CPU devices."""
    env = {k: v for k, v in os.environ.items() if k not in _RANK_VARIABLES}
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out_dir), str(devices)],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return [json.loads((out_dir / f"rank{k}.json").read_text()) for k in range(devices)]


def test_lift_fits_with_two_process_ddp_and_ranks_agree(tmp_path: Path) -> None:
    ranks = run_script(tmp_path / "ddp", devices=2)
    [single] = run_script(tmp_path / "single", devices=1)

    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["world_size"] == 2 for r in ranks)
    # The global batch (8) is the same on one device and on two: each rank takes 4 rows of every
    # optimizer step, so both runs take the same number of steps ...
    assert single["effective"] == {
        "precision": "32-true",
        "accelerator": "cpu",
        "devices": 1,
        "num_nodes": 1,
        "strategy": "single_device",
        "global_batch": 8,
        "per_device_batch": 8,
        "grad_accum": 1,
        "world_size": 1,
        "attention": "eager",  # LIFT's kernel on a CPU (benchmark.lift.lm.execution)
    }
    for r in ranks:
        assert r["effective"] == {
            **single["effective"],
            "devices": 2,
            "strategy": "ddp",
            "per_device_batch": 4,
            "world_size": 2,
        }
        assert r["optimizer_steps"] == single["optimizer_steps"] == math.ceil(r["n_train"] / 8) * r["epochs"]
    # ... and the ranks' shares of the rows add up to the rows the one device saw: nothing doubled.
    assert ranks[0]["samples_seen"] + ranks[1]["samples_seen"] == single["samples_seen"]
    assert single["samples_seen"] == single["n_train"] * single["epochs"]
    assert ranks[0]["train_losses"] != ranks[1]["train_losses"]
    # ... and gradient all-reduce kept the weights identical, to the bit, so the predictions agree too.
    assert ranks[0]["trainable_checksum"] == ranks[1]["trainable_checksum"]
    assert ranks[0]["best_epoch"] == ranks[1]["best_epoch"]
    for r in ranks:
        proba = np.asarray(r["proba"])
        assert len(r["y_pred"]) == r["n_test"] > 0
        assert proba.shape == (r["n_test"], 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert r["y_pred"] == proba.argmax(axis=1).tolist()
    assert ranks[0]["y_pred"] == ranks[1]["y_pred"]
    np.testing.assert_array_equal(ranks[0]["proba"], ranks[1]["proba"])
