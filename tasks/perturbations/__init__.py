"""Perturbations of a task's rows: registered, validated, composable objects (HELM's augmentations for tables).

A perturbation is made by name with its parameters (`make_perturbation("feature-noise", {"scale": 0.5})`),
which checks every parameter up front, and is then applied to one run's data and split:
`apply(data, split, seed)` returns a `Perturbed` with NEW `TaskData` and `Split` objects and a report
of what it did (rows changed, labels flipped, realised noise). The input `TaskData` is never modified:
the runner caches loaded tasks and shares them between runs.

`applies_to` says which rows change: "train" (only training rows; validation and test are left
alone, unlike the paper's baseline label corruption, which also corrupted validation labels),
"test" (only test rows) or "all" (every row: the feature columns themselves change).

Scales are relative to each feature's training-row standard deviation (population std, ddof=0, as
scikit-learn's StandardScaler; missing values ignored), so one setting means the same on every task.
A feature that is constant on the training rows is never changed by the relative perturbations.
Integer features stay integers: their perturbed values are rounded (truncated toward the original
value in `adversarial`, so the budget holds).

Registered perturbations (lift-spec.md section 8, rows 8-11, and the misleading-names test of section 11):

* `feature-noise` (test): additive noise on numeric test features; `kind` gaussian (std = scale·std),
  uniform (in ±scale·std) or sign (±scale·std, each with probability 1/2), the paper's MNIST noise kinds;
  `clip` keeps values within the training range (the paper clipped pixels to 0..255).
* `label-corruption` (train, classification): round(fraction·n_train) training labels flipped, to a class
  drawn uniformly from the other classes (`random`) or to (y + 1) mod K (`systematic`). Any training
  row can be chosen, the first one included (the paper's code never flipped index 0).
* `outliers` (train, regression): round(fraction·n_train) rows with inputs uniform within the training
  range (categorical values drawn from the training rows) and targets |N(0, y_scale²)| (the paper:
  |N(0, 20²)|), appended to the training rows or replacing as many of them.
* `irrelevant-features` (all): `n` pure-noise columns `noise1`, ..., N(0, 1) or U(0, 1).
* `permute-feature-order` (all): the columns in a seeded order other than their own.
* `shuffle-feature-names` (all): the names shuffled so that no column keeps its own (values unchanged).
* `adversarial` (test): an L-inf projected-gradient attack on a small surrogate MLP trained on the
  training rows (numeric features, preprocessed by `TabularPreprocessor`), transferred to the method.
* `compose`: several perturbations applied in order, e.g. corrupt labels and add test noise.

The package: `params` (parameter declarations, shared with the evaluation sets), `base` (the protocol
and the registry), `table_ops` (what the perturbations share) and one module per perturbation.
"""

from tasks.perturbations.base import (
    PERTURBATIONS,
    Perturbed,
    TablePerturbation,
    make_perturbation,
    register_perturbation,
)
from tasks.perturbations.params import (
    APPLIES_TO,
    NUMERIC_TYPES,
    ParamSpec,
    choice,
    feature_names,
    flag,
    integer,
    number,
    validate_params,
)

__all__ = [
    "APPLIES_TO",
    "NUMERIC_TYPES",
    "PERTURBATIONS",
    "ParamSpec",
    "Perturbed",
    "TablePerturbation",
    "choice",
    "feature_names",
    "flag",
    "integer",
    "make_perturbation",
    "number",
    "register_perturbation",
    "validate_params",
]
