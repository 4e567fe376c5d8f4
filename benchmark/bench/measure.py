"""Measuring primitives the bench sections share: the machine's matmul peaks (the denominators of
MFU), per-step clocks, and progress lines.

The peak of a dtype is the best rate of every product the bench timed in it: a square (`size`^2,
for comparison with other machines) and the linear maps of each model it measures at the tokens of
that model's batches (`benchmark.lift.lm.matmul_rate`), since a CPU can run a 576 x 1536 product at
a very different rate than a 2048^2 one. Every reading is time-bounded, bf16 included, which on a
CPU without native bf16 (no AVX-512 bf16 or AMX) runs 30-60x slower than fp32. The FLOPs divided by
it are those executed (`benchmark.lift.lm.flops`), so an MFU above 1 means a wrong count or a wrong
peak, and the bench fails.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmark.lift.lm.matmul_rate import MatmulRate, best_rate, linear_shapes, matmul_rate

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def square_readings(size: int, budget_s: float) -> list[dict[str, Any]]:
    """A `size`^2 product in fp32 and in bf16, each within about `budget_s`."""
    return [
        _reading(f"square {size}", matmul_rate(size, size, size, dtype, budget_s))
        for dtype in DTYPES.values()
    ]


def model_readings(model: torch.nn.Module, what: str, rows: int, budget_s: float) -> list[dict[str, Any]]:
    """Every linear map of `model` at `rows` rows (the tokens of one of its batches), in fp32 and in
    bf16, the two sharing `budget_s`."""
    shapes = linear_shapes(model)
    readings = []
    for dtype in DTYPES.values():
        _, rates = best_rate(shapes, rows, dtype, budget_s / len(DTYPES))
        readings += [_reading(what, rate) for rate in rates]
    return readings


def _reading(what: str, rate: MatmulRate) -> dict[str, Any]:
    return {"what": what, **dataclasses.asdict(rate)}


def peak_of(readings: Iterable[dict[str, Any]], dtype: str) -> float:
    """The best rate among `readings` in `dtype` ("float32" or "bfloat16")."""
    return max(r["flops_per_s"] for r in readings if r["dtype"] == dtype)


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def interleaved_best(
    calls: dict[str, Callable[[], object]], rounds: int, budget_s: float = math.inf
) -> tuple[dict[str, float], int]:
    """Seconds of each call, the best of up to `rounds` rounds (other processes on a shared machine only
    ever add time), the calls taking turns within a round so a change of load hits them alike; one
    untimed call of each first. No round starts once `budget_s` has passed since the first call (one
    round always runs), so a slow machine measures fewer rounds in bounded time. Returns the seconds and
    how many rounds ran."""
    started = time.perf_counter()
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for done in range(rounds):
        if done and time.perf_counter() - started > budget_s:
            break
        for name, call in calls.items():
            seconds[name].append(_timed(call))
    return {name: min(values) for name, values in seconds.items()}, len(seconds[next(iter(calls))])


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
    """Timed (post-warm-up) training steps: rows, real (non-pad) and padded tokens, executed FLOPs,
    seconds."""

    steps: int
    rows: int
    real_tokens: int
    padded_tokens: int
    flops: float
    seconds: float
    median_step_seconds: float

    @classmethod
    def from_steps(
        cls,
        seconds: Sequence[float],
        rows: Sequence[int],
        real: Sequence[int],
        padded: Sequence[int],
        flops: Sequence[float],
    ) -> StepStats:
        return cls(
            steps=len(seconds),
            rows=sum(rows),
            real_tokens=sum(real),
            padded_tokens=sum(padded),
            flops=sum(flops),
            seconds=sum(seconds),
            median_step_seconds=statistics.median(seconds),
        )


class Progress:
    """One line per event on stderr, with the seconds since the bench started."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[bench {time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)
