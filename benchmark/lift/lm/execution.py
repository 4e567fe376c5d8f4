"""How a causal LM runs on a CPU in LIFT: the attention kernel, and bf16 autocast without recasting
weights that do not change.

Attention: on a CPU LIFT runs the plain (eager) attention, in training, validation and prediction
alike, so that the rows that choose the epoch and the rows that are tested go through the same
kernels. At LIFT's short rows the fused SDPA kernel is the slower one (SmolLM2 LoRA steps of 8 x 45
tokens: 1.4x faster eager in bf16, 1.06x in fp32; class scoring and generation 3-5 % faster).

Weights: CPU autocast casts a linear map's fp32 weight to bf16 on every call, and keeps a cast for the
rest of the autocast region only for weights that train. So a frozen weight (LoRA's base model while
training; every weight while predicting) is cast again on every forward pass: for SmolLM2 a
134M-parameter cast per pass, 15 % of class scoring, 19 % of generation (once per new token) and 9 % of
a LoRA step. `weights_cast_once` casts each such weight once for the block and puts the fp32 weights
back after; autocast then finds them already bf16, and every product is bit for bit what it was (the
same round-to-nearest cast, done once instead of each call). It needs memory for the bf16 copies (half
the fp32 weights' size) and is skipped where that is not free.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psutil
import torch

BF16 = torch.bfloat16
FREE_MEMORY_SHARE = 0.5  # the bf16 copies are made only while they fit in half the available memory


def causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    """The Hugging Face causal LM inside a peft wrapper (the model itself when not wrapped)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def attention_on(model: torch.nn.Module, device: torch.device) -> str | None:
    """The attention implementation LIFT runs `model` with on `device` (a run records it): "eager" on
    a CPU where the model would use SDPA and can switch, else the model's own (None if it names none)."""
    lm = causal_lm(model)
    own = getattr(lm.config, "_attn_implementation", None)
    switches = device.type == "cpu" and own == "sdpa" and hasattr(lm, "set_attn_implementation")
    return "eager" if switches else own


@contextlib.contextmanager
def eager_attention_on_cpu(model: torch.nn.Module, device: torch.device) -> Iterator[None]:
    """The plain (eager) attention while on a CPU (module docstring); the model's own implementation
    is back afterwards. Elsewhere, and for models that cannot switch, nothing changes."""
    lm = causal_lm(model)
    before = getattr(lm.config, "_attn_implementation", None)
    if attention_on(model, device) == before:
        yield
        return
    lm.set_attn_implementation("eager")
    try:
        yield
    finally:
        lm.set_attn_implementation(before)


@contextlib.contextmanager
def weights_cast_once(model: torch.nn.Module, *, trainable_too: bool) -> Iterator[int]:
    """Within the block, the fp32 weights of `model`'s linear maps on a CPU are bf16 copies (module
    docstring); yields how many parameters were cast. Only frozen weights, unless `trainable_too`
    (prediction, where nothing trains). A weight shared with another module (a head tied to the
    embedding) is replaced in the linear map only: the embedding keeps reading fp32, as under autocast.
    Use it inside a bf16 autocast region: outside one, the products would run in bf16 where they
    otherwise run in fp32."""
    chosen = [
        module
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
        and module.weight.dtype == torch.float32
        and module.weight.device.type == "cpu"
        and (trainable_too or not module.weight.requires_grad)
    ]
    unique = {id(m.weight): m.weight for m in chosen}
    copy_bytes = sum(w.numel() for w in unique.values()) * torch.finfo(BF16).bits // 8
    if not chosen or copy_bytes > FREE_MEMORY_SHARE * psutil.virtual_memory().available:
        yield 0
        return
    copies = {key: torch.nn.Parameter(w.detach().to(BF16), requires_grad=False) for key, w in unique.items()}
    originals = [(module, module.weight) for module in chosen]
    for module, weight in originals:
        module.weight = copies[id(weight)]
    try:
        yield sum(c.numel() for c in copies.values())
    finally:
        for module, weight in originals:
            module.weight = weight


@contextlib.contextmanager
def predicting_in(model: torch.nn.Module, precision: str) -> Iterator[None]:
    """How LIFT predicts with `model` after training in `precision` (a Lightning precision name): eager
    attention on a CPU, and where training ran bf16, bf16 autocast with the weights cast once."""
    device = next(model.parameters()).device
    with contextlib.ExitStack() as stack:
        stack.enter_context(eager_attention_on_cpu(model, device))
        if precision.startswith("bf16"):
            stack.enter_context(torch.autocast(device.type, dtype=BF16))
            stack.enter_context(weights_cast_once(model, trainable_too=True))
        yield
