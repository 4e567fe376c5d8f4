"""Two-stage fine-tuning: pretext tasks first, then the target (lift-spec.md §5.3, the paper's `-m`).

The `lift` parameter `two_stage` picks the arm:

* "none" (default): plain LIFT.
* "ift": stage 1 trains on the two pretext tasks in passes task 1, task 2, task 1, task 2, each pass
  `pretext_epochs` epochs (the paper: 3); stage 2 is plain LIFT on the target, its epoch selected on
  the target's validation rows.
* "ft": the target only, i.e. plain LIFT, under an explicit name so a study can label the arm.
* "bl": stage 1 only; the target's rows are predicted with the last state of stage 1 (no target
  training, and so no selection).

Stage 1 uses the run's fine-tuning setting (the same LoRA adapters or full model that stage 2 goes on
training), optimizer settings and batch size. Each pass is a fresh Lightning Trainer, so AdamW, its
warmup and its decay restart at every pass, as the paper's code did (it built a new optimizer and
schedule at every call of its fine-tuner). Stage 1 selects nothing and reads no target rows: each pass
ends with its last state.

The pretext tasks (`benchmark.lift.pretext`: `pretext`, default by task kind; `pretext_rows` rows each,
all used for training) are written by the target's own serializer, options and feature names, with every
pretext feature numeric (so written with the serializer's float decimals), and the target's class
labels. The paper's prompts named the task instead ("Given task k, x1=..., What is the cluster?###",
k = 1, 2 for the pretext tasks and 3 for the target); here stage 1 trains on exactly the prompt format
that stage 2 and prediction use, and nothing in a prompt says which task it comes from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmark.lift.data import LiftDataModule
from benchmark.lift.lm.loading import LoadedLM
from benchmark.lift.module import train_lift
from benchmark.lift.params import LiftParams
from benchmark.lift.pretext import PretextTask, get_pretext
from benchmark.lift.serialization import Serializer
from benchmark.lift.serialization.accounting import check_fits_context, prompt_hash
from tasks.spec import TaskData

PASS_ORDER = (1, 2, 1, 2)  # pretext task of each stage-1 pass


@dataclass(frozen=True)
class PretextPass:
    """One stage-1 pass: which pretext task, its per-epoch mean training losses and its counts."""

    task: int
    losses: list[float | None]
    samples_seen: int
    tokens_seen: int
    optimizer_steps: int
    train_seconds: float


@dataclass(frozen=True)
class PretextStage:
    """What stage 1 did, and where the model ended (Lightning leaves it on the CPU)."""

    generator: str
    rows: int
    epochs: int
    tasks: list[PretextTask]
    prompt_hashes: list[str]
    passes: list[PretextPass]
    device: torch.device
    precision: str

    def record(self) -> dict[str, Any]:
        """The stage for `FitInfo.extra`."""
        return {
            "pretext": self.generator,
            "pretext_rows": self.rows,
            "pretext_epochs": self.epochs,
            "pretext_tasks": [
                {"task": i, "recipe": task.recipe, "prompt_hash": digest}
                for i, (task, digest) in enumerate(zip(self.tasks, self.prompt_hashes, strict=True), start=1)
            ],
            "stage1_passes": [dataclasses.asdict(p) for p in self.passes],
            "stage1_optimizer": "restarted at every pass (a fresh Trainer, AdamW and schedule per pass)",
            "stage1_precision": self.precision,
        }


def train_pretext_stage(
    model: torch.nn.Module,
    lm: LoadedLM,
    serializer: Serializer,
    task: TaskData,
    params: LiftParams,
    seed: int,
) -> PretextStage:
    """Stage 1 on `model` (already prepared for fine-tuning) for `task`, written by `serializer` (bound
    to the task): the passes of PASS_ORDER over the two pretext tasks drawn from `seed`."""
    generator = get_pretext(params.pretext, task.kind)
    names = serializer.context.feature_names
    tasks = generator.generate(
        task.kind,
        len(names),
        None if task.classes is None else len(task.classes),
        params.pretext_rows,
        seed,
        names,
    )
    pretext_serializer = serializer_for_pretext(serializer)
    datamodules = []
    for number, pretext in enumerate(tasks, start=1):
        datamodule = _datamodule(pretext_serializer, lm, pretext, params, seed)
        if lm.context_length is not None:
            check_fits_context(
                f"{task.name} (pretext task {number})", serializer.name, datamodule.lengths, lm.context_length
            )
        datamodules.append(datamodule)
    trainer_settings = dataclasses.replace(params.trainer(), epochs=params.pretext_epochs)
    passes = []
    for number, which in enumerate(PASS_ORDER, start=1):
        # a sampler seed per pass, so a task's second pass does not repeat the first one's row order
        pass_seed = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
        datamodule = _datamodule(pretext_serializer, lm, tasks[which - 1], params, pass_seed)
        outcome = train_lift(
            model,
            datamodule,
            evaluate=None,  # stage 1 selects nothing: each pass ends with its last state
            optimizer=params.optimizer(),
            trainer_settings=trainer_settings,
            gather_loss_positions=params.gather_loss_positions,
        )
        module = outcome.module
        passes.append(
            PretextPass(
                task=which,
                losses=list(module.epoch_losses),
                samples_seen=module.samples_seen,
                tokens_seen=module.tokens_seen,
                optimizer_steps=outcome.optimizer_steps,
                train_seconds=module.train_seconds,
            )
        )
    return PretextStage(
        generator=generator.name,
        rows=params.pretext_rows,
        epochs=params.pretext_epochs,
        tasks=tasks,
        prompt_hashes=[prompt_hash(pretext_serializer.settings(), dm.examples) for dm in datamodules],
        passes=passes,
        device=outcome.device,
        precision=outcome.precision,
    )


def serializer_for_pretext(serializer: Serializer) -> Serializer:
    """The target's serializer (same format, options, feature names and classes) bound to a context in
    which every feature is numeric, as the pretext tasks' features are."""
    context = serializer.context
    return serializer.bind(
        dataclasses.replace(context, feature_types=("numeric",) * len(context.feature_names))
    )


def _datamodule(
    serializer: Serializer, lm: LoadedLM, pretext: PretextTask, params: LiftParams, seed: int
) -> LiftDataModule:
    datamodule = LiftDataModule(
        serializer,
        lm.tokenizer,
        pretext.X,
        pretext.y,
        batch_size=params.batch_size,
        seed=seed,
        separator=params.separator,
    )
    datamodule.setup("fit")
    return datamodule
