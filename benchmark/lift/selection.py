"""Best-epoch selection on validation predictions, with the best weights kept in memory.

After every training epoch the callback asks `evaluate()` for the validation metric of the model as
it is (real predictions, scored like the test rows), keeps a copy of the trainable weights of the
best epoch so far (LoRA: the adapters only) and restores them when training ends. The paper's GPT-J
code kept the epoch with the LOWEST validation accuracy (`<` copied from its RMSE code, spec §10.9);
here the direction comes from the metric: "higher" for accuracy, "lower" for RAE or RMSE.

Ties keep the earlier epoch; a NaN metric never beats a number. With `patience > 0`, training stops
once that many epochs in a row have not improved on the best. Lightning's own checkpointing is not
used: it writes whole models to disk (1.5 GB for a GPT-2-small full fine-tune).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pytorch_lightning as pl
import torch

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    metric: float
    train_loss: float | None
    eval_seconds: float


def is_better(candidate: float, incumbent: float | None, direction: Direction) -> bool:
    """Whether `candidate` strictly improves on `incumbent` (None: nothing yet; NaN: never better)."""
    if incumbent is None:
        return True
    if math.isnan(candidate):
        return False
    if math.isnan(incumbent):
        return True
    return candidate > incumbent if direction == "higher" else candidate < incumbent


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the parameters that train (all of them in full fine-tuning)."""
    return {
        name: param.detach().to("cpu", copy=True)
        for name, param in module.named_parameters()
        if param.requires_grad
    }


def load_trainable_state(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = dict(module.named_parameters())
    missing = sorted(set(state) - set(params))
    if missing:
        raise KeyError(f"the model has no parameter {missing[0]!r} to restore")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


class BestEpochSelection(pl.Callback):
    """Scores every epoch with `evaluate()` and restores the best epoch's weights at the end of fit.

    `train_loss()`, when given, reports the epoch's mean training loss for the record.
    """

    def __init__(
        self,
        evaluate: Callable[[], float],
        direction: Direction,
        patience: int = 0,
        train_loss: Callable[[], float | None] | None = None,
    ) -> None:
        if direction not in ("higher", "lower"):
            raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
        if patience < 0:
            raise ValueError("patience must be >= 0 (0: no early stopping)")
        self.evaluate = evaluate
        self.direction: Direction = direction
        self.patience = patience
        self.train_loss = train_loss
        self.history: list[EpochRecord] = []
        self.best_epoch: int | None = None
        self.best_metric: float | None = None
        self.stopped_early = False
        self._best_state: dict[str, torch.Tensor] | None = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        was_training = pl_module.training
        pl_module.eval()
        start = time.perf_counter()
        try:
            metric = float(self.evaluate())
        finally:
            pl_module.train(was_training)
        seconds = time.perf_counter() - start
        epoch = trainer.current_epoch + 1
        loss = self.train_loss() if self.train_loss is not None else None
        self.history.append(EpochRecord(epoch, metric, loss, seconds))
        pl_module.log("val_metric", metric, on_step=False, on_epoch=True, prog_bar=True)
        if is_better(metric, self.best_metric, self.direction):
            self.best_epoch, self.best_metric = epoch, metric
            self._best_state = trainable_state(pl_module)
        elif self.patience and epoch - (self.best_epoch or 0) >= self.patience:
            self.stopped_early = True
            trainer.should_stop = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.restore_best(pl_module)

    def restore_best(self, module: torch.nn.Module) -> None:
        """Put the best epoch's trainable weights back (nothing to do before the first epoch)."""
        if self._best_state is not None:
            load_trainable_state(module, self._best_state)

    @property
    def eval_seconds(self) -> float:
        return sum(r.eval_seconds for r in self.history)
