"""`python -m benchmark.bench --quick`: every section is measured and written, with sane numbers.

Not a timed test: nothing here asserts a speed, only that each number is there, positive and finite,
and that ratios and utilisations lie where they can (MFU in (0, 1], nothing beats its floor by much).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import pytest

from benchmark.bench.__main__ import main
from benchmark.bench.measure import StepClock, interleaved_best
from benchmark.bench.report import goals, suite_goal_seconds
from benchmark.bench.sections import SECTIONS, _add_mfu, parse_sections, prediction_batch_sizes
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError


def positive_finite(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, int]:
    out = tmp_path_factory.mktemp("bench")
    store = out / "absent.sqlite"
    with pytest.MonkeyPatch.context() as patch:  # the function-scoped isolation does not reach here
        patch.setenv("LIFTBENCH_OPENML_CACHE", str(tmp_path_factory.mktemp("openml-cache")))
        code = main(["--quick", "--out", str(out), "--store", str(store)])
    return json.loads((out / "bench.json").read_text()), out, code


def test_quick_bench_writes_every_section(bench: tuple[dict, Path, int]) -> None:
    results, out, code = bench
    assert code == 0
    assert results["bench"]["quick"] is True
    assert results["bench"]["sections"] == ["peak", *SECTIONS]
    assert all(name in results for name in ("peak", *SECTIONS))
    markdown = (out / "bench.md").read_text()
    for caption in ("Goals", "Training", "Prediction", "Tokens per row", "Suite slice"):
        assert f"**{caption}" in markdown


def test_peak_is_the_best_reading_over_the_square_and_the_models_shapes(
    bench: tuple[dict, Path, int],
) -> None:
    peak = bench[0]["peak"]
    for dtype in ("float32", "bfloat16"):
        rates = [r["flops_per_s"] for r in peak["readings"] if r["dtype"] == dtype]
        assert all(positive_finite(rate) for rate in rates)
        assert peak[dtype] == max(rates) >= peak[f"square_{dtype}"]
    assert 1e8 < peak["float32"] < 1e15  # between a slow phone and a large GPU
    assert peak["square_float32"] == max(peak["square_readings_float32"])
    # the square and every linear map of the models measured (tiny-gpt2: hidden 64, MLP 128, vocab 400)
    what = {r["what"] for r in peak["readings"]}
    assert what == {"square 256", "tiny-gpt2 linear maps"}
    shapes = {(r["inner"], r["outer"]) for r in peak["readings"] if r["what"] != "square 256"}
    assert {(64, 192), (64, 64), (64, 128), (128, 64)} <= shapes and any(o > 300 for _, o in shapes)
    assert isinstance(peak["native_bf16"], bool)


def test_training_throughput_and_mfu_are_sane(bench: tuple[dict, Path, int]) -> None:
    cases = bench[0]["training"]["cases"]
    assert {(c["model"], c["finetune"]) for c in cases} == {("tiny-gpt2", "lora"), ("tiny-gpt2", "full")}
    for case in cases:
        assert positive_finite(case["tokens_per_s_vs_plain"])
        assert case["trainable_parameters"] <= case["parameters"]
        for side in (case["ours"], case["plain"]):
            assert side["steps"] == case["timed_steps"]
            assert side["rows"] == case["batch_size"] * case["timed_steps"]
            for key in ("seconds", "samples_per_s", "tokens_per_s", "padded_tokens_per_s", "flops_per_s"):
                assert positive_finite(side[key]), key
            assert 0 < side["mfu"] <= 1
            assert 0 < side["real_tokens"] <= side["padded_tokens"]
        # Both sides train on the same rows; the plain loop pads to the data set's longest row.
        assert case["ours"]["real_tokens"] == case["plain"]["real_tokens"]
        assert case["ours"]["padded_tokens"] <= case["plain"]["padded_tokens"]
        ratio = case["ours"]["tokens_per_s"] / case["plain"]["tokens_per_s"]
        assert case["tokens_per_s_vs_plain"] == pytest.approx(ratio)
        # the plain loop runs the head on every position, ours on the answers: more FLOPs per step
        assert case["plain"]["flops"] > case["ours"]["flops"]
        assert case["precision"]["precision"] in ("32-true", "bf16-mixed")
        assert case["ours"]["dtype"] == (
            "bfloat16" if case["precision"]["precision"] == "bf16-mixed" else "float32"
        )
    lora = next(c for c in cases if c["finetune"] == "lora")
    assert lora["trainable_parameters"] < lora["parameters"] / 2


def test_prediction_is_measured_against_its_floor_at_each_batch_size(bench: tuple[dict, Path, int]) -> None:
    prediction = bench[0]["prediction"]
    # LIFT's default batch and the default suite's LIFT runs' (what `make run` predicts in), on as many
    # prompts as the larger batch.
    sources = {b["batch_size"]: b["source"] for b in prediction["by_batch"]}
    assert sources == {16: "LIFT's default", 64: "the default suite's"}
    assert prediction["rows"] == 64 and prediction["classes"] == 3
    # Measured as a LIFT run predicts: in the precision `auto` gives it, against that dtype's peak.
    assert prediction["precision"]["requested"] == "auto"
    bf16 = prediction["precision"]["precision"] == "bf16-mixed"
    for batch in prediction["by_batch"]:
        assert batch["batches"] == 64 // batch["batch_size"]
        assert 0 < batch["floor"]["mfu"] <= 1
        assert batch["floor"]["dtype"] == ("bfloat16" if bf16 else "float32")
        for name in ("floor", "score", "generate"):
            assert positive_finite(batch[name]["seconds"]) and positive_finite(batch[name]["samples_per_s"])
        for name in ("score", "generate"):
            # Scoring and generating do the floor's forward pass and more: they cannot be much faster.
            assert batch[name]["vs_floor"] >= 0.8
            assert batch[name]["vs_floor"] == pytest.approx(
                batch[name]["seconds"] / batch["floor"]["seconds"]
            )
        step = batch["decode_step"]
        assert positive_finite(step["seconds"]) and positive_finite(step["one_row_seconds"])
        assert step["steps_per_batch"] == prediction["max_new_tokens"] - 1
        assert step["steps_vs_floor"] == pytest.approx(
            step["steps_per_batch"] * batch["batches"] * step["seconds"] / batch["floor"]["seconds"]
        )
        assert step["generate_vs_floor_and_steps"] == pytest.approx(
            batch["generate"]["seconds"] / (batch["floor"]["seconds"] * (1 + step["steps_vs_floor"]))
        )
    goals = (bench[1] / "bench.md").read_text()
    for size in sources:
        assert f"greedy generation <= 1.3x the prompt-forward floor, at {size} rows a batch" in goals


def test_prediction_batch_sizes_follow_the_suite(tmp_path: Path) -> None:
    """The bench predicts at whatever batch the suite's LIFT runs use, and names each size's source."""
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: mine\nblocks:\n"
        "  - tasks: [iris]\n    methods: [{name: lift, params: {eval_batch_size: 32}}]\n"
        "  - tasks: [wine]\n    methods: [lift, logreg]\n"
    )
    assert prediction_batch_sizes(str(suite)) == {
        16: "LIFT's default and the mine suite's",
        32: "the mine suite's",
    }


def test_tokens_per_row_cover_every_serializer_and_task(bench: tuple[dict, Path, int]) -> None:
    rows = bench[0]["tokens"]["rows"]
    pairs = {(r["task"], r["serializer"]) for r in rows}
    tasks = {"iris", "wine", "moons", "breast-cancer-wisconsin"}
    serializers = {"lift", "lift-names", "text", "list", "json"}
    assert pairs == {(t, s) for t in tasks for s in serializers}
    for row in rows:
        assert row["rows"] > 0
        assert positive_finite(row["prompt_mean"]) and positive_finite(row["completion_mean"])
        assert row["total_mean"] == pytest.approx(row["prompt_mean"] + row["completion_mean"])
        assert row["total_max"] >= row["total_mean"]
    lift = {r["task"]: r["total_mean"] for r in rows if r["serializer"] == "lift"}
    assert lift["breast-cancer-wisconsin"] > lift["wine"] > lift["iris"]  # 30 > 13 > 4 features


def test_suite_slice_times_each_method_in_its_own_process(bench: tuple[dict, Path, int]) -> None:
    suite = bench[0]["suite"]
    assert suite["full"] is None  # the store given does not exist
    methods = suite["slice"]["methods"]
    assert set(methods) == {"majority", "logreg"}
    assert suite["slice"]["stored_runs"] == sum(m["runs"] for m in methods.values()) > 0
    for entry in methods.values():
        for key in ("fit_seconds", "predict_seconds", "peak_rss_mb", "process_wall_seconds"):
            assert positive_finite(entry[key]), key
        # the process's own peak: more than an interpreter with numpy; what the runner recorded during
        # the runs (VmHWM, not the parent's ru_maxrss) cannot exceed the peak at the process's exit
        assert 50 < entry["runner_recorded_peak_rss_mb"] <= entry["peak_rss_mb"]
        assert entry["process_wall_seconds"] > entry["fit_seconds"] + entry["predict_seconds"]


def test_the_dry_run_estimate_is_checked_against_the_slice(bench: tuple[dict, Path, int]) -> None:
    estimate = bench[0]["suite"]["estimate"]
    assert estimate["full"] is None  # --quick estimates the slice only (its probe stays small)
    sliced = estimate["slice"]
    assert set(sliced["methods"]) == {"majority", "logreg"}
    for entry in sliced["methods"].values():
        assert positive_finite(entry["estimated_s"]) and positive_finite(entry["measured_s"])
        assert entry["error"] == pytest.approx(entry["estimated_s"] / entry["measured_s"] - 1)
    assert sliced["measured_s"] == pytest.approx(sum(e["measured_s"] for e in sliced["methods"].values()))
    markdown = (bench[1] / "bench.md").read_text()
    assert "`liftbench run --dry-run`'s estimate against measurement" in markdown
    assert "wall-time estimate of the default suite within +-30% of measured" in markdown


def test_goals_say_what_was_not_measured(bench: tuple[dict, Path, int]) -> None:
    markdown = (bench[1] / "bench.md").read_text()
    assert "default suite <= " in markdown and "not measured" in markdown
    assert "every MFU <= 1" in markdown and "native" in markdown


def test_an_mfu_above_one_is_reported_as_a_failed_goal() -> None:
    """Executed FLOPs faster than the best measured rate mean a wrong count or peak: the bench fails."""
    side = {"flops_per_s": 3e9, "dtype": "float32"}
    results = {
        "bench": {"quick": False},
        "peak": {"float32": 2e9, "bfloat16": 9e9, "square_float32": 2e9},
        "prediction": {
            "by_batch": [
                {
                    "batch_size": 16,
                    "source": "LIFT's default",
                    "floor": side,
                    "score": {"vs_floor": 1.1},
                    "generate": {"vs_floor": 1.2},
                    "decode_step": {
                        "seconds": 0.05,
                        "one_row_seconds": 0.04,
                        "steps_per_batch": 3,
                        "steps_vs_floor": 0.2,
                        "generate_vs_floor_and_steps": 1.0,
                    },
                }
            ]
        },
    }
    results["bench"]["mfu_over_one"] = _add_mfu(results)
    assert results["bench"]["mfu_over_one"] == ["prediction floor, batch 16: MFU 1.50"]
    mfu_goal = next(g for g in goals(results) if g["goal"].startswith("every MFU"))
    assert mfu_goal["met"] is False and "MFU 1.50" in mfu_goal["measured"]


def test_interleaved_rounds_stop_at_the_time_budget() -> None:
    """A slow machine measures fewer rounds, never none: no round starts once the budget has passed."""
    calls: list[str] = []
    work = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    seconds, rounds = interleaved_best(work, rounds=3, budget_s=0.0)
    assert rounds == 1 and calls == ["a", "b", "a", "b"]  # the untimed call of each, then one round
    assert set(seconds) == {"a", "b"}
    calls.clear()
    assert interleaved_best(work, rounds=3)[1] == 3 and len(calls) == 8


def test_the_fp32_suite_goal_is_projected_from_the_estimate() -> None:
    """Where LIFT trained in bf16, the suite on a CPU without it (LIFT in fp32) is projected: the fp32
    estimate, beside the error of the estimate of the suite as run; where LIFT ran fp32 there is nothing
    to add."""
    results = {
        "bench": {"quick": False, "mfu_over_one": []},
        "peak": {"square_float32": 152e9},  # goal: 300 s
        "suite": {
            "estimate": {
                "goal": 0.3,
                "slice": {"error": 0.0},
                "full": {"estimated_wall_s": 200.0, "measured_wall_s": 250.0, "error": -0.2, "jobs": 2},
                "full_fp32": {
                    "estimated_wall_s": 330.0,
                    "run_s": 560.0,
                    "lm_run_s": 420.0,
                    "same_as_run": False,
                },
            }
        },
    }
    (fp32,) = [g for g in goals(results) if "LIFT in fp32" in g["goal"]]
    assert fp32["met"] is False and fp32["measured"].startswith("5.5 min projected")  # 330 s > 300 s
    assert "its estimate of the suite as run was -20% off" in fp32["measured"]
    assert "LIFT's training alone" not in fp32["why"]  # no training case measured: no floor
    # The floor: 60k tokens x 446 MFLOP = 26.8 TFLOP, at 100 GFLOP/s 268 s: 4.5 min, 89 % of 300 s.
    rates = {"tokens_per_s": 300.0, "mfu": 0.5}
    lora = {"model": "m", "finetune": "lora", "tokens_per_s_vs_plain": 1.5, "plain": rates}
    lora |= {
        "ours": rates | {"flops": 446e9, "real_tokens": 1000},
        "precision": {"precision": "p", "reason": "r"},
    }
    results["training"] = {"cases": [lora]}
    results["peak"].update({"float32": 100e9, "threads": 2})
    results["suite"]["estimate"]["full_fp32"]["lm_train_tokens"] = 60_000
    why = next(g for g in goals(results) if "LIFT in fp32" in g["goal"])["why"]
    assert (
        "27 TFLOP (60k tokens x 446 MFLOP" in why and "4.5 min at the fp32 peak of all 2 threads, 89%" in why
    )
    results["suite"]["estimate"]["full_fp32"]["estimated_wall_s"] = 290.0
    assert next(g for g in goals(results) if "LIFT in fp32" in g["goal"])["met"] is True
    results["suite"]["estimate"]["full_fp32"]["same_as_run"] = True
    assert next(g for g in goals(results) if "LIFT in fp32" in g["goal"])["met"] is None


def test_suite_goal_scales_with_the_machines_fp32_peak() -> None:
    assert suite_goal_seconds(76e9) == pytest.approx(600)
    assert suite_goal_seconds(152e9) == pytest.approx(300)


def test_full_store_is_summarised_per_method(bench: tuple[dict, Path, int], tmp_path: Path) -> None:
    """A store that holds default-suite runs is read back per method, with its coverage of the suite."""
    from benchmark.bench.suite_cost import run_slice, summarise_store

    store = tmp_path / "store.sqlite"
    run_slice("default", "task=iris,split_seed=0,train_size=all", ["majority"], store, lambda _: None)
    summary = summarise_store(store, "default")
    assert summary["stored_runs"] == 1 and not summary["complete"]
    assert summary["suite_runs"] > 100
    assert set(summary["methods"]) == {"majority"}
    # The span starts when the `run` that stored the run started (its start-up is part of a suite's time).
    with ResultStore(store) as results:
        (run_hash,) = results.runs()["run_hash"]
        record = results.get_run(run_hash)
    started = datetime.fromisoformat(record.provenance["runner_started_at"])
    stored = datetime.fromisoformat(record.created_at)
    assert summary["wall_span_seconds"] == pytest.approx((stored - started).total_seconds())
    assert (
        summary["wall_span_seconds"] > record.provenance["fit_seconds"] + record.provenance["predict_seconds"]
    )


def test_only_names_known_sections() -> None:
    assert parse_sections("prediction,training") == ("training", "prediction")
    assert parse_sections("peak") == ()
    with pytest.raises(LiftbenchError, match="unknown section 'trainig'.*did you mean: training"):
        parse_sections("trainig")


def test_step_clock_times_each_forward_pass() -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Embedding(10, 4))
    model.get_input_embeddings = lambda: model[0]
    clock = StepClock()
    handle = clock.attach(model)
    for width in (3, 5):
        model(torch.zeros((2, width), dtype=torch.long))
    clock.stop()
    handle.remove()
    model(torch.zeros((1, 1), dtype=torch.long))
    assert clock.shapes == [(2, 3), (2, 5)]
    assert len(clock.step_seconds()) == 2 and all(s >= 0 for s in clock.step_seconds())
