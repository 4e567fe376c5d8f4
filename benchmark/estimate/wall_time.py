"""Seconds per run from a machine profile and the run's workload; the suite's wall time per block and
in total, simulating the runner's schedule.

A baseline run: its fit at its training shape and its predictions (test rows, each evaluation set)
from `BaselineCost`. A `lift` run: loading the model, the trainer's start, the training tokens
(epochs x training rows x tokens per row, plus two-stage's pretext passes), the validation rows
predicted after every epoch (best-epoch selection; with predict "both" they are also generated once
at the end), then the test rows and every evaluation set; `lift-icl` loads, predicts the validation
rows once as a check, then the test and evaluation rows, each prompt carrying k demonstrations.
Scoring costs the prompt and every class completion at the scoring rate; generation costs the prompt
at that rate plus one decoding step per answer token for each prediction batch, a step costing a
fixed part (the weights' pass) plus a part per row of the batch (`LMRates.decode_s`).
Every run adds the harness's own seconds (fixed plus per predicted row).

The schedule: with one job the runs go one after another in suite order; with more, the runner's
order (`longest_first`: LM runs first) goes to a pool, each next run to the first free worker,
each worker paying its start once, and each run's method slowed by the factor the probe measured for
that many workers running at once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.core.methods import MethodEntry, method_entries
from benchmark.core.runspec import RunSpec
from benchmark.estimate.blocks import SuiteBlock
from benchmark.estimate.profile import LMRates, MachineProfile, baseline_key, model_key, parallel_key
from benchmark.estimate.workload import Workload
from benchmark.harness.cost import TWO_STAGE_PASSES
from benchmark.harness.effective import method_params_for
from benchmark.harness.runner import longest_first
from benchmark.lift.params import PRETEXT_MODES, predict_mode


def run_params(spec: RunSpec, entry: MethodEntry) -> dict[str, Any]:
    """The parameters the run's method is built with, filled with its defaults."""
    return {**entry.defaults, **method_params_for(spec)}


def is_lm(params: Mapping[str, Any]) -> bool:
    return isinstance(params.get("model"), str)


def lm_args(params: Mapping[str, Any], precision: str | None = None) -> tuple[str, str, str | None]:
    """What an LM run is probed as: its model, how it fine-tunes (`none` in context) and the precision
    it trains in (`precision`, from `precisions.run_precisions`), else the one it asks for."""
    precision = precision or params.get("precision")
    return (
        str(params["model"]),
        str(params.get("finetune", "none")),
        None if precision is None else str(precision),
    )


def lm_key(params: Mapping[str, Any], precision: str | None = None) -> str:
    """The profile entry of an LM run (`lm_args`)."""
    return model_key(*lm_args(params, precision))


@dataclass(frozen=True)
class RunEstimate:
    spec: RunSpec
    method_s: float  # fit and predict, as the store records them (fit_seconds + predict_seconds)
    harness_s: float  # around the method: rows, metrics, provenance, the store write

    @property
    def seconds(self) -> float:
        return self.method_s + self.harness_s


def estimate_run(
    spec: RunSpec,
    work: Workload,
    params: Mapping[str, Any],
    profile: MachineProfile,
    precision: str | None = None,
) -> RunEstimate:
    """Seconds of one run on the profiled machine (module docstring)."""
    harness = profile.harness
    assert harness is not None, "the profile has no harness entry"
    overhead = harness.run_s + harness.row_s * work.predicted_rows
    if not is_lm(params):
        cost = profile.baselines[baseline_key(work.kind, spec.method)]
        predict = cost.predict_s(work.n_test) + sum(cost.predict_s(rows) for rows in work.eval_rows)
        return RunEstimate(spec, cost.fit_s(work.n_train, work.n_features) + predict, overhead)
    return RunEstimate(spec, _lm_seconds(work, params, profile.models[lm_key(params, precision)]), overhead)


def trained_tokens(work: Workload, params: Mapping[str, Any]) -> float:
    """The tokens an LM run trains on: its epochs over the training rows, and two-stage's pretext
    passes; none for a run that does not fine-tune (in context, `finetune: none`)."""
    tokens = work.tokens
    if tokens is None or "epochs" not in params or params.get("finetune") == "none":
        return 0.0
    trained = 0.0
    if params.get("two_stage", "none") in PRETEXT_MODES:
        passes = TWO_STAGE_PASSES * int(params["pretext_epochs"]) * int(params["pretext_rows"])
        trained += passes * tokens.train_row
    if params.get("two_stage") != "bl":
        trained += int(params["epochs"]) * work.n_train * tokens.train_row
    return trained


def _lm_seconds(work: Workload, params: Mapping[str, Any], rates: LMRates) -> float:
    tokens = work.tokens
    assert tokens is not None
    mode = predict_mode(params.get("predict"), work.kind)
    batch = int(params.get("eval_batch_size", rates.eval_batch_size))
    samples = int(params.get("num_samples", 1))
    demonstrations = int(params.get("k", 0)) * tokens.train_row  # lift-icl: k rows before every prompt

    def score(rows: int, prompt: float) -> float:
        return rows * (prompt + demonstrations + tokens.answers) / rates.score_tokens_per_s

    def generated(rows: int, prompt: float) -> float:
        batches = math.ceil(rows / batch)
        steps_s = (
            batches * tokens.generated * samples * rates.decode_s(math.ceil(rows / batches)) if rows else 0.0
        )
        return rows * (prompt + demonstrations) / rates.score_tokens_per_s + steps_s

    def predicted(rows: int, prompt: float, with_generation: bool = True) -> float:
        if mode == "generate":
            return generated(rows, prompt)
        both = mode == "both" and with_generation
        return score(rows, prompt) + (generated(rows, prompt) if both else 0.0)

    seconds = rates.load_s
    if "epochs" in params:  # lift: fine-tuning with best-epoch selection on validation
        fine_tunes = params.get("finetune") != "none" and params.get("two_stage") != "bl"
        epochs = int(params["epochs"]) if fine_tunes else 0
        trained = trained_tokens(work, params)
        if trained:
            seconds += rates.trainer_start_s + trained / rates.train_tokens_per_s
        seconds += max(epochs, 1) * predicted(work.n_val, tokens.prompt, with_generation=False)
        if mode == "both":
            seconds += generated(work.n_val, tokens.prompt)
    elif work.n_val:  # lift-icl predicts the validation rows once, as a check
        seconds += predicted(work.n_val, tokens.prompt)
    seconds += predicted(work.n_test, tokens.prompt)
    for rows, prompt in zip(work.eval_rows, tokens.eval_prompts, strict=True):
        seconds += predicted(rows, prompt)
    return seconds


@dataclass
class BlockEstimate:
    block: SuiteBlock
    runs: int = 0
    method_s: float = 0.0
    seconds: float = 0.0  # method and harness
    lm_runs: int = 0


@dataclass
class SuiteEstimate:
    runs: list[RunEstimate]
    jobs: int
    wall_s: float  # the simulated schedule, worker starts included
    slowdown: float = 1.0  # of each run's method among `jobs` workers (`probe_parallel`)
    blocks: list[BlockEstimate] = field(default_factory=list)
    counted_with: dict[str, int] = field(default_factory=dict)  # how LM runs' tokens were counted
    not_estimated: dict[str, int] = field(default_factory=dict)  # profile entry missing -> runs

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)


def simulate_schedule(
    runs: Sequence[RunSpec], seconds: Mapping[str, float], jobs: int, worker_start_s: float
) -> float:
    """Wall seconds of the runner's schedule (module docstring) for run hash -> seconds."""
    if jobs <= 1:
        return sum(seconds[spec.hash] for spec in runs)
    free = [(0.0, worker) for worker in range(jobs)]
    started: set[int] = set()
    end = 0.0
    for spec in longest_first(runs):
        at, worker = heapq.heappop(free)
        if worker not in started:
            started.add(worker)
            at += worker_start_s
        at += seconds[spec.hash]
        end = max(end, at)
        heapq.heappush(free, (at, worker))
    return end


def estimate_suite(
    runs: Sequence[RunSpec],
    workloads: Mapping[str, Workload],
    blocks: Mapping[str, SuiteBlock],
    profile: MachineProfile,
    jobs: int,
    precisions: Mapping[str, str] | None = None,
) -> SuiteEstimate:
    """Every run's seconds, each block's sum and the suite's wall time with `jobs` workers."""
    entries = method_entries()
    estimates = []
    per_block: dict[int, BlockEstimate] = {}
    counted: dict[str, int] = {}
    missing: dict[str, int] = {}
    slowdown = profile.parallel.get(parallel_key(jobs), 1.0) if jobs > 1 else 1.0
    for spec in runs:
        params = run_params(spec, entries[spec.method])
        work = workloads[spec.hash]
        precision = (precisions or {}).get(spec.hash)
        entry_name = lm_key(params, precision) if is_lm(params) else baseline_key(work.kind, spec.method)
        if entry_name not in (profile.models if is_lm(params) else profile.baselines):
            missing[entry_name] = missing.get(entry_name, 0) + 1
            continue
        run = estimate_run(spec, work, params, profile, precision)
        if slowdown != 1.0:
            run = RunEstimate(spec, run.method_s * slowdown, run.harness_s)
        estimates.append(run)
        block = blocks[spec.hash]
        entry = per_block.setdefault(block.index, BlockEstimate(block))
        entry.runs += 1
        entry.method_s += run.method_s
        entry.seconds += run.seconds
        if work.tokens is not None:
            entry.lm_runs += 1
            counted[work.tokens.counted] = counted.get(work.tokens.counted, 0) + 1
    assert profile.harness is not None
    seconds = {r.spec.hash: r.seconds for r in estimates}
    wall = simulate_schedule([r.spec for r in estimates], seconds, jobs, profile.harness.worker_start_s)
    ordered = [per_block[index] for index in sorted(per_block)]
    return SuiteEstimate(estimates, jobs, wall, slowdown, ordered, counted, missing)
