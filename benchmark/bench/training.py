"""Training throughput of LIFT fine-tuning, ours against the same training written plainly.

Ours is the real path: `LiftDataModule` (cached token ids, batches padded to their own longest row,
length-grouped) and `LiftModule` with the completion-only loss on the gathered answer positions,
trained by `train_lift` (a Lightning Trainer) for one epoch over exactly `warmup + timed` batches.
Steps are timed from one forward start to the next (`StepClock`); the last step ends when the
epoch-end evaluation is called. The first `warmup` steps (optimizer state, allocator) are not counted.
Ours and the plain loop take turns for `rounds` rounds and each side's fastest round counts (other
processes on a shared machine only ever add time).

The plain reference trains the same model on the same rows with AdamW at the same rate: a seeded
shuffle, every batch tokenised anew and padded to the longest row of the whole data set (the paper's
padding), and the model's own loss over all positions (-100 labels), i.e. the LM head on every
position. Its steps are timed from batch assembly to the end of the optimizer step.

Ours trains in the precision a LIFT run takes by default (`precision: auto`: bf16 where this machine's
probe measures it faster, `benchmark.lift.precision`); the plain loop in fp32.

Tokens are counted as real (non-pad) tokens on both sides, so the ratio of tokens/s compares useful
work; padded tokens are reported beside them. FLOPs are those executed (`benchmark.lift.lm.flops`:
padded positions included, the head where each side computes it), so MFU = executed FLOP/s / the
peak of the precision the side trained in (`benchmark.bench.measure`) can never exceed 1.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmark.bench.measure import StepClock, StepStats, model_readings
from benchmark.lift.data import LiftDataModule
from benchmark.lift.lm.bundled import load_bundled_tokenizer
from benchmark.lift.lm.flops import ModelShape
from benchmark.lift.lm.loading import (
    IGNORE_INDEX,
    LoadedLM,
    encode_example,
    load_causal_lm,
    prepare_tokenizer,
)
from benchmark.lift.module import (
    LoraSettings,
    OptimizerSettings,
    TrainerSettings,
    count_parameters,
    prepare_for_finetuning,
    train_lift,
)
from benchmark.lift.params import LIFT_DEFAULTS
from benchmark.lift.precision import PrecisionChoice, choose_precision
from benchmark.lift.serialization import Example, Serializer, get_serializer, serialize_rows
from tasks.registry import load_task

GPT2_SMALL_RANDOM = "gpt2-small-random"  # transformers.GPT2Config() sizes, random weights, SmolLM2 tokenizer
SEPARATOR = " "
LEARNING_RATES = {"lora": 1e-3, "full": 5e-5}
MAX_GRAD_NORM = 1.0  # as LiftParams' default, on both sides
PEAK_BUDGET_S = 2.0  # per model: its linear maps at a batch's tokens, fp32 and bf16


@dataclass(frozen=True)
class TrainingCase:
    model: str  # a `load_causal_lm` name, or GPT2_SMALL_RANDOM
    finetune: str  # "lora" or "full"
    batch_size: int
    warmup_steps: int  # run, not timed
    timed_steps: int
    rounds: int = 2  # ours and plain take turns; each side's fastest round counts
    task: str = "iris"

    @property
    def rows(self) -> int:
        return self.batch_size * (self.warmup_steps + self.timed_steps)


def load_bench_lm(name: str, seed: int = 0) -> LoadedLM:
    """`load_causal_lm(name)`, or a GPT-2-small-sized random model with the bundled SmolLM2 tokenizer
    (its 49,152 ids fit GPT-2's 50,257-row embedding) for GPT2_SMALL_RANDOM."""
    if name != GPT2_SMALL_RANDOM:
        return load_causal_lm(name, seed=seed)
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config).eval()
    return LoadedLM(
        model=model,
        tokenizer=prepare_tokenizer(load_bundled_tokenizer(), name),
        model_id=name,
        revision=f"random-init-seed{seed}",
        n_parameters=count_parameters(model, trainable_only=False),
        context_length=config.n_positions,
    )


def training_rows(task_name: str, n_rows: int, seed: int) -> tuple[Serializer, pd.DataFrame, np.ndarray]:
    """A task's serializer and `n_rows` of its rows in a seeded order (repeated when it has fewer)."""
    data = load_task(task_name)
    order = np.random.default_rng(seed).permutation(len(data.X))
    picked = np.resize(order, n_rows)
    serializer = get_serializer("lift").bind(data)
    return serializer, data.X.iloc[picked], data.y.to_numpy()[picked]


def time_ours(lm: LoadedLM, case: TrainingCase, seed: int, shape: ModelShape, precision: str) -> StepStats:
    """Timed steps of `train_lift` over `case.rows` rows in `precision` (module docstring)."""
    serializer, X, y = training_rows(case.task, case.rows, seed)
    datamodule = LiftDataModule(serializer, lm.tokenizer, X, y, batch_size=case.batch_size, seed=seed)
    datamodule.setup("fit")
    # The sampler's order depends on (seed, epoch) only: these are the batches the trainer will see.
    batches = list(datamodule.train_dataloader())
    clock = StepClock()
    handle = clock.attach(lm.model)

    def end_of_epoch() -> float:
        clock.stop()
        return 0.0

    try:
        train_lift(
            lm.model,
            datamodule,
            evaluate=end_of_epoch,
            direction="higher",
            optimizer=OptimizerSettings(lr=LEARNING_RATES[case.finetune], warmup_steps=case.warmup_steps),
            trainer_settings=TrainerSettings(
                epochs=1,
                max_grad_norm=MAX_GRAD_NORM,
                precision=precision,
                accelerator="cpu",
                devices=1,
                enable_progress_bar=False,
            ),
        )
    finally:
        handle.remove()
    shapes = [tuple(b["input_ids"].shape) for b in batches]
    if clock.shapes != shapes:
        raise RuntimeError(f"the trainer ran batches {clock.shapes}, not the expected {shapes}")
    timed = slice(case.warmup_steps, None)
    return StepStats.from_steps(
        clock.step_seconds()[timed],
        rows=[b["input_ids"].shape[0] for b in batches[timed]],
        real=[int(b["attention_mask"].sum()) for b in batches[timed]],
        padded=[b["input_ids"].numel() for b in batches[timed]],
        flops=[
            shape.training_flops(*b["input_ids"].shape, int((b["labels"][:, 1:] != IGNORE_INDEX).sum()))
            for b in batches[timed]
        ],
    )


def time_plain(lm: LoadedLM, case: TrainingCase, seed: int, shape: ModelShape) -> StepStats:
    """Timed steps of the plain reference loop (module docstring) on the same rows as `time_ours`."""
    serializer, X, y = training_rows(case.task, case.rows, seed)
    examples = serialize_rows(serializer, X, y)
    tokenizer, model = lm.tokenizer, lm.model
    width = max(len(encode_example(tokenizer, e.prompt, e.completion, SEPARATOR)[0]) for e in examples)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATES[case.finetune], weight_decay=0.01)
    order = np.random.default_rng(seed).permutation(len(examples))
    model.train()
    seconds, rows, real, padded, flops = [], [], [], [], []
    for step in range(case.warmup_steps + case.timed_steps):
        start = time.perf_counter()
        picked = [examples[i] for i in order[step * case.batch_size : (step + 1) * case.batch_size]]
        input_ids, attention_mask, labels = _padded_to(tokenizer, picked, width)
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= case.warmup_steps:
            seconds.append(time.perf_counter() - start)
            rows.append(len(picked))
            real.append(int(attention_mask.sum()))
            padded.append(input_ids.numel())
            flops.append(shape.training_flops(*input_ids.shape, head_positions=input_ids.numel()))
    model.eval()
    return StepStats.from_steps(seconds, rows, real, padded, flops)


def _padded_to(
    tokenizer: Any, examples: Sequence[Example], width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    input_ids = torch.full((len(examples), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for row, example in enumerate(examples):
        ids, row_labels = encode_example(tokenizer, example.prompt, example.completion, SEPARATOR)
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention_mask[row, : len(ids)] = 1
        labels[row, : len(ids)] = torch.tensor(row_labels)
    return input_ids, attention_mask, labels


def throughput(stats: StepStats) -> dict[str, Any]:
    """Rates of timed steps, and executed FLOP/s (MFU: over the peak, filled in by the bench)."""
    return {
        **asdict(stats),
        "samples_per_s": stats.rows / stats.seconds,
        "tokens_per_s": stats.real_tokens / stats.seconds,
        "padded_tokens_per_s": stats.padded_tokens / stats.seconds,
        "padding_fraction": 1 - stats.real_tokens / stats.padded_tokens,
        "flops_per_s": stats.flops / stats.seconds,
    }


def measure_training_case(case: TrainingCase, seed: int = 0) -> dict[str, Any]:
    """Ours and the plain loop on one model and fine-tuning mode, the ratio of their tokens/s, the
    precision ours chose, and matmul readings at the model's shapes for the peak."""
    lm = load_bench_lm(case.model, seed)
    n_parameters = lm.n_parameters
    model, described = prepare_for_finetuning(lm.model, case.finetune, LoraSettings())
    lm.model = model
    shape = ModelShape.of(model)
    serializer, X, y = training_rows(case.task, case.batch_size, seed)
    widths = [
        len(encode_example(lm.tokenizer, e.prompt, e.completion, SEPARATOR)[0])
        for e in serialize_rows(serializer, X, y)
    ]
    batch_tokens = case.batch_size * max(widths)
    choice: PrecisionChoice = choose_precision(LIFT_DEFAULTS["precision"], "cpu", model, batch_tokens)
    readings = model_readings(model, f"{case.model} linear maps", batch_tokens, PEAK_BUDGET_S)
    rounds: dict[str, list[StepStats]] = {"ours": [], "plain": []}
    for _ in range(case.rounds):  # taking turns, so a change of load on a shared machine hits both alike
        rounds["ours"].append(time_ours(lm, case, seed, shape, choice.precision))
        rounds["plain"].append(time_plain(lm, case, seed, shape))
    ours, plain = (throughput(min(rounds[side], key=lambda s: s.seconds)) for side in ("ours", "plain"))
    del lm, model
    gc.collect()
    return {
        **asdict(case),
        "parameters": n_parameters,
        "trainable_parameters": described["trainable_parameters"],
        "linear_flops_per_token": shape.linear_flops_per_token(),
        "precision": choice.record(),
        "ours": {**ours, "dtype": "bfloat16" if choice.precision.startswith("bf16") else "float32"},
        "plain": {**plain, "dtype": "float32"},
        "tokens_per_s_vs_plain": ours["tokens_per_s"] / plain["tokens_per_s"],
        "readings": readings,
    }
