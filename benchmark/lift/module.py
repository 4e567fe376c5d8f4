"""The LIFT LightningModule: the unchanged causal-LM loss on completion tokens, AdamW with warmup.

The model is a Hugging Face causal LM, fine-tuned in full or through LoRA adapters (`peft`), or left
as it is ("none": the in-context baseline with no training). The loss is the mean cross-entropy of
the completion tokens, as the paper's (spec §5.1). By default it applies the LM head only to the
positions that carry loss (the answer tokens), which gives the same number as the plain loss at a
fraction of the head's cost (SmolLM2 on iris prompts on this CPU: 1.25x faster training steps).
Models whose head does more than one linear map (logit soft-capping, scaling) need
`gather_loss_positions=False`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.utilities.warnings import PossibleUserWarning

from benchmark.lift.data import BatchPlan, LiftDataModule
from benchmark.lift.lm.execution import causal_lm, eager_attention_on_cpu, weights_cast_once
from benchmark.lift.lm.loading import IGNORE_INDEX
from benchmark.lift.params import FINETUNE_MODES, SCHEDULES, LoraSettings, OptimizerSettings, TrainerSettings
from benchmark.lift.selection import BestEpochSelection, Direction
from tasks.errors import LiftbenchError

# Library notices a benchmark user can do nothing about (transformers 5 / peft / Lightning 2.6 interplay).
_NOTICES = (
    "fan_in_fan_out is set to False",  # peft on GPT-2's Conv1D: it sets it to True itself
    "`is_gradient_checkpointing` is deprecated",
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
)


@contextlib.contextmanager
def library_notices_hidden() -> Iterator[None]:
    """Hide the library notices above and Lightning's worker-count hints; other warnings still show."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PossibleUserWarning)
        for message in _NOTICES:
            warnings.filterwarnings("ignore", message=message)
        yield


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's banner lines ("GPU available", "Seed set") and the library notices for the
    duration of a benchmark run."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning_fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with library_notices_hidden():
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def prepare_for_finetuning(
    model: torch.nn.Module,
    finetune: str,
    lora: LoraSettings | None = None,
    gradient_checkpointing: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model to train (LoRA: wrapped by peft, base frozen; full: every parameter; none: frozen)
    and a description of what trains, for the record."""
    if finetune not in FINETUNE_MODES:
        raise LiftbenchError(f"finetune={finetune!r}; use one of: {', '.join(FINETUNE_MODES)}")
    if gradient_checkpointing and finetune != "none":
        # non-reentrant checkpointing needs no input gradients, so it works with frozen embeddings (LoRA)
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
            model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    described: dict[str, Any] = {"finetune": finetune}
    if finetune == "lora":
        from peft import LoraConfig, get_peft_model

        lora = lora or LoraSettings()
        targets = lora.target_modules
        config = LoraConfig(
            task_type="CAUSAL_LM",
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=list(targets) if isinstance(targets, tuple) else targets,
        )
        try:
            with library_notices_hidden():
                model = get_peft_model(model, config)
        except ValueError as err:
            raise LiftbenchError(
                f"LoRA cannot be put on model type {getattr(model.config, 'model_type', '?')!r} "
                f"({str(err).splitlines()[0]}); give target_modules (module names, or 'all-linear')"
            ) from None
        resolved = model.peft_config["default"].target_modules
        described["target_modules"] = sorted(resolved) if isinstance(resolved, set | list) else resolved
    else:
        for param in model.parameters():
            param.requires_grad_(finetune == "full")
    described["trainable_parameters"] = count_parameters(model, trainable_only=True)
    described["total_parameters"] = count_parameters(model, trainable_only=False)
    return model, described


def count_parameters(model: torch.nn.Module, trainable_only: bool) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def completion_loss(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], gather_loss_positions: bool = True
) -> torch.Tensor:
    """Mean cross-entropy over the labelled (completion) tokens, next-token shifted as in HF's loss.

    With `gather_loss_positions` the backbone's final hidden states are gathered at the positions
    that predict a labelled token and only those go through the LM head.
    """
    labels = batch["labels"]
    if not gather_loss_positions:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
    lm = causal_lm(model)
    backbone = lm.base_model  # LoRA layers sit inside it, so adapters are applied
    hidden = backbone(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


class LiftModule(pl.LightningModule):
    """Trains `model` on completion tokens; counts samples, tokens and the epoch's mean loss."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: OptimizerSettings | None = None,
        gather_loss_positions: bool = True,
    ) -> None:
        super().__init__()
        if optimizer is not None and optimizer.schedule not in SCHEDULES:
            raise LiftbenchError(f"schedule={optimizer.schedule!r}; use one of: {', '.join(SCHEDULES)}")
        self.model = model
        self.optimizer_settings = optimizer or OptimizerSettings()
        self.gather_loss_positions = gather_loss_positions
        self.samples_seen = 0
        self.tokens_seen = 0  # non-padding tokens of every training row, epochs included
        self.train_seconds = 0.0  # inside training batches (forward, backward, optimizer step)
        self.epoch_losses: list[float | None] = []
        self._loss_sum = 0.0
        self._loss_tokens = 0
        self._batch_start = 0.0

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = completion_loss(self.model, batch, self.gather_loss_positions)
        n_rows = batch["input_ids"].shape[0]
        n_loss_tokens = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        self.samples_seen += n_rows
        self.tokens_seen += int(batch["attention_mask"].sum())
        self._loss_sum += float(loss.detach()) * n_loss_tokens
        self._loss_tokens += n_loss_tokens
        return loss

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.train_seconds += time.perf_counter() - self._batch_start

    def on_train_epoch_start(self) -> None:
        self._loss_sum, self._loss_tokens = 0.0, 0

    def on_train_epoch_end(self) -> None:
        # logged once an epoch, not every step: Lightning's per-step logging cost ~5 ms a step
        loss = self.current_epoch_loss()
        self.epoch_losses.append(loss)
        if loss is not None:
            self.log("train_loss", loss, prog_bar=True)

    def current_epoch_loss(self) -> float | None:
        """The token-weighted mean training loss of the epoch so far."""
        return self._loss_sum / self._loss_tokens if self._loss_tokens else None

    def configure_optimizers(self) -> dict[str, Any]:
        from transformers import (
            get_constant_schedule_with_warmup,
            get_cosine_schedule_with_warmup,
            get_linear_schedule_with_warmup,
        )

        settings = self.optimizer_settings
        trainable = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for _, p in trainable if p.ndim >= 2], "weight_decay": settings.weight_decay},
            {"params": [p for _, p in trainable if p.ndim < 2], "weight_decay": 0.0},  # biases, norms
        ]
        # fused: one kernel for all parameters; a full fine-tuning step of SmolLM2 on this CPU took 0.11 s
        # instead of 0.49 s. Lightning cannot clip the gradients of a fused optimizer under mixed
        # precision (it unscales internally), so fused at full precision only.
        fused = str(self.trainer.precision) in ("32-true", "32")
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=settings.lr, fused=fused)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        if settings.schedule == "constant":
            scheduler = get_constant_schedule_with_warmup(optimizer, settings.warmup_steps)
        else:
            make = (
                get_linear_schedule_with_warmup
                if settings.schedule == "linear"
                else get_cosine_schedule_with_warmup
            )
            scheduler = make(optimizer, settings.warmup_steps, total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def resolved_precision(settings: TrainerSettings) -> str:
    """The Trainer precision: the setting, or (None, "auto") "bf16-mixed" on a CUDA GPU that supports it,
    else "32-true". A LIFT run resolves "auto" before training, by measurement on a CPU
    (`benchmark.lift.precision`); this is the rule for callers that give settings directly."""
    if settings.precision not in (None, "auto"):
        return settings.precision
    on_gpu = settings.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"


@dataclass
class TrainingOutcome:
    module: LiftModule
    selection: BestEpochSelection | None  # None when training selected nothing (two-stage's stage 1)
    precision: str
    device: torch.device  # where the model trained; Lightning moves it back to the CPU at the end
    optimizer_steps: int
    log_dir: str | None  # Lightning's CSV logs, when kept
    effective: dict[str, Any]  # what the hardware decided: `effective_training`


def effective_training(trainer: pl.Trainer, precision: str, plan: BatchPlan) -> dict[str, Any]:
    """The training configuration as it ran: precision, accelerator, devices, strategy, nodes and the
    batch split. Two runs of one spec on different hardware differ here and nowhere in the spec."""
    strategy = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", type(trainer.strategy).__name__.removesuffix("Strategy"))
    return {
        "precision": precision,
        "accelerator": type(trainer.accelerator).__name__.removesuffix("Accelerator").lower(),
        "devices": trainer.num_devices,
        "num_nodes": trainer.num_nodes,
        "strategy": strategy.lower(),  # SingleDeviceStrategy: single_device, DDPStrategy: ddp
        **plan.record(),
    }


def train_lift(
    model: torch.nn.Module,
    datamodule: LiftDataModule,
    *,
    evaluate: Callable[[], float] | None,
    direction: Direction = "higher",
    optimizer: OptimizerSettings | None = None,
    trainer_settings: TrainerSettings | None = None,
    patience: int = 0,
    gather_loss_positions: bool = True,
) -> TrainingOutcome:
    """Fine-tune `model` with a Lightning Trainer, scoring every epoch with `evaluate()` and ending with
    the best epoch's weights in place; `evaluate=None` selects nothing and ends with the last epoch's
    weights (the caller seeds everything before building the model).

    The datamodule's `batch_size` is the global batch: it is split over the trainer's world size and
    `grad_accum` here (`BatchPlan`), and the datamodule deals each rank its rows itself, so Lightning's
    distributed sampler is off."""
    settings = trainer_settings or TrainerSettings()
    precision = resolved_precision(settings)
    module = LiftModule(model, optimizer, gather_loss_positions)
    selection = (
        None
        if evaluate is None
        else BestEpochSelection(evaluate, direction, patience, train_loss=module.current_epoch_loss)
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(quiet_lightning())
        root = settings.default_root_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="lift-"))
        trainer = pl.Trainer(
            max_epochs=settings.epochs,
            accelerator=settings.accelerator,
            devices=settings.devices,
            strategy=settings.strategy,
            num_nodes=settings.num_nodes,
            precision=precision,
            accumulate_grad_batches=settings.grad_accum,
            use_distributed_sampler=False,  # the datamodule deals the rows (RankBatchSampler)
            gradient_clip_val=settings.max_grad_norm or None,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=settings.enable_progress_bar,
            num_sanity_val_steps=0,
            logger=CSVLogger(root, name="lift"),
            default_root_dir=root,
            callbacks=[] if selection is None else [selection],
        )
        plan = datamodule.distribute(trainer.world_size, settings.grad_accum)
        device = trainer.strategy.root_device
        stack.enter_context(eager_attention_on_cpu(model, device))
        if precision == "bf16-mixed" and device.type == "cpu":
            stack.enter_context(weights_cast_once(model, trainable_too=False))
        trainer.fit(module, datamodule=datamodule)
        log_dir = trainer.logger.log_dir if settings.default_root_dir else None
    effective = effective_training(trainer, precision, plan)
    return TrainingOutcome(module, selection, precision, device, trainer.global_step, log_dir, effective)
