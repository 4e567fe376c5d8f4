"""`outliers` (training rows, regression): rows with uniform inputs and far-off targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    as_column,
    copy_data,
    fraction_count,
    numeric_features,
    training_stats,
)
from tasks.spec import TaskData
from tasks.splits import Split


@register_perturbation
class Outliers(TablePerturbation):
    name = "outliers"
    description = "training rows with uniform inputs and targets |N(0, y_scale^2)|, appended or replacing"
    applies_to = "train"
    kinds = ("regression",)
    param_specs = {
        "fraction": number(0.02, low=0.0, high=1.0),
        "mode": choice("append", ("append", "replace")),
        "y_scale": number(20.0, low=0.0),
    }

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        rng = np.random.default_rng(seed)
        n_train = split.train.size
        n_out = fraction_count(self.params["fraction"], n_train)
        columns = [str(c) for c in data.X.columns]
        numeric = numeric_features(data)
        stats = training_stats(data, split, numeric)
        new = {}
        for column in columns:
            if column in numeric:
                j = numeric.index(column)
                values = rng.uniform(stats["min"][j], stats["max"][j], n_out)
                new[column] = as_column(values, data.X[column], data.feature_types[column])
            else:
                seen = data.X[column].iloc[split.train].dropna()
                picks = rng.integers(0, len(seen), n_out) if len(seen) else np.zeros(0, dtype=int)
                new[column] = seen.iloc[picks].reset_index(drop=True) if len(seen) else [np.nan] * n_out
        y_out = np.abs(rng.normal(0.0, self.params["y_scale"], n_out))
        positions = np.arange(data.n_rows, data.n_rows + n_out, dtype=np.int64)
        train = split.train.copy()
        if self.params["mode"] == "append":
            train = np.concatenate([train, positions])
        else:
            train[np.sort(rng.choice(n_train, size=n_out, replace=False))] = positions
        X = pd.concat([data.X, pd.DataFrame(new, columns=columns)], ignore_index=True)
        y = pd.concat([data.y, pd.Series(y_out, name=data.y.name)], ignore_index=True)
        fixed = None
        if data.fixed_split is not None:
            fixed = {**data.fixed_split, "train": np.concatenate([data.fixed_split["train"], positions])}
        new_split = Split(train, split.val, split.test, split.protocol, split.seed, split.params)
        report = {
            "n_train": int(n_train),
            "outliers": int(n_out),
            "mode": self.params["mode"],
            "y_out_mean": float(y_out.mean()) if n_out else None,
            "y_out_max": float(y_out.max()) if n_out else None,
        }
        return Perturbed(copy_data(data, X=X, y=y, fixed_split=fixed), new_split, report)
