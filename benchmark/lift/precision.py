"""`precision: auto`: train in bf16 only where this machine measurably runs the model faster in it.

On a CUDA GPU with bf16 the choice is "bf16-mixed" (as Lightning users expect). On a CPU nothing is
assumed, because CPUs of one kind differ by two orders of magnitude in bf16: with AVX-512 bf16 a bf16
product here ran 2.2x the fp32 rate, without it at 1.2 GFLOP/s, 60x slower than fp32. So a short probe
(`PROBE_BUDGET_S` in all) times the model's own linear maps at a batch's tokens, under CPU autocast
(the weight cast each call included, as training pays it for weights that train: a conservative
reading for LoRA, whose frozen weights are cast once, `benchmark.lift.lm.execution`) and in fp32;
bf16 is chosen only when it is at least `BF16_MARGIN` times as fast: the matmuls are most but not all
of a step (norms, softmax and the optimizer stay fp32, and a fused fp32 AdamW is then not available),
and a 2.2x faster product gave 1.3-1.5x faster LoRA steps of SmolLM2 here. The choice and both rates go
into the run's record (`PrecisionChoice.record`).

The decision is made once per machine and model shape: it is kept in liftbench's cache
(`$LIFTBENCH_PRECISION_CACHE`, else `$LIFTBENCH_CACHE/precision/`; keyed by the CPU model, torch
version, threads, the model's linear shapes and the batch's tokens rounded up to a power of two,
`probe_rows`) and every later run reads it. A probe starved of time (another process took the CPU,
so it could not reach a batch's size within its budget, and measured per-call overhead instead) is
retried once with `STARVED_RETRY` times the budget; if it is starved again the run takes the kept
decision for the same model at the nearest other batch size (so the runs of a suite agree), else
the CPU's flags (native bf16: bf16), and nothing is kept. The same holds for a probe taken while
other processes used at least a quarter of the CPUs (`benchmark.core.other_load`): under load a
native-bf16 CPU measured bf16 at 0.77x fp32. A loaded machine measures both rates lower and their
ratio can cross the margin, so deciding afresh in every run would let two runs of one suite on one
machine train in different precisions (it did: iris in bf16, moons in fp32 in one `make run`).
Delete the folder to decide again.

"auto" is a run's default (`LiftParams.precision`), as the design asks (measure the precision at run
time, record what was chosen): what the machine decided is in every run's `precision_choice` and
effective configuration (`ran_with.precision`), and the report gives runs that trained in different
precisions different labels, never one table cell (`analysis.loading.params_as_run`).
`precision: null` keeps the fixed rule (fp32 on a CPU) and "32-true" asks for fp32 anywhere. The
comparisons made on iris (bundled SmolLM2, LoRA, split 0) do not favour either: at 6 epochs bf16
tested 0.67 against fp32's 0.90, at 8 epochs 0.93 against 0.83.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmark.core.other_load import WARN_SHARE, OtherLoad
from benchmark.lift.lm.bundled import cache_dir
from benchmark.lift.lm.matmul_rate import best_rate, cpu_has_native_bf16, cpu_model, linear_shapes

AUTO = "auto"
FP32, BF16 = "32-true", "bf16-mixed"
PROBE_BUDGET_S = 0.4
BF16_MARGIN = 1.25
STARVED_RETRY = 4  # a starved probe is retried with this many times the budget
PROBE_ROWS = (64, 4096)  # `probe_rows` stays within these


@dataclass(frozen=True)
class PrecisionChoice:
    """The Lightning precision a run trains in, and why."""

    precision: str
    requested: str
    reason: str
    fp32_flops_per_s: float | None = None  # the probe's rates, when it ran
    bf16_flops_per_s: float | None = None
    native_bf16: bool | None = None  # the CPU's flags, when the probe ran

    def record(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "requested": self.requested,
            "reason": self.reason,
            "fp32_flops_per_s": self.fp32_flops_per_s,
            "bf16_flops_per_s": self.bf16_flops_per_s,
            "native_bf16": self.native_bf16,
        }


def decide(fp32_flops_per_s: float, bf16_flops_per_s: float, native_bf16: bool) -> PrecisionChoice:
    """The CPU decision from measured rates (module docstring): bf16 when it wins by BF16_MARGIN."""
    ratio = bf16_flops_per_s / fp32_flops_per_s
    chosen = BF16 if ratio >= BF16_MARGIN else FP32
    verdict = "at least" if chosen == BF16 else "below"
    return PrecisionChoice(
        precision=chosen,
        requested=AUTO,
        reason=f"probe: bf16 autocast ran the model's products at {ratio:.2f}x fp32, {verdict} {BF16_MARGIN}x",
        fp32_flops_per_s=fp32_flops_per_s,
        bf16_flops_per_s=bf16_flops_per_s,
        native_bf16=native_bf16,
    )


def choose_precision(
    requested: str | None, accelerator: str, model: torch.nn.Module, rows: int
) -> PrecisionChoice:
    """The precision to train `model` in: `requested` itself unless it is None or "auto"; either way
    bf16-mixed on a CUDA GPU that supports it; on a CPU fp32 for None and, for "auto", the probe's
    decision at `rows` tokens per batch."""
    if requested not in (None, AUTO):
        return PrecisionChoice(precision=requested, requested=requested, reason="as requested")
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        gpu_bf16 = torch.cuda.is_bf16_supported()
        return PrecisionChoice(
            precision=BF16 if gpu_bf16 else FP32,
            requested=str(requested),
            reason=f"CUDA GPU {'with' if gpu_bf16 else 'without'} bf16",
        )
    if requested is None:
        return PrecisionChoice(precision=FP32, requested="None", reason="default on a CPU: fp32")
    rows = probe_rows(rows)
    path = decision_path(model, rows)
    cached = _read_decision(path)
    if cached is not None:
        return cached
    others = OtherLoad()
    fp32, bf16, reached = probe_rates(model, rows)
    if not reached:
        fp32, bf16, reached = probe_rates(model, rows, PROBE_BUDGET_S * STARVED_RETRY)
    busy = others.share()
    if not reached or busy >= WARN_SHARE:
        why = "starved" if not reached else f"taken while other processes used {busy:.0%} of the CPUs"
        return _not_measured(model, rows, fp32, bf16, why)
    choice = decide(fp32, bf16, native_bf16=cpu_has_native_bf16())
    _write_decision(path, choice)
    return choice


def _not_measured(model: torch.nn.Module, rows: int, fp32: float, bf16: float, why: str) -> PrecisionChoice:
    """The choice when the probe was starved or the machine busy (`why`: module docstring), not kept:
    this machine's kept decision for the model at the nearest other batch size, so the run trains as
    its siblings did (a fallback to fp32 had trained one of three vehicle splits in fp32, the others in
    bf16); with none kept, the CPU's flags (native bf16: bf16)."""
    low, high = PROBE_ROWS
    others = [1 << bits for bits in range(low.bit_length() - 1, high.bit_length()) if 1 << bits != rows]
    for other in sorted(others, key=lambda r: abs(r.bit_length() - rows.bit_length())):
        kept = _read_decision(decision_path(model, other))
        if kept is not None:
            reason = f"probe {why} at {rows} rows; this machine's decision for {other} rows: {kept.reason}"
            return PrecisionChoice(**{**asdict(kept), "reason": reason})
    native = cpu_has_native_bf16()
    return PrecisionChoice(
        precision=BF16 if native else FP32,
        requested=AUTO,
        reason=f"probe {why} at {rows} rows and no decision kept for this model: the CPU "
        f"{'has' if native else 'lacks'} native bf16; not kept",
        fp32_flops_per_s=fp32,
        bf16_flops_per_s=bf16,
        native_bf16=native,
    )


def probe_rows(rows: int) -> int:
    """The rows the probe runs at and is kept under: a batch's tokens rounded up to a power of two
    (within `PROBE_ROWS`), so the tasks of a suite share one decision rather than one each."""
    low, high = PROBE_ROWS
    return min(high, max(low, 1 << max(0, rows - 1).bit_length()))


def decision_path(model: torch.nn.Module, rows: int) -> Path:
    """Where this machine's decision for `model`'s shapes at `rows` tokens is kept (module docstring)."""
    key = {
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "shapes": linear_shapes(model, head=False),
        "rows": rows,
        "margin": BF16_MARGIN,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    folder = os.environ.get("LIFTBENCH_PRECISION_CACHE") or cache_dir() / "precision"
    return Path(folder).expanduser() / f"{digest}.json"


def _read_decision(path: Path) -> PrecisionChoice | None:
    """The kept decision, said to be one; None when there is none or it cannot be read (decide again)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        choice = PrecisionChoice(**kept["choice"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if choice.precision not in (FP32, BF16):
        return None
    reason = f"{choice.reason} (this machine's decision of {kept.get('decided_at', '?')}, kept in {path})"
    return PrecisionChoice(**{**asdict(choice), "reason": reason})


def _write_decision(path: Path, choice: PrecisionChoice) -> None:
    """Keep the decision for later runs; a cache that cannot be written only means deciding again."""
    record = {"choice": asdict(choice), "decided_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(record, indent=1), encoding="utf-8")
        partial.replace(path)  # atomic: a concurrent run reads the old file or the new one, never half
    except OSError:
        pass


def probe_rates(
    model: torch.nn.Module, rows: int, budget_s: float = PROBE_BUDGET_S
) -> tuple[float, float, bool]:
    """The fp32 and bf16-autocast rates of `model`'s linear maps at `rows` rows, each the harmonic mean
    over the distinct shapes (the rate of a pass that runs each once), within about `budget_s`; and
    whether every shape was measured at `rows` rows (False: the budget ran out first)."""
    shapes = linear_shapes(model, head=False)  # with the loss gathered, the head sees a few rows
    rates, reached = [], True
    for dtype, autocast in ((torch.float32, False), (torch.bfloat16, True)):
        _, measured = best_rate(shapes, rows, dtype, budget_s / 2, autocast=autocast)
        rates.append(len(measured) / sum(1 / m.flops_per_s for m in measured))
        reached = reached and all(m.reached_rows for m in measured)
    return rates[0], rates[1], reached
