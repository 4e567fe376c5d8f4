"""A real Lightning DDP run of `lift` on CPU: two processes, gloo, tiny-gpt2 on moons.

`tests/ddp_script.py` is started as its own program (Lightning's DDP launcher starts rank 1 by
running the same command again); each rank writes what it ended with, and this test compares them.
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


def test_lift_fits_with_two_process_ddp_and_ranks_agree(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _RANK_VARIABLES}
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{k}.json").read_text()) for k in (0, 1)]

    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["world_size"] == 2 for r in ranks)
    # The distributed sampler gave each rank its own half of the rows (padded to equal shares) ...
    share = math.ceil(ranks[0]["n_train"] / 2)
    assert all(r["samples_seen"] == share * r["epochs"] for r in ranks)
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
