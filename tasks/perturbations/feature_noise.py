"""`feature-noise` (test rows): additive gaussian, uniform or sign noise on numeric features."""

from __future__ import annotations

import numpy as np

from tasks.perturbations.base import (
    Perturbed,
    TablePerturbation,
    register_perturbation,
)
from tasks.perturbations.params import (
    choice,
    feature_names,
    flag,
    number,
)
from tasks.perturbations.table_ops import (
    cell_values,
    checked_features,
    copy_data,
    relative_change,
    training_stats,
    with_cells,
)
from tasks.spec import TaskData
from tasks.splits import Split


@register_perturbation
class FeatureNoise(TablePerturbation):
    name = "feature-noise"
    description = "additive gaussian, uniform or sign noise on numeric test features, scaled by training std"
    applies_to = "test"
    param_specs = {
        "kind": choice("gaussian", ("gaussian", "uniform", "sign")),
        "scale": number(0.1, low=0.0),
        "features": feature_names(),
        "clip": flag(False),
    }

    def check(self, data: TaskData) -> None:
        super().check(data)
        checked_features(self.name, data, self.params["features"])

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = checked_features(self.name, data, self.params["features"])
        stats = training_stats(data, split, columns)
        rng = np.random.default_rng(seed)
        shape = (split.test.size, len(columns))
        unit = {
            "gaussian": lambda: rng.standard_normal(shape),
            "uniform": lambda: rng.uniform(-1.0, 1.0, shape),
            "sign": lambda: rng.choice(np.array([-1.0, 1.0]), size=shape),
        }[self.params["kind"]]()
        before = cell_values(data, split.test, columns)
        after = before + unit * (self.params["scale"] * stats["std"])
        if self.params["clip"]:
            after = np.clip(after, stats["min"], stats["max"])
        X = with_cells(data, split.test, columns, after)
        realised = X[columns].iloc[split.test].to_numpy(dtype=float, na_value=np.nan)
        change, varying = relative_change(before, realised, stats["std"])
        report = {
            "rows": int(split.test.size),
            "features": len(columns),
            "features_unchanged_constant": int((~varying).sum()),
            "realised_noise_std": float(np.std(change)) if change.size else 0.0,
            "realised_max_abs": float(np.max(np.abs(change))) if change.size else 0.0,
        }
        return Perturbed(copy_data(data, X=X), split, report)
