"""Write a run with chosen predictions straight into a real results store, as the runner would record it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmark.core.methods import Predictions
from benchmark.core.metrics import compute_metrics
from benchmark.core.runspec import RunSpec
from benchmark.harness.store import ResultStore, RunRecord, predictions_frame


def write_run(
    store: ResultStore,
    spec: RunSpec,
    kind: str,
    y_true: np.ndarray,
    pred: Predictions,
    *,
    n_train: int,
    n_classes: int | None,
    suite: str | None = None,
    evaluations: Sequence[pd.DataFrame] = (),
) -> None:
    """Store `spec` as an ok run whose test predictions are `pred` (metrics computed from them) and whose
    evaluation-set predictions are `evaluations`; its provenance holds what the analysis reads."""
    provenance = {
        "split_sizes": {"train": n_train},
        "task_params": dict(spec.task_params),
        "n_classes": n_classes if kind == "classification" else None,
    }
    if spec.perturbation is not None:
        provenance["perturbation"] = {"seed": 1}
    record = RunRecord(
        run_hash=spec.hash,
        suite=suite,
        task=spec.task,
        method=spec.method,
        kind=kind,
        seed=spec.seed,
        split_seed=spec.split_seed,
        train_size=spec.train_size,
        spec=spec.to_dict(),
        provenance=provenance,
        metrics=compute_metrics(kind, y_true, pred, provenance["n_classes"]),
    )
    store.write_run(record, pd.concat([predictions_frame(y_true, pred), *evaluations], ignore_index=True))
