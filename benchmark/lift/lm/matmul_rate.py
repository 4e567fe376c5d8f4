"""Time-bounded matrix-product rates at a model's own shapes, and whether this CPU has native bf16.

Machines differ by 4x in fp32 and by 100x in bf16 (a CPU without AVX-512 bf16 multiplies bf16 at about
1.2 GFLOP/s, where one 2048^2 product takes 14 s), so no rate is assumed and no probe is unbounded:
`matmul_rate` starts with two rows and goes up to the rows asked for only as far as the rate it has
measured says the budget allows, so a slow dtype costs about the budget, never one full-size product,
and it reports the rate at the largest size it reached (`rows`, beside the rate, says which).

The shapes are the model's linear maps (`linear_shapes`): for a transformer, its attention and MLP
projections and its LM head, each at the number of tokens a batch holds.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

CPUINFO = Path("/proc/cpuinfo")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
FIRST_ROWS = 2  # one call costs 2 x 2 x inner x outer: a bf16 LM head without native bf16 ~50 ms


@dataclass(frozen=True)
class MatmulRate:
    """FLOP/s of `rows` x `inner` by `inner` x `outer` products in `dtype` (the best repetition)."""

    rows: int
    inner: int
    outer: int
    dtype: str
    flops_per_s: float
    reached_rows: bool  # False: the budget ran out before `rows` (the rate is at fewer rows)


def linear_shapes(model: torch.nn.Module, head: bool = True) -> list[tuple[int, int]]:
    """The distinct (in, out) features of the model's linear maps (`nn.Linear`, and transformers'
    `Conv1D` of GPT-2), the LM head with `head`, largest first; LoRA's own rank-r adapters left out
    (their products are too thin to say anything about the machine)."""
    head_module = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    shapes: set[tuple[int, int]] = set()
    for name, module in model.named_modules():
        if "lora_" in name or (module is head_module and not head):
            continue
        if isinstance(module, torch.nn.Linear):
            shapes.add((module.in_features, module.out_features))
        elif type(module).__name__ == "Conv1D":  # GPT-2's transposed linear: weight is (in, out)
            inner, outer = module.weight.shape
            shapes.add((int(inner), int(outer)))
    return sorted(shapes, key=lambda s: -s[0] * s[1])


def matmul_rate(
    rows: int, inner: int, outer: int, dtype: torch.dtype, budget_s: float, autocast: bool = False
) -> MatmulRate:
    """The rate of `F.linear` of a (rows, inner) input and an (outer, inner) weight in `dtype`, measured
    within about `budget_s`: FIRST_ROWS rows first, then the most rows up to `rows` that the rate just
    measured says fit the rest of the budget (three calls each: the best of them counts). With
    `autocast` the tensors stay fp32 and CPU autocast runs the product in `dtype`, casting the weight
    each call, as mixed-precision training does."""
    stored = torch.float32 if autocast else dtype
    weight = torch.full((outer, inner), 0.01, dtype=stored)  # constant: no time spent drawing numbers
    deadline = time.perf_counter() + budget_s
    size, rate = min(FIRST_ROWS, rows), 0.0
    while True:
        x = torch.full((size, inner), 0.01, dtype=stored)
        seconds = []
        with torch.autocast("cpu", dtype=dtype, enabled=autocast), torch.inference_mode():
            for _ in range(3):
                start = time.perf_counter()
                F.linear(x, weight)
                seconds.append(time.perf_counter() - start)
                if time.perf_counter() + seconds[-1] > deadline:
                    break
        rate = 2.0 * size * inner * outer / min(seconds)
        affordable = int((deadline - time.perf_counter()) * rate / (3 * 2 * inner * outer))
        if size >= rows or affordable <= size:
            break
        size = min(rows, affordable)
    return MatmulRate(size, inner, outer, str(dtype).removeprefix("torch."), rate, size == rows)


def best_rate(
    shapes: list[tuple[int, int]], rows: int, dtype: torch.dtype, budget_s: float, autocast: bool = False
) -> tuple[float, list[MatmulRate]]:
    """The best rate over `shapes` at `rows` rows, and each shape's measurement; `budget_s` is shared
    evenly by the shapes."""
    each = budget_s / max(1, len(shapes))
    rates = [matmul_rate(rows, inner, outer, dtype, each, autocast) for inner, outer in shapes]
    return max(r.flops_per_s for r in rates), rates


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what `platform` says."""
    try:
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """Whether the CPU multiplies bf16 in hardware (AVX-512 bf16 or AMX), from its flags."""
    checks = [
        getattr(torch.cpu, "_is_avx512_bf16_supported", None),
        getattr(torch.cpu, "_is_amx_tile_supported", None),
    ]
    if any(callable(check) and check() for check in checks):
        return True
    try:
        flags = CPUINFO.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)
