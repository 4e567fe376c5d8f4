"""Prediction throughput of `benchmark.lift.lm.predict` against its floor.

The floor is the least work any way of reading an answer from the model must do: one forward pass
over each prompt, batched exactly as prediction batches (`eval_batch_size` prompts sorted by length,
left-padded, positions over real tokens) with the LM head on the last position only and no KV cache.
Class scoring (`score_classes`: that pass with a cache, then one pass over the K class completions)
and greedy generation (`generate`) are timed on the same prompts; their ratio to the floor is the
cost of scoring or generating beyond the unavoidable forward pass.

Generation runs `max_new_tokens` = the tokens of the longest class answer (" 2@@@"): a model that has
learned the format emits exactly those and its stop marker then ends the batch, while an untrained
model (as here) never emits the marker and runs to the limit, so the work per row is the same as a
fitted model's (`generated_tokens_mean` says what it generated). The three calls take turns over
several rounds; each result is the best round. All three run as a LIFT run predicts
(`benchmark.lift.lm.execution.predicting_in`): in the precision `precision: auto` gives a LIFT run on
these rows (bf16 autocast with the weights cast once where this machine measures bf16 faster) and
with eager attention on a CPU.
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.bench.measure import interleaved_best, model_readings
from benchmark.lift.lm.execution import predicting_in
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


def measure_prediction(
    model: str, task_name: str, n_rows: int, batch_size: int, rounds: int
) -> dict[str, Any]:
    """Samples/s of class scoring, greedy generation and the prompt-forward floor on `n_rows` prompts."""
    data = load_task(task_name)
    serializer = get_serializer("lift").bind(data)
    prompts = [e.prompt for e in serialize_rows(serializer, data.X.iloc[:n_rows])]
    answers = [serializer.completion(k) for k in range(len(data.classes or ()))]
    completions = [SEPARATOR + a for a in answers]
    lm = load_causal_lm(model)
    answer_tokens = max(len(ids) for ids in tokenize_completions(lm.tokenizer, completions))
    stop = serializer.options.completion_end
    prompt_ids = tokenize_prompts(lm.tokenizer, prompts)
    # The precision a LIFT run on these rows trains, then predicts, in (its probe: a training batch).
    training_tokens = LIFT_DEFAULTS["batch_size"] * (max(map(len, prompt_ids)) + answer_tokens)
    choice = choose_precision(LIFT_DEFAULTS["precision"], "cpu", lm.model, training_tokens)
    with predicting_in(lm.model, choice.precision):
        texts = generate(lm, prompts, stop=stop, max_new_tokens=answer_tokens, batch_size=batch_size)
        seconds = interleaved_best(
            {
                "floor": lambda: prompt_forward(lm, prompts, batch_size),
                "score": lambda: score_classes(lm, prompts, completions, batch_size=batch_size),
                "generate": lambda: generate(
                    lm, prompts, stop=stop, max_new_tokens=answer_tokens, batch_size=batch_size
                ),
            },
            rounds,
        )
    prompt_tokens = sum(map(len, prompt_ids))
    result: dict[str, Any] = {
        "model": model,
        "task": task_name,
        "rows": len(prompts),
        "classes": len(completions),
        "batch_size": batch_size,
        "precision": choice.record(),
        "rounds": rounds,
        "prompt_tokens": prompt_tokens,
        "max_new_tokens": answer_tokens,
        "generated_tokens_mean": sum(
            len(ids) for ids in tokenize_completions(lm.tokenizer, [t[0] for t in texts])
        )
        / len(texts),
    }
    for name, value in seconds.items():
        result[name] = {"seconds": value, "samples_per_s": len(prompts) / value}
        if name != "floor":
            result[name]["vs_floor"] = value / seconds["floor"]
    batches, shape = floor_batches(lm, prompts, batch_size), ModelShape.of(lm.model)
    floor_flops = sum(shape.forward_flops(*ids.shape, head_positions=ids.shape[0]) for ids, _ in batches)
    dtype = "bfloat16" if choice.precision.startswith("bf16") else "float32"
    result["floor"].update(flops=floor_flops, flops_per_s=floor_flops / seconds["floor"], dtype=dtype)
    result["readings"] = model_readings(
        lm.model, f"{model} linear maps", max(ids.numel() for ids, _ in batches), PEAK_BUDGET_S
    )
    return result
