"""A real two-process Lightning DDP fit of `lift` on CPU (gloo), launched by `tests/test_ddp.py`.

    python tests/ddp_script.py OUTDIR [DEVICES]

With DEVICES=2 (the default), rank 0 is this process; Lightning's DDP launcher starts rank 1 by
running the same command again with its rank in the environment. Every rank fits the tiny-gpt2 LIFT
method on moons (n=80) with `strategy="ddp", devices=2`, predicts the test rows and writes
`rank<k>.json` into OUTDIR: its rank and world size, a checksum of its trainable weights after fit,
the samples it trained on and its own training loss per epoch (each rank averages over its own share
of the rows), the optimizer steps and the effective training configuration, and its predictions.
DEVICES=1 fits the same spec on one device (no process group) and writes `rank0.json`. The test
compares the files.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.core.methods import FitData
from benchmark.lift.method import LiftMethod
from tasks.registry import load_task
from tasks.splits import make_split

EPOCHS = 2


def trainable_checksum(model: torch.nn.Module) -> str:
    """sha256 over the names and exact bytes of every trainable parameter, in name order."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda item: item[0]):
        if param.requires_grad:
            digest.update(name.encode())
            digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def fit_and_predict(devices: int, seed: int = 0) -> dict[str, Any]:
    data = load_task("moons", n=80, seed=seed)
    split = make_split(data, seed=seed)
    y = data.y.to_numpy()
    method = LiftMethod(
        kind="classification",
        seed=seed,
        model="tiny-gpt2",
        epochs=EPOCHS,
        batch_size=8,
        warmup_steps=1,
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        accelerator="cpu",
        precision="32-true",  # named: "auto" would time a probe per run, and the test compares runs
        enable_progress_bar=False,
    )
    info = method.fit(
        FitData(
            task=data,
            X_train=data.X.iloc[split.train],
            y_train=y[split.train],
            X_val=data.X.iloc[split.val],
            y_val=y[split.val],
            seed=seed,
        )
    )
    predictions = method.predict(data.X.iloc[split.test])
    assert method._lm is not None  # fitted
    return {
        "rank": torch.distributed.get_rank() if torch.distributed.is_initialized() else 0,
        "world_size": torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1,
        # what the hardware decided (FitInfo.ran_with also names the weights, the same on every device)
        "effective": {
            k: v
            for k, v in info.ran_with.items()
            if k not in ("model_id", "model_revision", "weights_checksum")
        },
        "optimizer_steps": info.extra["optimizer_steps"],
        "n_train": len(split.train),
        "epochs": EPOCHS,
        "samples_seen": info.extra["samples_seen"],
        "best_epoch": info.extra["best_epoch"],
        "train_losses": [epoch["train_loss"] for epoch in info.extra["history"]],
        "trainable_checksum": trainable_checksum(method._lm.model),
        "y_pred": np.asarray(predictions.y_pred).tolist(),
        "proba": np.asarray(predictions.proba).round(6).tolist(),
        "n_test": len(split.test),
    }


def main(out_dir: Path, devices: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    record = fit_and_predict(devices)
    (out_dir / f"rank{record['rank']}.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
