"""`label-corruption` (training rows, classification): flip a fraction of the training labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError
from tasks.perturbations.base import (
    Perturbed,
    TablePerturbation,
    register_perturbation,
)
from tasks.perturbations.params import (
    choice,
    number,
)
from tasks.perturbations.table_ops import (
    copy_data,
    fraction_count,
)
from tasks.spec import TaskData
from tasks.splits import Split, index_hash


@register_perturbation
class LabelCorruption(TablePerturbation):
    name = "label-corruption"
    description = "flip a fraction of the training labels, to a random other class or to (y+1) mod K"
    applies_to = "train"
    kinds = ("classification",)
    param_specs = {
        "fraction": number(0.1, low=0.0, high=1.0),
        "mode": choice("random", ("random", "systematic")),
    }

    def check(self, data: TaskData) -> None:
        super().check(data)
        if data.classes is None or len(data.classes) < 2:
            raise LiftbenchError(f"perturbation {self.name!r}: task {data.name!r} has fewer than 2 classes")

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        n_classes = len(data.classes or ())
        rng = np.random.default_rng(seed)
        n_flip = fraction_count(self.params["fraction"], split.train.size)
        rows = split.train[rng.choice(split.train.size, size=n_flip, replace=False)]
        y = data.y.to_numpy(dtype=np.int64, copy=True)
        if self.params["mode"] == "systematic":
            y[rows] = (y[rows] + 1) % n_classes
        else:
            y[rows] = (y[rows] + rng.integers(1, n_classes, size=n_flip)) % n_classes
        report = {
            "n_train": int(split.train.size),
            "flipped": int(n_flip),
            "flipped_rows_hash": index_hash(np.sort(rows)),
        }
        new_y = pd.Series(y, index=data.y.index, name=data.y.name)
        return Perturbed(copy_data(data, y=new_y), split, report)
