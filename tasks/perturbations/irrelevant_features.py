"""`irrelevant-features` (all rows): pure-noise columns added to the table."""

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
    integer,
)
from tasks.perturbations.table_ops import (
    copy_data,
)
from tasks.spec import TaskData
from tasks.splits import Split


@register_perturbation
class IrrelevantFeatures(TablePerturbation):
    name = "irrelevant-features"
    description = "add n pure-noise columns noise1..noiseN, gaussian N(0,1) or uniform U(0,1)"
    applies_to = "all"
    changes_features = True
    param_specs = {"n": integer(1, low=1), "distribution": choice("gaussian", ("gaussian", "uniform"))}

    def _names(self) -> list[str]:
        return [f"noise{j + 1}" for j in range(self.params["n"])]

    def check(self, data: TaskData) -> None:
        super().check(data)
        taken = sorted(set(self._names()) & {str(c) for c in data.X.columns})
        if taken:
            raise LiftbenchError(
                f"perturbation {self.name!r}: task {data.name!r} already has a column named {taken[0]!r}"
            )

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        rng = np.random.default_rng(seed)
        shape = (data.n_rows, self.params["n"])
        if self.params["distribution"] == "gaussian":
            values = rng.standard_normal(shape)
        else:
            values = rng.uniform(0.0, 1.0, shape)
        names = self._names()
        noise = pd.DataFrame(values, columns=names, index=data.X.index)
        types = {**data.feature_types, **dict.fromkeys(names, "numeric")}
        X = pd.concat([data.X, noise], axis=1)
        return Perturbed(copy_data(data, X=X, feature_types=types), split, {"added": names})
