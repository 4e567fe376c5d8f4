"""Time a language model as a `lift` run uses it on this machine (for `profile`).

The model is loaded and prepared for fine-tuning as a run does (`load_causal_lm`,
`prepare_for_finetuning` with LIFT's default LoRA), trained with LIFT's own trainer (`train_lift`) in
the precision a run asking for the same `precision` gets (`precision: auto` reads the machine's kept
decision; prediction then runs as `lift` predicts, `predicting_in` the precision chosen), one
epoch over `TRAIN_BATCHES` batches of LIFT prompts of a 4-feature synthetic task (about iris's
length), then scores and generates for `PREDICT_ROWS` prompts in a prediction batch of LIFT's
`eval_batch_size`. Rates are per real token; the first training batch (allocations) is included, as
every run pays it once. Time is bounded by these sizes: a few training steps and two passes of
prediction.

Generation is timed with a stop marker that never appears, so each batch decodes exactly
`DECODE_STEPS` tokens; one decoding step of a batch is what is left after the prompt's forward pass
(at the scoring rate), divided by the steps. It is timed at the prediction batch and at
`SMALL_BATCH` rows: a step costs the weights' pass whatever the batch, plus a share per row, so a run
predicting in larger batches takes fewer, dearer steps (`LMRates.decode_s`).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from collections.abc import Sequence

import numpy as np

from benchmark.estimate.profile import LMRates
from benchmark.lift.data import LiftDataModule
from benchmark.lift.lm.execution import predicting_in
from benchmark.lift.lm.loading import LoadedLM, load_causal_lm, tokenize_completions, tokenize_prompts
from benchmark.lift.lm.predict import generate, score_classes
from benchmark.lift.module import OptimizerSettings, prepare_for_finetuning, train_lift
from benchmark.lift.params import LiftParams
from benchmark.lift.precision import FP32, choose_precision
from benchmark.lift.serialization import get_serializer, serialize_rows
from tasks.registry import load_task

TRAIN_BATCHES = 3
PREDICT_ROWS = 16  # one prediction batch
SMALL_BATCH = 4  # decoding is timed at this batch too: a step's cost per row
DECODE_STEPS = 6
NEVER_STOP = "\u241e\u241e"  # a marker no model writes: generation runs its full length


def probe_lm(model: str, finetune: str, precision: str | None = None) -> LMRates:
    """Load, training and prediction speeds of `model` fine-tuned by `finetune` in the precision a run
    asking for `precision` gets (module docstring)."""
    params = LiftParams(kind="classification", model=model, finetune=finetune, precision=precision)
    data = load_task("blobs", n=params.batch_size * TRAIN_BATCHES + PREDICT_ROWS, dims=4, centers=3)
    serializer = get_serializer(params.serializer).bind(data)
    y = data.y.to_numpy()
    train = slice(0, params.batch_size * TRAIN_BATCHES)
    start = time.perf_counter()
    loaded = load_causal_lm(model)
    net, _ = prepare_for_finetuning(loaded.model, finetune, params.lora())
    lm = dataclasses.replace(loaded, model=net)
    load_s = time.perf_counter() - start
    trainer_start_s, train_tokens_per_s, chosen = 0.0, 0.0, FP32
    if finetune != "none":
        datamodule = LiftDataModule(
            serializer, lm.tokenizer, data.X.iloc[train], y[train], batch_size=params.batch_size, seed=0
        )
        datamodule.setup("fit")
        chosen = choose_precision(
            params.precision, params.accelerator, net, params.batch_size * max(datamodule.lengths)
        ).precision
        settings = dataclasses.replace(
            params.trainer(), epochs=1, precision=chosen, enable_progress_bar=False
        )
        start = time.perf_counter()
        outcome = train_lift(
            net,
            datamodule,
            evaluate=lambda: 0.0,
            optimizer=OptimizerSettings(warmup_steps=1),
            trainer_settings=settings,
        )
        wall = time.perf_counter() - start
        net.to(outcome.device).eval()
        module = outcome.module
        train_tokens_per_s = module.tokens_seen / module.train_seconds
        trainer_start_s = max(wall - module.train_seconds, 0.0)
    prompts = [e.prompt for e in serialize_rows(serializer, data.X.iloc[train.stop :])]
    completions = [params.separator + serializer.completion(k) for k in range(len(data.classes or ()))]
    with predicting_in(net, chosen):
        score_tokens_per_s = _score_rate(lm, prompts, completions, params.eval_batch_size)
        decode_step_s = _decode_step(lm, prompts, params.eval_batch_size, score_tokens_per_s)
        small = prompts[:SMALL_BATCH]
        small_step_s = _decode_step(lm, small, SMALL_BATCH, score_tokens_per_s)
    decode_row_s = max(decode_step_s - small_step_s, 0.0) / (params.eval_batch_size - SMALL_BATCH)
    del lm, net, loaded
    gc.collect()
    return LMRates(
        load_s=load_s,
        trainer_start_s=trainer_start_s,
        train_tokens_per_s=train_tokens_per_s,
        score_tokens_per_s=score_tokens_per_s,
        decode_step_s=decode_step_s,
        eval_batch_size=params.eval_batch_size,
        decode_row_s=decode_row_s,
    )


def _score_rate(lm: LoadedLM, prompts: list[str], completions: Sequence[str], batch_size: int) -> float:
    """Prompt plus class-completion tokens scored per second (after one untimed batch)."""
    score_classes(lm, prompts[:2], completions, batch_size=batch_size)
    start = time.perf_counter()
    score_classes(lm, prompts, completions, batch_size=batch_size)
    seconds = time.perf_counter() - start
    prompt_tokens = sum(len(ids) for ids in tokenize_prompts(lm.tokenizer, prompts))
    answer_tokens = sum(len(ids) for ids in tokenize_completions(lm.tokenizer, list(completions)))
    return (prompt_tokens + len(prompts) * answer_tokens) / seconds


def _decode_step(lm: LoadedLM, prompts: list[str], batch_size: int, score_tokens_per_s: float) -> float:
    """Seconds of one decoding step of a prediction batch (module docstring)."""
    start = time.perf_counter()
    generate(lm, prompts, stop=NEVER_STOP, max_new_tokens=DECODE_STEPS, batch_size=batch_size)
    seconds = time.perf_counter() - start
    prompt_tokens = float(np.sum([len(ids) for ids in tokenize_prompts(lm.tokenizer, prompts)]))
    steps = math.ceil(len(prompts) / batch_size) * DECODE_STEPS
    return max(seconds - prompt_tokens / score_tokens_per_s, 0.0) / steps
