"""Prediction throughput of `benchmark.lift.lm.predict` against its floor, at each batch size asked.

The floor is the least work any way of reading an answer from the model must do: one forward pass
over each prompt, batched exactly as prediction batches (`eval_batch_size` prompts sorted by length,
left-padded, positions over real tokens) with the LM head on the last position only and no KV cache.
Class scoring (`score_classes`: that pass with the K class completions in the same pass) and greedy
generation (`generate`) are timed on the same prompts; their ratio to the floor is the cost of
scoring or generating beyond the unavoidable forward pass.

Generation runs `max_new_tokens` = the tokens of the longest class answer (" 2@@@"): a model that has
learned the format emits exactly those and its stop marker then ends the batch, while an untrained
model (as here) never emits the marker and runs to the limit, so the work per row is the same as a
fitted model's (`generated_tokens_mean` says what it generated). Beyond the floor's pass, generation
runs one decode step per further token: each step reads every weight of the model for one token per
row, so its time grows far more slowly than its rows (`decode_step`: one step at the batch's rows and
at one row, timed alone). The three calls take turns over several rounds (fewer where a batch size's rounds
pass `ROUNDS_BUDGET_S`, on a slow machine); each result is the best round. All run as a LIFT run
predicts (`benchmark.lift.lm.execution.predicting_in`): in the precision `precision: auto` gives a
LIFT run on these rows (bf16 autocast with the weights cast once where this machine measures bf16
faster) and with eager attention on a CPU.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache

from benchmark.bench.measure import interleaved_best, model_readings
from benchmark.lift.lm.execution import causal_lm, predicting_in
from benchmark.lift.lm.flops import ModelShape
from benchmark.lift.lm.loading import (
    LoadedLM,
    load_causal_lm,
    pad_batch,
    position_ids_from_mask,
    tokenize_completions,
    tokenize_prompts,
)
from benchmark.lift.lm.predict import generate, score_classes
from benchmark.lift.params import LIFT_DEFAULTS
from benchmark.lift.precision import choose_precision
from benchmark.lift.serialization import get_serializer, serialize_rows
from tasks.registry import load_task

SEPARATOR = " "
PEAK_BUDGET_S = 1.0  # the model's linear maps at a floor batch's tokens, fp32 and bf16
DECODE_STEPS = 3  # decode steps timed in a row after a prompt pass; the best counts
ROUNDS_BUDGET_S = 30.0  # per batch size: no round of floor / score / generate starts after this


def floor_batches(
    lm: LoadedLM, prompts: list[str], batch_size: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The floor's batches: length-sorted prompts, `batch_size` at a time, left-padded (ids, mask)."""
    ids = tokenize_prompts(lm.tokenizer, prompts)
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    return [
        pad_batch([ids[i] for i in order[start : start + batch_size]], lm.tokenizer.pad_token_id, side="left")
        for start in range(0, len(order), batch_size)
    ]


def prompt_forward(lm: LoadedLM, prompts: list[str], batch_size: int) -> None:
    """The floor (module docstring): one forward pass per batch of length-sorted prompts, the head on
    the last position."""
    with torch.inference_mode():
        for input_ids, mask in floor_batches(lm, prompts, batch_size):
            lm.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=position_ids_from_mask(mask),
                use_cache=False,
                logits_to_keep=1,
            )


def decode_step_seconds(lm: LoadedLM, input_ids: torch.Tensor, mask: torch.Tensor, steps: int) -> float:
    """One greedy decode step of the batch (`input_ids`, left-padded, and its mask) after its prompt
    pass: one new token per row from the KV cache, the head on it; the best of `steps` steps in a row."""
    # The cache is filled in place; its keyword is `cache` from transformers 5, `past_key_values` before.
    cache = {_cache_keyword(lm.model): DynamicCache()}

    def forward(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> Any:
        return lm.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **cache,
        )

    positions = position_ids_from_mask(mask)
    best = math.inf
    with torch.inference_mode():
        out = forward(input_ids, mask, positions)
        for _ in range(steps):
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            positions = positions[:, -1:] + 1
            start = time.perf_counter()
            out = forward(token, mask, positions)
            best = min(best, time.perf_counter() - start)
    return best


def _cache_keyword(model: torch.nn.Module) -> str:
    forward = causal_lm(model).forward  # a peft wrapper's forward takes **kwargs: ask the model inside
    return "cache" if "cache" in inspect.signature(forward).parameters else "past_key_values"


def measure_prediction(model: str, task_name: str, batch_sizes: Sequence[int], rounds: int) -> dict[str, Any]:
    """Samples/s of class scoring, greedy generation and the prompt-forward floor at each of
    `batch_sizes`, on as many prompts as the largest batch (at most the task's rows), and a decode step
    at each batch size and at one row."""
    data = load_task(task_name)
    serializer = get_serializer("lift").bind(data)
    prompts = [e.prompt for e in serialize_rows(serializer, data.X.iloc[: max(batch_sizes)])]
    answers = [serializer.completion(k) for k in range(len(data.classes or ()))]
    completions = [SEPARATOR + a for a in answers]
    lm = load_causal_lm(model)
    answer_tokens = max(len(ids) for ids in tokenize_completions(lm.tokenizer, completions))
    stop = serializer.options.completion_end
    prompt_ids = tokenize_prompts(lm.tokenizer, prompts)
    # The precision a LIFT run on these rows trains, then predicts, in (its probe: a training batch).
    training_tokens = LIFT_DEFAULTS["batch_size"] * (max(map(len, prompt_ids)) + answer_tokens)
    choice = choose_precision(LIFT_DEFAULTS["precision"], "cpu", lm.model, training_tokens)
    dtype = "bfloat16" if choice.precision.startswith("bf16") else "float32"
    shape = ModelShape.of(lm.model)
    by_batch = []
    texts: list[list[str]] = []

    def generate_all(batch_size: int) -> None:
        texts[:] = generate(lm, prompts, stop=stop, max_new_tokens=answer_tokens, batch_size=batch_size)

    with predicting_in(lm.model, choice.precision):
        one_row = decode_step_seconds(lm, *floor_batches(lm, prompts[:1], 1)[0], DECODE_STEPS)
        for batch_size in sorted(set(batch_sizes)):
            seconds, measured_rounds = interleaved_best(
                {
                    "floor": lambda b=batch_size: prompt_forward(lm, prompts, b),
                    "score": lambda b=batch_size: score_classes(lm, prompts, completions, batch_size=b),
                    "generate": lambda b=batch_size: generate_all(b),
                },
                rounds,
                ROUNDS_BUDGET_S,
            )
            batches = floor_batches(lm, prompts, batch_size)
            result: dict[str, Any] = {
                "batch_size": batch_size,
                "batches": len(batches),
                "rounds": measured_rounds,
            }
            for name, value in seconds.items():
                result[name] = {"seconds": value, "samples_per_s": len(prompts) / value}
                if name != "floor":
                    result[name]["vs_floor"] = value / seconds["floor"]
            flops = sum(shape.forward_flops(*ids.shape, head_positions=ids.shape[0]) for ids, _ in batches)
            result["floor"].update(flops=flops, flops_per_s=flops / seconds["floor"], dtype=dtype)
            step = decode_step_seconds(lm, *batches[0], DECODE_STEPS)
            steps_s = (answer_tokens - 1) * len(batches) * step
            result["decode_step"] = {
                "seconds": step,
                "one_row_seconds": one_row,
                "steps_per_batch": answer_tokens - 1,
                "steps_vs_floor": steps_s / seconds["floor"],
                # generation against the work it cannot skip: the floor's pass and its decode steps
                "generate_vs_floor_and_steps": seconds["generate"] / (seconds["floor"] + steps_s),
            }
            by_batch.append(result)
    largest_batch_tokens = max(ids.numel() for ids, _ in floor_batches(lm, prompts, max(batch_sizes)))
    return {
        "model": model,
        "task": task_name,
        "rows": len(prompts),
        "classes": len(completions),
        "precision": choice.record(),
        "rounds_asked": rounds,
        "prompt_tokens": sum(map(len, prompt_ids)),
        "max_new_tokens": answer_tokens,
        "generated_tokens_mean": sum(
            len(ids) for ids in tokenize_completions(lm.tokenizer, [t[0] for t in texts])
        )
        / len(texts),
        "by_batch": by_batch,
        "readings": model_readings(lm.model, f"{model} linear maps", largest_batch_tokens, PEAK_BUDGET_S),
    }
