"""The bench's sections, their sizes (full and `--quick`), and the run that measures them in order.

Sections: `peak` (always measured: MFU needs it; a square product before the other sections and
again after training and prediction, since another process on the machine lowers a single reading,
plus the readings training and prediction take at their models' shapes; the best of each dtype
counts), `training`, `prediction`, `tokens`, `suite` (a slice of the default suite run, a full store
summarised, and the dry-run's wall-time estimate checked against both: `estimate_check`). Every
probe is time-bounded.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmark.bench.estimate_check import check_estimate
from benchmark.bench.measure import peak_of, square_readings
from benchmark.bench.prediction import measure_prediction
from benchmark.bench.prompt_tokens import tokens_per_row
from benchmark.bench.suite_cost import run_slice, suite_methods, summarise_store
from benchmark.bench.training import TrainingCase, measure_training_case
from benchmark.harness import provenance
from benchmark.harness.suites import load_suite
from benchmark.lift.lm.bundled import BUNDLED_MODEL_ID, load_bundled_tokenizer
from benchmark.lift.lm.matmul_rate import cpu_has_native_bf16
from benchmark.lift.lm.tiny import tiny_tokenizer
from benchmark.lift.params import LIFT_DEFAULTS
from tasks.errors import LiftbenchError, did_you_mean

SECTIONS = ("training", "prediction", "tokens", "suite")
SERIALIZERS = ("lift", "lift-names", "text", "list", "json")
SUITE = "default"


@dataclass(frozen=True)
class BenchPlan:
    """How much of everything to measure."""

    peak_size: int
    peak_budget_s: float  # per dtype and reading of the square
    training: tuple[TrainingCase, ...]
    predict_model: str
    predict_task: str
    predict_rounds: int
    tokenizer: str  # "bundled" (SmolLM2's) or "tiny"
    token_tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    suite_filter: str = "task=iris,method!=lift,split_seed=0"
    estimate_whole_suite: bool = True  # the dry-run estimate of the whole suite (probes its LM too)


FULL = BenchPlan(
    peak_size=2048,
    peak_budget_s=1.5,
    training=(
        # SmolLM2 only (issue 13's goals): the bench must finish in 5 minutes on a slow machine
        TrainingCase(BUNDLED_MODEL_ID, "lora", batch_size=8, warmup_steps=2, timed_steps=4),
        TrainingCase(BUNDLED_MODEL_ID, "full", batch_size=8, warmup_steps=1, timed_steps=3),
    ),
    predict_model=BUNDLED_MODEL_ID,
    predict_task="iris",
    predict_rounds=3,
    tokenizer="bundled",
    token_tasks={"iris": {}, "wine": {}, "moons": {"n": 300}, "breast-cancer-wisconsin": {}},
)

QUICK = BenchPlan(
    peak_size=256,
    peak_budget_s=0.1,
    training=(
        TrainingCase("tiny-gpt2", "lora", batch_size=4, warmup_steps=1, timed_steps=2, rounds=1),
        TrainingCase("tiny-gpt2", "full", batch_size=4, warmup_steps=1, timed_steps=2, rounds=1),
    ),
    predict_model="tiny-gpt2",
    predict_task="iris",
    predict_rounds=2,
    tokenizer="tiny",
    token_tasks={"iris": {}, "wine": {}, "moons": {"n": 100}, "breast-cancer-wisconsin": {}},
    suite_filter="task=iris,method=majority|logreg,split_seed=0,train_size=all",
    estimate_whole_suite=False,
)


def parse_sections(only: str | None) -> tuple[str, ...]:
    """The sections named in a comma-separated list (all when None), in the bench's order."""
    if only is None:
        return SECTIONS
    names = [name.strip() for name in only.split(",") if name.strip()]
    for name in names:
        if name not in SECTIONS and name != "peak":
            raise LiftbenchError(
                f"--only: unknown section {name!r}{did_you_mean(name, SECTIONS)}; use some of: "
                f"{', '.join(SECTIONS)} (peak is always measured)"
            )
    return tuple(s for s in SECTIONS if s in names)


def run_bench(
    plan: BenchPlan, sections: Sequence[str], store: Path | None, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Measure `sections` with `plan`'s sizes; the results as one JSON-ready dict (MFU filled in last)."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "bench": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": plan is QUICK,
            "sections": ["peak", *sections],
            "load_average_at_start": list(os.getloadavg()),
        }
    }
    progress(f"peak: {plan.peak_size}^2 products, fp32 and bf16, {plan.peak_budget_s:g} s each at most")
    readings = square_readings(plan.peak_size, plan.peak_budget_s)
    progress(
        f"peak: {peak_of(readings, 'float32') / 1e9:.0f} GFLOP/s fp32 on {torch.get_num_threads()} threads"
    )
    measure: dict[str, Callable[[], Any]] = {
        "training": lambda: _training(plan, progress),
        "prediction": lambda: _prediction(plan, progress),
        "tokens": lambda: _tokens(plan, progress),
        "suite": lambda: _suite(plan, store, progress),
    }
    for name in sections:
        results[name] = measure[name]()
        if name in ("training", "prediction"):
            readings += square_readings(plan.peak_size, plan.peak_budget_s)
    for case in results.get("training", {}).get("cases", []):
        readings += case.pop("readings")
    if "prediction" in results:
        readings += results["prediction"].pop("readings")
    results["peak"] = _peak(readings, plan.peak_size)
    results["bench"]["mfu_over_one"] = _add_mfu(results)
    results["bench"].update(
        seconds=time.perf_counter() - started,
        load_average_at_end=list(os.getloadavg()),
        environment=provenance.environment(),
    )
    return results


def _peak(readings: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """The best rate of each dtype over every reading, the square's alone (comparable across machines),
    and whether the CPU multiplies bf16 natively."""
    square = [r for r in readings if r["what"] == f"square {size}"]
    return {
        "float32": peak_of(readings, "float32"),
        "bfloat16": peak_of(readings, "bfloat16"),
        "square_size": size,
        "square_float32": peak_of(square, "float32"),
        "square_bfloat16": peak_of(square, "bfloat16"),
        "square_readings_float32": [r["flops_per_s"] for r in square if r["dtype"] == "float32"],
        "native_bf16": cpu_has_native_bf16(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "readings": readings,
    }


def _add_mfu(results: dict[str, Any]) -> list[str]:
    """MFU of every timed side against the peak of the dtype it ran in; the sides whose MFU exceeds 1
    (a wrong FLOP count or peak: the bench fails on them)."""
    peak = results["peak"]
    sides = [
        (f"training {case['model']} {case['finetune']} {name}", case[name])
        for case in results.get("training", {}).get("cases", [])
        for name in ("ours", "plain")
    ]
    for batch in results.get("prediction", {}).get("by_batch", []):
        sides.append((f"prediction floor, batch {batch['batch_size']}", batch["floor"]))
    over = []
    for where, side in sides:
        side["mfu"] = side["flops_per_s"] / peak[side["dtype"]]
        if side["mfu"] > 1:
            over.append(f"{where}: MFU {side['mfu']:.2f}")
    return over


def _training(plan: BenchPlan, progress: Callable[[str], None]) -> dict[str, Any]:

    cases = []
    for case in plan.training:
        progress(
            f"training: {case.model} {case.finetune}, batch {case.batch_size}, "
            f"{case.warmup_steps} warm-up + {case.timed_steps} timed steps, ours then plain"
        )
        result = measure_training_case(case)
        progress(
            f"training: {case.model} {case.finetune}: ours {result['ours']['tokens_per_s']:.0f} tokens/s, "
            f"plain {result['plain']['tokens_per_s']:.0f} ({result['tokens_per_s_vs_plain']:.2f}x)"
        )
        cases.append(result)
    return {"cases": cases}


def prediction_batch_sizes(suite: str) -> dict[int, str]:
    """The batch sizes prediction is measured at, each with where it comes from: LIFT's default
    `eval_batch_size`, and those the suite's LIFT runs predict in (what `make run` does)."""
    default = int(LIFT_DEFAULTS["eval_batch_size"])
    sources = {default: ["LIFT's default"]}
    loaded = load_suite(suite)
    for spec in loaded.expand():
        if spec.method == "lift":
            size = int(spec.method_params.get("eval_batch_size", default))
            names = sources.setdefault(size, [])
            if f"the {loaded.name} suite's" not in names:
                names.append(f"the {loaded.name} suite's")
    return {size: " and ".join(names) for size, names in sorted(sources.items())}


def _prediction(plan: BenchPlan, progress: Callable[[str], None]) -> dict[str, Any]:

    sizes = prediction_batch_sizes(SUITE)
    progress(
        f"prediction: {plan.predict_model} on {plan.predict_task} prompts, batches of "
        f"{', '.join(f'{size} ({source})' for size, source in sizes.items())}, "
        f"{plan.predict_rounds} rounds of floor / score / generate"
    )
    result = measure_prediction(plan.predict_model, plan.predict_task, list(sizes), plan.predict_rounds)
    for batch in result["by_batch"]:
        batch["source"] = sizes[batch["batch_size"]]
        progress(
            f"prediction at {batch['batch_size']} rows a batch: score {batch['score']['vs_floor']:.2f}x "
            f"floor, generate {batch['generate']['vs_floor']:.2f}x floor"
        )
    return result


def _tokens(plan: BenchPlan, progress: Callable[[str], None]) -> dict[str, Any]:

    if plan.tokenizer == "bundled":
        tokenizer, name = load_bundled_tokenizer(), BUNDLED_MODEL_ID
    else:
        tokenizer, name = tiny_tokenizer(), "tiny (byte-level BPE, 400 tokens)"
    progress(f"tokens: {len(SERIALIZERS)} serializers x {len(plan.token_tasks)} tasks, tokenizer {name}")
    return {"tokenizer": name, "rows": tokens_per_row(tokenizer, plan.token_tasks, SERIALIZERS)}


def _suite(plan: BenchPlan, store: Path | None, progress: Callable[[str], None]) -> dict[str, Any]:

    methods = suite_methods(SUITE, plan.suite_filter)
    full = None
    if store is not None and store.is_file():
        progress(f"suite: summarising {store}")
        full = summarise_store(store, SUITE)
    elif store is not None:
        progress(f"suite: no store at {store}; run `make run` for a full default suite to summarise")
    progress(f"suite slice: {SUITE} --filter {plan.suite_filter!r}: {', '.join(methods)}, one process each")
    with tempfile.TemporaryDirectory(prefix="liftbench-bench-") as folder:
        slice_store = Path(folder) / "slice.sqlite"
        processes = run_slice(SUITE, plan.suite_filter, methods, slice_store, progress)
        sliced = summarise_store(slice_store, SUITE)
        progress("suite: the dry-run's wall-time estimate against what was measured")
        estimate = check_estimate(
            SUITE, plan.suite_filter, slice_store, full, plan.estimate_whole_suite, progress
        )
    for method, measured in processes.items():
        entry = sliced["methods"][method]
        # The runner records each run's process peak so far; the process's peak at exit bounds it.
        entry["runner_recorded_peak_rss_mb"] = entry["peak_rss_mb"]
        entry.update(measured)
    sliced.update(store=None, filter=plan.suite_filter)
    return {"slice": sliced, "full": full, "estimate": estimate}
