"""Measuring primitives the bench sections share: the machine's matmul peak (the denominator of MFU),
the model-FLOP formulas, per-step clocks, and progress lines.

FLOPs per token, with N the base model's parameters (embeddings included, LoRA adapters not):
full fine-tuning 6N (forward 2N, backward 4N: gradients of activations and of weights); LoRA 4N
(forward 2N, backward through the activations 2N; the frozen base needs no weight gradients and the
adapters' own are about 2 r (d_in + d_out) per adapted layer, under 1 % of N at r = 8, left out);
inference 2N. Attention scores (2 x layers x sequence x width per token) are left out: LIFT rows are
short (tens of tokens), where they add about 1 %.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

FLOPS_PER_TOKEN_FACTOR = {"full": 6, "lora": 4, "inference": 2}


def model_flops(n_parameters: int, tokens: int, mode: str) -> float:
    """Model FLOPs of processing `tokens` tokens (module docstring: the formula per mode)."""
    return float(FLOPS_PER_TOKEN_FACTOR[mode] * n_parameters * tokens)


@dataclass(frozen=True)
class MatmulPeak:
    size: int
    reps: int
    rounds: int
    threads: int
    fp32_flops_per_s: float  # the best of the timed rounds
    bf16_flops_per_s: float


def matmul_peak(size: int, reps: int, rounds: int = 3) -> MatmulPeak:
    """FLOP/s of `size` x `size` matmuls in fp32 (and bf16, for the record), with torch's threads as
    configured: the best of `rounds` rounds of `reps` products after one untimed product."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)

    def best_rate(x: torch.Tensor, y: torch.Tensor) -> float:
        torch.mm(x, y)
        seconds = min(_timed(lambda: [torch.mm(x, y) for _ in range(reps)]) for _ in range(rounds))
        return 2.0 * size**3 * reps / seconds

    return MatmulPeak(
        size=size,
        reps=reps,
        rounds=rounds,
        threads=torch.get_num_threads(),
        fp32_flops_per_s=best_rate(a, b),
        bf16_flops_per_s=best_rate(a.bfloat16(), b.bfloat16()),
    )


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def interleaved_best(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Seconds of each call, the best of `rounds` rounds (other processes on a shared machine only
    ever add time), the calls taking turns within a round so a change of load hits them alike; one
    untimed call of each first."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            seconds[name].append(_timed(call))
    return {name: min(values) for name, values in seconds.items()}


@dataclass
class StepClock:
    """Start times of training steps, taken by a forward pre-hook on the input embedding (it runs once
    per forward pass, at its start), with the padded shape of each step's batch; `stop()` closes the
    last step."""

    starts: list[float] = field(default_factory=list)
    shapes: list[tuple[int, int]] = field(default_factory=list)
    end: float | None = None

    def attach(self, model: torch.nn.Module) -> torch.utils.hooks.RemovableHandle:
        def on_forward(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            self.starts.append(time.perf_counter())
            self.shapes.append(tuple(args[0].shape))

        return model.get_input_embeddings().register_forward_pre_hook(on_forward)

    def stop(self) -> None:
        self.end = time.perf_counter()

    def step_seconds(self) -> list[float]:
        if self.end is None:
            raise RuntimeError("the clock was not stopped")
        bounds = [*self.starts, self.end]
        return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


@dataclass(frozen=True)
class StepStats:
    """Timed (post-warm-up) training steps: rows, real (non-pad) and padded tokens, seconds."""

    steps: int
    rows: int
    real_tokens: int
    padded_tokens: int
    seconds: float
    median_step_seconds: float

    @classmethod
    def from_steps(
        cls, seconds: Sequence[float], rows: Sequence[int], real: Sequence[int], padded: Sequence[int]
    ) -> StepStats:
        return cls(
            steps=len(seconds),
            rows=sum(rows),
            real_tokens=sum(real),
            padded_tokens=sum(padded),
            seconds=sum(seconds),
            median_step_seconds=statistics.median(seconds),
        )


class Progress:
    """One line per event on stderr, with the seconds since the bench started."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[bench {time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)
