"""The precision each LM run will train in on this machine, known before it runs.

A `lift` run asking for `precision: auto` trains in the precision this machine decided for its model's
shapes at its batch's tokens (the longest training row x the batch), a decision made once and kept
(`benchmark.lift.precision`); the same rows give the same decision here, so the estimate takes the
rates of the precision the run will get (bf16 trained SmolLM2 1.8x as fast as fp32 on a machine with
AVX-512 bf16, and two runs of one suite can be decided differently). Where no decision is kept yet,
it is made now, as the run would make it ("auto" is LIFT's default). Runs asking for a precision
keep it (None: the fixed rule, fp32 on a CPU).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import torch

from benchmark.core.methods import method_entries
from benchmark.core.runspec import RunSpec
from benchmark.estimate.wall_time import is_lm, run_params
from benchmark.estimate.workload import Workload
from benchmark.lift.lm.loading import load_causal_lm
from benchmark.lift.module import prepare_for_finetuning
from benchmark.lift.params import LiftParams
from benchmark.lift.precision import AUTO, choose_precision
from tasks.errors import LiftbenchError


def run_precisions(runs: Sequence[RunSpec], workloads: Mapping[str, Workload]) -> dict[str, str]:
    """Run hash -> the precision each fine-tuning LM run trains in (module docstring); a run whose
    model cannot be loaded here keeps what it asks for."""
    entries = method_entries()
    out = {}
    for spec in runs:
        params = run_params(spec, entries[spec.method])
        work = workloads[spec.hash]
        if not is_lm(params) or "epochs" not in params or work.tokens is None:
            continue
        lift = LiftParams.from_params(work.kind, params)
        if lift.precision != AUTO:
            out[spec.hash] = choose_precision(
                lift.precision, lift.accelerator, torch.nn.Identity(), 0
            ).precision
            continue
        rows = lift.batch_size * work.tokens.train_row_max
        try:
            model = _prepared(lift.model, lift.finetune, lift.lora(), lift.gradient_checkpointing)
        except LiftbenchError:
            continue
        out[spec.hash] = choose_precision(AUTO, lift.accelerator, model, rows).precision
    return out


@functools.cache
def _prepared(model: str, finetune: str, lora: object, checkpointing: bool) -> torch.nn.Module:
    """The model as a run prepares it for fine-tuning (its linear shapes key the decision)."""
    loaded = load_causal_lm(model)
    prepared, _ = prepare_for_finetuning(loaded.model, finetune, lora, checkpointing)
    return prepared
