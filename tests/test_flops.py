"""Executed FLOPs (`benchmark.lift.lm.flops`) on a tiny Llama against a hand count, and the linear-map
part against what PyTorch's own FLOP counter sees the matmuls execute in a real step."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.lift.lm.flops import ModelShape
from benchmark.lift.lm.loading import IGNORE_INDEX, load_causal_lm
from benchmark.lift.lm.tiny import DEFAULT_SIZES
from benchmark.lift.module import LoraSettings, completion_loss, prepare_for_finetuning

H, M, LAYERS = DEFAULT_SIZES["hidden_size"], DEFAULT_SIZES["intermediate_size"], DEFAULT_SIZES["num_layers"]
R = 8  # LoRA rank, adapters on q_proj and v_proj (peft's default for llama)
ROWS, WIDTH = 3, 7
# per token: q, k, v, o (h x h each) and gate, up (h x m), down (m x h), 2 FLOPs per multiply-add
LINEAR = 2 * LAYERS * (4 * H * H + 3 * H * M)
ATTENTION = 2 * 2 * ROWS * WIDTH * WIDTH * H * LAYERS  # scores and values, 4 heads x 16 = h wide


def tiny_llama(finetune: str) -> tuple[torch.nn.Module, int]:
    lm = load_causal_lm("tiny-llama")
    model, _ = prepare_for_finetuning(lm.model, finetune, LoraSettings(r=R))
    return model, len(lm.tokenizer)


def batch(answer_tokens: int) -> dict[str, torch.Tensor]:
    ids = torch.randint(0, 300, (ROWS, WIDTH), generator=torch.Generator().manual_seed(0))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, -answer_tokens:] = ids[:, -answer_tokens:]
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def test_forward_counts_linear_maps_per_token_the_head_where_computed_and_attention() -> None:
    model, vocab = tiny_llama("none")
    shape = ModelShape.of(model)
    assert shape.linear_flops_per_token() == LINEAR == 163_840
    tokens = ROWS * WIDTH
    for head_positions in (ROWS, tokens):  # the last position per row (prediction); every position
        expected = tokens * LINEAR + 2 * head_positions * H * vocab + ATTENTION
        assert shape.forward_flops(ROWS, WIDTH, head_positions) == expected


def test_full_fine_tuning_is_three_forward_passes() -> None:
    model, vocab = tiny_llama("full")
    head = 2 * 5 * H * vocab
    expected = 3 * (ROWS * WIDTH * LINEAR + head + ATTENTION)
    assert ModelShape.of(model).training_flops(ROWS, WIDTH, head_positions=5) == expected


def test_lora_counts_the_frozen_base_activation_gradients_and_the_adapters_own() -> None:
    model, vocab = tiny_llama("lora")
    # the frozen base: forward, and the gradient of every input but the first layer's q, k, v
    # projections, which read the frozen embeddings
    base = LINEAR + (LINEAR - 2 * 3 * H * H)
    # four adapters (q, v in two layers), each A (h -> r) and B (r -> h): forward and weight gradients
    # of both; input gradients of B everywhere and of A in the second layer only
    adapters = 2 * (4 * 2 * (2 * H * R)) + 4 * 2 * H * R + 2 * 2 * H * R
    assert adapters == 22_528
    head = 2 * 5 * H * vocab * 2  # forward and the gradient of its input (the head is frozen)
    expected = ROWS * WIDTH * (base + adapters) + head + 3 * ATTENTION
    assert ModelShape.of(model).training_flops(ROWS, WIDTH, head_positions=5) == expected


@pytest.mark.parametrize("finetune", ["lora", "full", "none"])
@pytest.mark.parametrize("arch", ["tiny-llama", "tiny-gpt2"])
def test_linear_flops_match_what_the_matmuls_execute(arch: str, finetune: str) -> None:
    """PyTorch's FLOP counter sees every mm/addmm of a real gathered-loss step (attention runs in the
    fused SDPA kernel, which it does not see here, so attention is left out of the comparison)."""
    lm = load_causal_lm(arch)
    model, _ = prepare_for_finetuning(lm.model, finetune, LoraSettings(r=R))
    shape = ModelShape.of(model)
    step = batch(answer_tokens=2)
    head_positions = int((step["labels"][:, 1:] != IGNORE_INDEX).sum())
    with FlopCounterMode(display=False) as counter:
        loss = completion_loss(model, step)
        if finetune != "none":
            loss.backward()
    counts = counter.get_flop_counts()["Global"]
    matmuls = sum(n for op, n in counts.items() if str(op).split(".")[-1] in ("mm", "addmm"))
    attention = 2 * 2 * ROWS * WIDTH * WIDTH * shape.attention_width * shape.layers
    if finetune == "none":
        expected = shape.forward_flops(ROWS, WIDTH, head_positions) - attention
    else:
        expected = shape.training_flops(ROWS, WIDTH, head_positions) - 3 * attention
    assert matmuls == expected
