"""`precision: auto`: the decision from measured rates (injected here: no timing in tests), requests
that need no probe, and the bounded matmul probe's bookkeeping."""

from __future__ import annotations

import pytest
import torch

from benchmark.lift import precision
from benchmark.lift.lm.loading import load_causal_lm
from benchmark.lift.lm.matmul_rate import linear_shapes, matmul_rate
from benchmark.lift.precision import BF16, BF16_MARGIN, FP32, choose_precision, decide


@pytest.mark.parametrize(
    ("fp32", "bf16", "chosen"),
    [
        (76e9, 1.2e9, FP32),  # no native bf16: 60x slower
        (100e9, 100e9 * BF16_MARGIN * 0.99, FP32),  # faster, but not by the margin
        (100e9, 100e9 * BF16_MARGIN, BF16),
        (90e9, 200e9, BF16),  # AVX-512 bf16
    ],
)
def test_decision_follows_the_measured_rates(fp32: float, bf16: float, chosen: str) -> None:
    choice = decide(fp32, bf16, native_bf16=True)
    assert choice.precision == chosen and choice.requested == "auto"
    record = choice.record()
    assert record["fp32_flops_per_s"] == fp32 and record["bf16_flops_per_s"] == bf16
    assert f"{bf16 / fp32:.2f}x fp32" in record["reason"]


def test_auto_on_cpu_probes_the_model_and_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_causal_lm("tiny-llama").model
    seen = {}

    def fake_probe(probed: torch.nn.Module, rows: int) -> tuple[float, float]:
        seen.update(model=probed, rows=rows)
        return 50e9, 150e9, True

    monkeypatch.setattr(precision, "probe_rates", fake_probe)
    choice = choose_precision("auto", "cpu", model, rows=96)
    assert choice.precision == BF16 and seen == {"model": model, "rows": 128}  # rounded up
    assert choice.bf16_flops_per_s == 150e9 and isinstance(choice.native_bf16, bool)


def test_the_decision_is_kept_per_machine_and_read_by_later_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later probe on a loaded machine might measure another ratio: the first decision stands."""
    model = load_causal_lm("tiny-llama").model
    rates = iter([(50e9, 150e9), (100e9, 90e9)])
    monkeypatch.setattr(precision, "probe_rates", lambda *args: (*next(rates), True))
    first = choose_precision("auto", "cpu", model, rows=96)
    again = choose_precision("auto", "cpu", model, rows=96)
    assert first.precision == again.precision == BF16
    assert again.bf16_flops_per_s == 150e9 and "decision of" in again.reason and "kept in" in again.reason
    assert precision.decision_path(model, 128).is_file()
    other_rows = choose_precision("auto", "cpu", model, rows=32)  # another batch shape: probed again
    assert other_rows.precision == FP32 and "kept in" not in other_rows.reason


@pytest.mark.parametrize(("native", "chosen"), [(True, BF16), (False, FP32)])
def test_a_starved_probe_is_retried_then_follows_the_cpu_and_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch, native: bool, chosen: str
) -> None:
    """A loaded machine starves the probe (it measures tiny products' overhead, not the batch's). With
    no decision kept for the model, the CPU's flags decide; nothing is kept."""
    model = torch.nn.Linear(8, 8)
    budgets = []

    def starved(probed: torch.nn.Module, rows: int, budget_s: float = precision.PROBE_BUDGET_S):
        budgets.append(budget_s)
        return 8e7, 7e7, False

    monkeypatch.setattr(precision, "probe_rates", starved)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    choice = choose_precision("auto", "cpu", model, rows=100)
    assert choice.precision == chosen and "starved" in choice.reason and "not kept" in choice.reason
    assert budgets == [precision.PROBE_BUDGET_S, precision.PROBE_BUDGET_S * precision.STARVED_RETRY]
    assert not precision.decision_path(model, 128).exists()
    monkeypatch.setattr(precision, "probe_rates", lambda *args: (50e9, 150e9, True))
    assert choose_precision("auto", "cpu", model, rows=100).precision == BF16  # decided when it can measure


def test_a_starved_probe_takes_the_decision_its_sibling_runs_got(monkeypatch: pytest.MonkeyPatch) -> None:
    """Splits of one task can fall on two batch sizes (vehicle: 1024 and 2048 tokens). One starved
    probe trained one split of three in fp32 beside two in bf16; it now takes the kept decision for
    the nearest batch size, here fp32 against a CPU that has bf16."""
    model = torch.nn.Linear(8, 8)
    monkeypatch.setattr(precision, "probe_rates", lambda *args: (50e9, 30e9, True))
    assert choose_precision("auto", "cpu", model, rows=1000).precision == FP32  # kept for 1024 rows
    monkeypatch.setattr(precision, "probe_rates", lambda *args, **kwargs: (8e7, 7e7, False))
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    choice = choose_precision("auto", "cpu", model, rows=2000)
    assert choice.precision == FP32 and "decision for 1024 rows" in choice.reason
    assert not precision.decision_path(model, 2048).exists()


@pytest.mark.parametrize(("rows", "probed"), [(1, 64), (64, 64), (65, 128), (392, 512), (10_000, 4096)])
def test_the_probe_rows_are_a_power_of_two_so_tasks_share_a_decision(rows: int, probed: int) -> None:
    assert precision.probe_rows(rows) == probed


def test_an_unreadable_kept_decision_is_probed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    model = torch.nn.Linear(8, 8)
    path = precision.decision_path(model, precision.probe_rows(4))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(precision, "probe_rates", lambda *args: (50e9, 150e9, True))
    assert choose_precision("auto", "cpu", model, rows=4).precision == BF16
    assert "decision of" in choose_precision("auto", "cpu", model, rows=4).reason


def test_an_explicit_precision_is_kept_without_a_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "probe_rates", lambda *args: pytest.fail("probed"))
    choice = choose_precision("32-true", "cpu", torch.nn.Linear(2, 2), rows=4)
    assert choice.precision == "32-true" and choice.reason == "as requested"
    fixed = choose_precision(None, "cpu", torch.nn.Linear(2, 2), rows=4)  # the fixed rule: fp32 on a CPU
    assert fixed.precision == FP32 and fixed.fp32_flops_per_s is None


def test_probe_rates_are_positive_and_reported_at_the_rows_reached() -> None:
    rate = matmul_rate(64, 32, 48, torch.float32, budget_s=5.0)
    assert rate.flops_per_s > 0 and (rate.inner, rate.outer, rate.dtype) == (32, 48, "float32")
    assert rate.reached_rows and rate.rows == 64
    # no budget at all: one size (the first), reported as not reaching the rows asked for
    starved = matmul_rate(4096, 32, 48, torch.bfloat16, budget_s=0.0, autocast=True)
    assert starved.rows == 2 and not starved.reached_rows and starved.dtype == "bfloat16"


def test_linear_shapes_are_the_models_own_with_or_without_the_head() -> None:
    lm = load_causal_lm("tiny-gpt2")
    vocab = len(lm.tokenizer)
    assert set(linear_shapes(lm.model)) == {(64, 192), (64, 64), (64, 128), (128, 64), (64, vocab)}
    assert (64, vocab) not in linear_shapes(lm.model, head=False)


def test_a_probe_taken_on_a_busy_machine_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load a CPU with native bf16 measured bf16 at 0.77x fp32 and kept fp32 for good. A probe
    while other processes hold a quarter of the CPUs or more decides for this run only, as a starved
    one does (the load meter is injected: the load of a test machine cannot be set)."""

    class Busy:
        def share(self) -> float:
            return 0.6

    model = torch.nn.Linear(8, 8)
    monkeypatch.setattr(precision, "OtherLoad", Busy)
    monkeypatch.setattr(precision, "probe_rates", lambda *args, **kwargs: (69e9, 53e9, True))
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    choice = choose_precision("auto", "cpu", model, rows=100)
    assert choice.precision == BF16 and "other processes used 60% of the CPUs" in choice.reason
    assert not precision.decision_path(model, 128).exists()
