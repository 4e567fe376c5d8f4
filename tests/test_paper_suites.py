"""The shipped suites, the paper's full-scale ones included: every run validates before anything fits,
each full suite states its true run count and GPU estimate, and a sample of each full suite's runs
(every method variant, perturbation and evaluation kind that an offline task has) runs end to end
here with a tiny model, one epoch and 40 rows per split."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import main_table_runs
from benchmark.core.methods import method_entries
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.cost import Throughput, estimate_cost, token_count
from benchmark.harness.runner import run_suite
from benchmark.harness.store import ResultStore
from benchmark.harness.suites import load_suite, suite_names, validate_names
from benchmark.harness.suites.overrides import apply_overrides, parse_override, with_row_limit
from tasks.availability import availability
from tasks.registry import all_specs, get_spec

FULL_SUITES = [name for name in suite_names() if name.startswith("paper-")]
LIFT14 = [spec.name for spec in all_specs() if "lift14" in spec.suites]
SMOKE_OVERRIDES = (
    *("lift.model=tiny-gpt2", "lift.epochs=1", "lift.batch_size=8", "lift.pretext_rows=20"),
    "lift-icl.model=tiny-gpt2",
)
SMOKE_ROWS = 40
SMOKE_SECONDS = 150  # the CI budget of the whole smoke run
# A kind of run that only tasks with downloaded data have (lift-icl on the paper's OpenML sets, noise on
# MNIST) runs on an offline task of the same kind instead...
STAND_INS = {"classification": ("iris", {}), "regression": ("linear", {"p": 1})}
# ...except these serializers, written for one data set's columns (MNIST pixels, the paper's sentences
# for cmc, tae, vehicle, servo, CCPP and insurance): the smoke run cannot reach them offline.
OFFLINE_UNREACHABLE = {("serializer", "lift-image"), ("serializer", "template")}


def test_the_paper_has_its_full_suites() -> None:
    assert set(FULL_SUITES) >= {
        "paper-classification",
        "paper-regression-synthetic",
        "paper-regression-real",
        "paper-boundaries",
        "paper-sample-complexity",
        "paper-robustness",
        "paper-calibration",
        "paper-context",
        "paper-pretraining",
        "paper-two-stage",
    }


@pytest.mark.parametrize("name", suite_names())
def test_every_shipped_suite_expands_and_every_run_validates(name: str) -> None:
    suite = load_suite(name)
    validate_names(suite, [s.name for s in all_specs()], method_entries())
    runs = suite.expand()
    assert runs
    assert check_runs(runs, where=name) == runs  # nothing dropped: every method is installed here


@pytest.mark.parametrize("name", FULL_SUITES)
def test_each_full_suite_states_its_run_count_and_estimate(name: str) -> None:
    suite = load_suite(name)
    runs = suite.expand()
    cost = estimate_cost(runs)
    text = suite.path.read_text(encoding="utf-8")
    stated = (
        f"# Runs: {len(runs):,} ({cost.lm_runs:,} LM runs on a GPU, {cost.cpu_runs:,} baseline runs on CPUs)."
    )
    assert stated in text
    assert f"# Estimated GPU-hours: {cost.gpu_hours:,.0f}, " in text
    assert cost.lm_runs > 0 and cost.gpu_hours > 0


def test_the_main_table_suite_has_lift_on_all_14_datasets_with_both_models() -> None:
    runs = load_suite("paper-classification").expand()
    lifted = {(s.task, s.model) for s in runs if s.method == "lift"}
    assert len(LIFT14) == 14
    for task in LIFT14:
        assert {(task, "EleutherAI/gpt-j-6b"), (task, "Qwen/Qwen2.5-7B")} <= lifted
    for spec in (s for s in runs if s.method == "lift"):
        assert {k: spec.method_params[k] for k in ("epochs", "lr", "batch_size")} == {
            "epochs": 10,
            "lr": 1e-4,
            "batch_size": 4,
        }
        assert spec.split_seed in (0, 1, 2)


@functools.cache
def _method_defaults(method: str) -> dict:
    return dict(method_entries()[method].defaults)


@functools.cache
def _task_offline(task: str) -> bool:
    return availability(get_spec(task)).available


def _offline(spec: RunSpec) -> bool:
    return _task_offline(spec.task)


def _kinds(spec: RunSpec) -> set[tuple]:
    """What a run exercises: its method variant, serializer, perturbation and evaluation kinds."""
    params = spec.method_params
    lm = "model" in _method_defaults(spec.method)
    variant = (spec.method,) + tuple(
        f"{key}={params[key]}" for key in ("init", "two_stage", "predict", "num_samples") if key in params
    )
    kinds: set[tuple] = {("method", *variant), ("task kind", lm, get_spec(spec.task).kind)}
    if spec.serializer:
        kinds.add(("serializer", spec.serializer))
    if spec.perturbation is not None:
        p = spec.perturbation
        kinds.add(("perturbation", lm, p.name, p.params.get("kind"), p.params.get("mode")))
    if spec.train_size is not None:
        kinds.add(("train size", lm))
    if spec.evaluations:
        kinds.add(("evaluations", lm, tuple(e.name for e in spec.evaluations)))
    return kinds


def _sample(runs: Iterable[RunSpec], covered: set[tuple]) -> list[RunSpec]:
    """Greedily, the offline runs that exercise a kind no earlier sampled run has exercised (adds the
    kinds to `covered`)."""
    picked = []
    for spec in runs:
        new = _kinds(spec) - covered
        if new and _offline(spec):
            picked.append(spec)
            covered |= new
    return picked


def _stand_in(spec: RunSpec) -> RunSpec:
    """The run on an offline task of its kind, without a serializer made for its own task's columns."""
    task, params = STAND_INS[get_spec(spec.task).kind]
    serializer = None if ("serializer", spec.serializer) in OFFLINE_UNREACHABLE else spec.serializer
    return dataclasses.replace(spec, task=task, task_params=params, serializer=serializer)


def smoke_sample() -> list[RunSpec]:
    """Runs of the full suites that together exercise every kind of run they have (`_kinds`) but
    `OFFLINE_UNREACHABLE`: offline runs first, then stand-ins (`STAND_INS`) for the rest."""
    runs = [spec for name in FULL_SUITES for spec in load_suite(name).expand()]
    covered: set[tuple] = set()
    sample = _sample(runs, covered)
    for spec in runs:
        if _kinds(spec) - covered - OFFLINE_UNREACHABLE:
            stand_in = _stand_in(spec)
            sample.append(stand_in)
            covered |= _kinds(stand_in)
    assert {kind for spec in runs for kind in _kinds(spec)} - covered <= OFFLINE_UNREACHABLE
    return sample


def test_a_sample_of_every_full_suite_runs_here_with_a_tiny_model(tmp_path: Path) -> None:
    defaults = {name: entry.defaults for name, entry in method_entries().items()}
    overrides = [parse_override(text) for text in SMOKE_OVERRIDES]
    sample = smoke_sample()
    smoke = with_row_limit(apply_overrides(sample, overrides, defaults), SMOKE_ROWS)
    smoke = check_runs(smoke, where="smoke sample")
    assert {s.method for s in smoke} >= {"lift", "lift-icl", "logreg", "gp"}
    start = time.perf_counter()
    summary = run_suite(smoke, ResultStore(tmp_path / "smoke.sqlite"), suite="smoke-sample")
    seconds = time.perf_counter() - start
    failed = [(r.spec.label(), r.record.error) for r in summary.failed]
    assert not failed, failed
    assert len(summary.done) == len(smoke)
    assert seconds < SMOKE_SECONDS, f"the smoke sample took {seconds:.0f}s for {len(smoke)} runs"
    records = [ResultStore(tmp_path / "smoke.sqlite").get_run(s.hash) for s in smoke]
    assert all(r.spec["row_limit"] == SMOKE_ROWS for r in records)
    assert {r.spec["model"] for r in records if r.method == "lift" and r.spec.get("model")} == {"tiny-gpt2"}


def test_the_estimate_counts_tokens_of_lm_runs_only() -> None:
    lift = RunSpec(task="iris", method="lift", method_params={"epochs": 10}, model="EleutherAI/gpt-j-6b")
    twice = dataclasses.replace(lift, method_params={"epochs": 20})
    baseline = RunSpec(task="iris", method="logreg")
    one, two = estimate_cost([lift, baseline]), estimate_cost([twice])
    assert (one.lm_runs, one.cpu_runs) == (1, 1)
    assert two.train_tokens == 2 * one.train_tokens > 0
    assert one.by_model == {"EleutherAI/gpt-j-6b": pytest.approx(one.gpu_hours)}
    smoke = estimate_cost(with_row_limit([lift], 10))
    assert smoke.train_tokens == one.train_tokens * 10 / 96  # iris trains on 96 rows


def test_the_main_tables_read_the_full_suites_runs_where_the_store_has_them() -> None:
    full = load_suite("paper-classification").expand()[:2]
    runs = pd.DataFrame(
        {
            "run_hash": [full[0].hash, full[1].hash, "reduced", "regression"],
            "kind": ["classification", "classification", "classification", "regression"],
        }
    )
    kept, suites = main_table_runs(runs)
    assert kept["run_hash"].tolist() == [full[0].hash, full[1].hash, "regression"]
    assert suites == {"classification": "paper-classification", "regression": "study-accuracy"}
    reduced, _ = main_table_runs(runs.iloc[2:])
    assert reduced["run_hash"].tolist() == ["reduced", "regression"]


def test_the_gpu_estimate_names_token_counts_at_a_readable_unit() -> None:
    """A suite of a million tokens read `0.00G trained`."""
    assert [token_count(n) for n in (12, 7_800, 1_230_000, 45_600_000, 2.5e9)] == [
        "12",
        "7.80k",
        "1.23M",
        "45.6M",
        "2.50G",
    ]
    lift = RunSpec(task="iris", method="lift", method_params={"epochs": 10}, model="EleutherAI/gpt-j-6b")
    line = estimate_cost([lift]).summary(Throughput())
    assert f"from {token_count(estimate_cost([lift]).train_tokens)} trained" in line and "0.00G" not in line
