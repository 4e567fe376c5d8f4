"""`adversarial` (test rows): PGD rows from a surrogate MLP, transferred to the method under test."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tasks.perturbations.base import (
    Perturbed,
    TablePerturbation,
    register_perturbation,
)
from tasks.perturbations.params import (
    ParamSpec,
    flag,
    integer,
    number,
)
from tasks.perturbations.table_ops import (
    cell_values,
    checked_features,
    copy_data,
    numeric_features,
    relative_change,
    training_stats,
    with_cells,
)
from tasks.preprocessing import TabularPreprocessor
from tasks.spec import TaskData
from tasks.splits import Split


def _row_loss(data: TaskData, split: Split) -> Callable[[Any, Any], Any]:
    """loss(outputs, rows) -> one loss per row against the rows' true targets: cross-entropy on the
    class codes, or squared error on the target standardised with the training rows' mean and std."""
    import torch

    y = data.y.to_numpy()
    if data.kind == "classification":
        codes = torch.as_tensor(y.astype(np.int64))
        return lambda outputs, rows: torch.nn.functional.cross_entropy(outputs, codes[rows], reduction="none")
    y = y.astype(float)
    centre, spread = float(np.mean(y[split.train])), float(np.std(y[split.train])) or 1.0
    scaled = torch.as_tensor((y - centre) / spread, dtype=torch.float32)
    return lambda outputs, rows: (outputs[:, 0] - scaled[rows]) ** 2


@register_perturbation
class Adversarial(TablePerturbation):
    """Projected gradient ascent (L-inf) on a surrogate MLP's loss, transferred to the evaluated method.

    The surrogate (two hidden ReLU layers of `hidden` units, Adam, `surrogate_steps` minibatch steps,
    all seeded) learns the task from the training rows' numeric features, preprocessed by
    `TabularPreprocessor` fitted on those rows. The attack moves each numeric test feature by at most
    `epsilon` training standard deviations (the budget is in raw units: epsilon·std), starting at a
    uniform random point of the budget when `random_start`, taking `steps` signed-gradient steps of
    `step_size` (default epsilon/4) and projecting back; `clip` also keeps values within the training
    range (or the value's own, when it lies outside it). Categorical features and missing cells are
    not changed. This is the paper's foolbox LinfPGD on MNIST source models, for tables.
    """

    name = "adversarial"
    description = "L-inf PGD on a surrogate MLP's loss (budget epsilon training stds), transferred"
    applies_to = "test"
    param_specs = {
        "epsilon": number(0.1, low=0.0),
        "steps": integer(20, low=1),
        "step_size": ParamSpec(
            None, number(None, low=0.0, above=True).parse, "a number > 0 (default epsilon/4)"
        ),
        "random_start": flag(True),
        "clip": flag(False),
        "hidden": integer(32, low=1),
        "surrogate_steps": integer(300, low=1),
    }

    LEARNING_RATE = 0.01
    BATCH_SIZE = 128

    def check(self, data: TaskData) -> None:
        super().check(data)
        checked_features(self.name, data, None)

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        import torch

        columns = numeric_features(data)
        preprocessor = TabularPreprocessor({c: data.feature_types[c] for c in columns})
        preprocessor.fit(data.X.iloc[split.train][columns])
        stats = training_stats(data, split, columns)
        row_loss = _row_loss(data, split)
        seeds = np.random.SeedSequence(seed).spawn(2)

        def encode(X: pd.DataFrame) -> torch.Tensor:
            return torch.as_tensor(preprocessor.transform(X[columns]), dtype=torch.float32)

        train_rows = torch.tensor(split.train)
        n_out = len(data.classes or ()) if data.kind == "classification" else 1
        model, train_loss = self._surrogate(
            encode(data.X.iloc[split.train]), row_loss, train_rows, n_out, seeds[0]
        )

        test_rows = torch.tensor(split.test)
        x0 = cell_values(data, split.test, columns)
        z0 = encode(data.X.iloc[split.test])
        low, high = self._bounds(x0, stats)
        u = (
            np.random.default_rng(seeds[1]).uniform(low, high)
            if self.params["random_start"]
            else np.zeros(x0.shape)
        )
        u_t, low_t, high_t = (torch.as_tensor(a, dtype=torch.float32) for a in (u, low, high))
        gain = self._gain(preprocessor, columns, stats)  # d(network input) / d(u), u in training stds
        step = self.params["step_size"] or self.params["epsilon"] / 4
        for _ in range(self.params["steps"]):
            u_t.requires_grad_(True)
            (grad,) = torch.autograd.grad(row_loss(model(z0 + u_t @ gain), test_rows).sum(), u_t)
            u_t = torch.clamp(u_t.detach() + step * torch.sign(grad), low_t, high_t)
        move = u_t.numpy().astype(float) * stats["std"]
        integer = np.array([data.feature_types[c] == "integer" for c in columns], dtype=bool)
        move[:, integer] = np.trunc(move[:, integer])  # toward the original value: the budget holds
        after = np.where(np.isnan(x0), x0, x0 + move)
        X = with_cells(data, split.test, columns, after)
        realised = X[columns].iloc[split.test].to_numpy(dtype=float, na_value=np.nan)
        change, _ = relative_change(x0, realised, stats["std"])
        with torch.no_grad():
            clean, attacked = model(z0), model(encode(X.iloc[split.test]))
            report = {
                "rows": int(split.test.size),
                "features": len(columns),
                "surrogate_train_loss": train_loss,
                "surrogate_loss_clean": float(row_loss(clean, test_rows).mean()),
                "surrogate_loss_adversarial": float(row_loss(attacked, test_rows).mean()),
                "max_abs_change": float(np.max(np.abs(change))) if change.size else 0.0,
            }
            if data.kind == "classification":
                changed = (clean.argmax(dim=1) != attacked.argmax(dim=1)).float().mean()
                report["surrogate_predictions_changed"] = float(changed)
        return Perturbed(copy_data(data, X=X), split, report)

    def _bounds(self, x0: np.ndarray, stats: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell bounds on the move in training stds: the budget, the clip range, 0 where fixed."""
        epsilon = self.params["epsilon"]
        low, high = np.full(x0.shape, -epsilon), np.full(x0.shape, epsilon)
        std = np.where(stats["std"] > 0, stats["std"], 1.0)
        if self.params["clip"]:
            low = np.maximum(low, np.minimum(0.0, np.nan_to_num((stats["min"] - x0) / std)))
            high = np.minimum(high, np.maximum(0.0, np.nan_to_num((stats["max"] - x0) / std)))
        movable = ~np.isnan(x0) & (stats["std"] > 0)
        return np.where(movable, low, 0.0), np.where(movable, high, 0.0)

    def _surrogate(
        self,
        inputs: Any,
        row_loss: Callable[[Any, Any], Any],
        rows: Any,
        n_out: int,
        seed: np.random.SeedSequence,
    ) -> tuple[Any, float]:
        """The trained surrogate MLP and its final training loss; weights and batches drawn from `seed`."""
        import torch

        generator = torch.Generator().manual_seed(int(seed.generate_state(1)[0]))
        width = self.params["hidden"]
        sizes = [inputs.shape[1], width, width, n_out]
        layers: list[torch.nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            linear = torch.nn.utils.skip_init(torch.nn.Linear, fan_in, fan_out)
            bound = 1.0 / math.sqrt(fan_in)  # PyTorch's default initialisation range
            with torch.no_grad():
                linear.weight.uniform_(-bound, bound, generator=generator)
                linear.bias.uniform_(-bound, bound, generator=generator)
            layers += [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        optimizer = torch.optim.Adam(model.parameters(), lr=self.LEARNING_RATE)
        batches = np.random.default_rng(seed.spawn(1)[0])
        batch = min(self.BATCH_SIZE, len(rows))
        for _ in range(self.params["surrogate_steps"]):
            pick = torch.as_tensor(batches.choice(len(rows), size=batch, replace=False))
            optimizer.zero_grad()
            row_loss(model(inputs[pick]), rows[pick]).mean().backward()
            optimizer.step()
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        with torch.no_grad():
            final = float(row_loss(model(inputs), rows).mean())
        return model, final

    @staticmethod
    def _gain(preprocessor: TabularPreprocessor, columns: list[str], stats: dict[str, np.ndarray]) -> Any:
        """The (features x network inputs) matrix mapping a move of u training stds to the encoded row.

        The preprocessor is affine in each numeric value (impute, then scale), so its slope on column
        j is read off two rows that differ by 1 in every column.
        """
        import torch

        base = np.where(np.isnan(stats["min"]), 0.0, stats["min"])
        probe = pd.DataFrame([base, base + 1.0], columns=columns)
        slopes = np.diff(preprocessor.transform(probe), axis=0)[0]
        names = preprocessor.feature_names_out()
        gain = np.zeros((len(columns), len(names)))
        for j, column in enumerate(columns):
            k = names.index(f"num__{column}")
            gain[j, k] = slopes[k] * stats["std"][j]
        return torch.as_tensor(gain, dtype=torch.float32)
