"""`permute-feature-order` and `shuffle-feature-names` (all rows): the columns reordered or renamed."""

from __future__ import annotations

import numpy as np

from tasks.errors import LiftbenchError
from tasks.perturbations.base import (
    Perturbed,
    TablePerturbation,
    register_perturbation,
)
from tasks.perturbations.table_ops import (
    copy_data,
    non_identity_permutation,
)
from tasks.spec import TaskData
from tasks.splits import Split


class _ColumnShuffle(TablePerturbation):
    """Base of the two column permutations: they need at least two features."""

    applies_to = "all"
    changes_features = True

    def check(self, data: TaskData) -> None:
        super().check(data)
        if data.n_features < 2:
            raise LiftbenchError(
                f"perturbation {self.name!r}: task {data.name!r} has {data.n_features} feature; it needs 2 or more"
            )


@register_perturbation
class PermuteFeatureOrder(_ColumnShuffle):
    name = "permute-feature-order"
    description = "the feature columns in a seeded order other than their own"

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = list(data.X.columns)
        order = non_identity_permutation(np.random.default_rng(seed), len(columns), derangement=False)
        new_columns = [columns[i] for i in order]
        types = {c: data.feature_types[c] for c in new_columns}
        X = data.X[new_columns].copy()
        return Perturbed(
            copy_data(data, X=X, feature_types=types), split, {"order": [str(c) for c in new_columns]}
        )


@register_perturbation
class ShuffleFeatureNames(_ColumnShuffle):
    name = "shuffle-feature-names"
    description = "feature names shuffled across columns so that no column keeps its own; values unchanged"

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        columns = list(data.X.columns)
        order = non_identity_permutation(np.random.default_rng(seed), len(columns), derangement=True)
        names = [columns[i] for i in order]  # column j's values now carry the name of column order[j]
        types = {name: data.feature_types[column] for name, column in zip(names, columns, strict=True)}
        X = data.X.copy()
        X.columns = names
        renamed = {str(name): str(column) for name, column in zip(names, columns, strict=True)}
        return Perturbed(copy_data(data, X=X, feature_types=types), split, {"values_of": renamed})
