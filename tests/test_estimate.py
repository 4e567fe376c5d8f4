"""The wall-time estimate of `liftbench run --dry-run`: its arithmetic against a hand count, the
schedule it simulates, the machine probe's cache, the probe itself on tiny parts, and the CLI lines."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from benchmark.bench.estimate_check import lm_training_tokens
from benchmark.cli import main
from benchmark.core.other_load import OtherLoad
from benchmark.core.runspec import RunSpec
from benchmark.estimate import probe as probe_module
from benchmark.estimate.blocks import SuiteBlock, suite_blocks
from benchmark.estimate.cache import cache_path, machine_key, read_profile, write_profile
from benchmark.estimate.plan import estimate_runs, plan_precisions, workloads_of
from benchmark.estimate.precisions import run_precisions
from benchmark.estimate.probe import machine_profile, run_threads, threads_of_a_run
from benchmark.estimate.probe_baselines import probe_baseline, probe_harness
from benchmark.estimate.probe_lm import probe_lm
from benchmark.estimate.probe_parallel import probe_parallel
from benchmark.estimate.profile import BaselineCost, HarnessCost, LMRates, MachineProfile
from benchmark.estimate.wall_time import TWO_STAGE_PASSES, estimate_suite, simulate_schedule, trained_tokens
from benchmark.estimate.workload import COUNTED, Tokens, Workload, workload
from benchmark.harness.suites import load_suite
from benchmark.harness.suites.overrides import with_row_limit

MAJORITY = RunSpec(task="moons", task_params={"n": 100}, method="majority")
# precision None: the fixed rule (fp32 on a CPU), so the hand profile's one rate applies with no decision
LIFT = RunSpec(task="iris", method="lift", method_params={"epochs": 2, "precision": None}, model="tiny-gpt2")


def hand_profile(worker_start_s: float = 2.0) -> MachineProfile:
    """Round numbers: a majority fit is 2 s at 20 rows x 1 feature, linear in both; an LM step is easy."""
    return MachineProfile(
        key={"test": True},
        harness=HarnessCost(run_s=1.0, row_s=0.0, worker_start_s=worker_start_s),
        baselines={
            "classification/majority": BaselineCost(
                shapes=((10, 1), (20, 1), (20, 2)),
                fit_seconds=(1.0, 2.0, 4.0),
                predict_call_s=0.0,
                predict_row_s=0.0,
            )
        },
        models={
            "tiny-gpt2/lora": LMRates(
                load_s=3.0,
                trainer_start_s=1.0,
                train_tokens_per_s=10.0,
                score_tokens_per_s=12.0,
                decode_step_s=0.5,
                eval_batch_size=16,
                decode_row_s=0.01,
            )
        },
    )


def test_estimate_matches_a_hand_count_per_block_and_for_one_and_two_workers() -> None:
    majority = [MAJORITY, RunSpec(task="moons", task_params={"n": 100}, method="majority", split_seed=1)]
    runs = [*majority, LIFT]
    baseline_work = Workload("classification", n_train=20, n_features=2, n_val=5, n_test=5, eval_rows=())
    tokens = Tokens(
        train_row=10, train_row_max=12, prompt=8, eval_prompts=(), answers=2, generated=2, counted=COUNTED
    )
    lm_work = Workload(
        "classification", n_train=10, n_features=4, n_val=4, n_test=4, eval_rows=(), tokens=tokens
    )
    workloads = {majority[0].hash: baseline_work, majority[1].hash: baseline_work, LIFT.hash: lm_work}
    blocks = {s.hash: SuiteBlock(1, "moons x majority") for s in majority} | {
        LIFT.hash: SuiteBlock(2, "iris x lift")
    }
    # majority: fit 2 s x (20/20 rows) x (2/1 features) = 4 s, plus 1 s of harness = 5 s each.
    # lift: load 3 + trainer 1 + 2 epochs x 10 rows x 10 tokens / 10 tokens/s = 20, validation scored after
    # each epoch 2 x 4 rows x (8 + 2) tokens / 12 = 6.67, test 4 x 10 / 12 = 3.33: 34 s, plus 1 s of harness.
    one = estimate_suite(runs, workloads, blocks, hand_profile(), jobs=1)
    assert [r.seconds for r in one.runs] == pytest.approx([5.0, 5.0, 35.0])
    assert [(b.block.index, b.runs, b.lm_runs) for b in one.blocks] == [(1, 2, 0), (2, 1, 1)]
    assert [b.seconds for b in one.blocks] == pytest.approx([10.0, 35.0])
    assert one.wall_s == pytest.approx(45.0)
    # two workers: the LM run first on one (2 s to start, then 35 s), the two others after each other on
    # the second (2 + 5 + 5): the wall is the LM worker's 37 s.
    two = estimate_suite(runs, workloads, blocks, hand_profile(), jobs=2)
    assert two.wall_s == pytest.approx(37.0)
    assert two.seconds == pytest.approx(45.0)
    # beside each other the methods run 1.5x as slow (the harness's own seconds do not change):
    # the LM worker 2 + 34 x 1.5 + 1 = 54 s, the other 2 + 2 x (4 x 1.5 + 1) = 16 s
    slower = hand_profile()
    slower.parallel["parallel/2 jobs"] = 1.5
    assert estimate_suite(runs, workloads, blocks, slower, jobs=2).wall_s == pytest.approx(54.0)
    assert estimate_suite(runs, workloads, blocks, slower, jobs=1).wall_s == pytest.approx(45.0)


def test_an_lm_run_takes_the_rates_of_the_precision_it_will_train_in() -> None:
    tokens = Tokens(
        train_row=10, train_row_max=12, prompt=8, eval_prompts=(), answers=2, generated=2, counted=COUNTED
    )
    work = Workload(
        "classification", n_train=10, n_features=4, n_val=4, n_test=4, eval_rows=(), tokens=tokens
    )
    auto = RunSpec(
        task="iris", method="lift", method_params={"epochs": 2, "precision": "auto"}, model="tiny-gpt2"
    )
    profile = hand_profile()
    fp32 = profile.models["tiny-gpt2/lora"]
    profile.models["tiny-gpt2/lora/bf16-mixed"] = LMRates(**{**fp32.__dict__, "train_tokens_per_s": 20.0})
    block = {auto.hash: SuiteBlock(1, "b")}
    bf16 = estimate_suite([auto], {auto.hash: work}, block, profile, 1, {auto.hash: "bf16-mixed"})
    assert bf16.runs[0].method_s == pytest.approx(34.0 - 10.0)  # 200 training tokens at 20/s, not 10/s
    undecided = estimate_suite([auto], {auto.hash: work}, block, profile, 1)
    assert undecided.runs == [] and undecided.not_estimated == {"tiny-gpt2/lora/auto": 1}


def test_precisions_are_the_runs_own_decisions() -> None:
    fixed = RunSpec(
        task="iris", method="lift", method_params={"epochs": 1, "precision": None}, model="tiny-gpt2"
    )
    auto = RunSpec(task="iris", method="lift", method_params={"epochs": 1}, model="tiny-gpt2")  # the default
    params = {"model": "tiny-gpt2", "serializer": "lift", "separator": " "}
    workloads = {spec.hash: workload(spec, params) for spec in (fixed, auto, MAJORITY)}
    decided = run_precisions([fixed, auto, MAJORITY], workloads)
    assert decided[fixed.hash] == "32-true" and MAJORITY.hash not in decided
    assert decided[auto.hash] in ("32-true", "bf16-mixed")
    assert run_precisions([auto], workloads) == {auto.hash: decided[auto.hash]}  # kept, so the same again


def test_the_fp32_what_if_estimates_every_lm_run_in_fp32_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench's suite on a CPU without native bf16: LM runs at fp32's rates, baselines unchanged."""
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path))
    _counting(monkeypatch)
    rates = hand_profile().models["tiny-gpt2/lora"]

    def lm(model: str, finetune: str, precision: str | None = None) -> LMRates:
        return LMRates(
            **{**rates.__dict__, "train_tokens_per_s": 20.0 if precision == "bf16-mixed" else 10.0}
        )

    monkeypatch.setattr(probe_module, "probe_lm", lm)
    bf16 = RunSpec(
        task="iris", method="lift", method_params={"epochs": 2, "precision": "bf16-mixed"}, model="tiny-gpt2"
    )
    runs = [bf16, MAJORITY]
    blocks = {spec.hash: SuiteBlock(1, "b") for spec in runs}
    own, _ = estimate_runs(runs, blocks, 1)
    fp32, _ = estimate_runs(runs, blocks, 1, precision="32-true")
    seconds = {
        name: {r.spec.method: r.method_s for r in e.runs} for name, e in (("own", own), ("fp32", fp32))
    }
    work = workloads_of([bf16])[bf16.hash]
    assert work.tokens is not None
    trained = 2 * work.n_train * work.tokens.train_row  # epochs x training rows x tokens per row
    assert seconds["fp32"]["lift"] - seconds["own"]["lift"] == pytest.approx(trained / 10 - trained / 20)
    assert seconds["fp32"]["majority"] == seconds["own"]["majority"]


def test_trained_tokens_count_epochs_rows_and_pretext_passes_of_fine_tuning_runs_only() -> None:
    """The tokens the bench's fp32 floor charges: epochs x training rows x tokens per row, plus
    two-stage's pretext passes; nothing for a run that does not fine-tune, or for a run's baselines."""
    tokens = Tokens(
        train_row=10, train_row_max=12, prompt=8, eval_prompts=(), answers=2, generated=2, counted=COUNTED
    )
    work = Workload("classification", n_train=6, n_features=4, n_val=4, n_test=4, eval_rows=(), tokens=tokens)
    assert trained_tokens(work, {"epochs": 3}) == 3 * 6 * 10
    assert trained_tokens(work, {"epochs": 3, "finetune": "none"}) == 0
    assert trained_tokens(work, {"k": 4}) == 0  # in context: no epochs
    pretext = {"pretext_epochs": 2, "pretext_rows": 5}
    passes = TWO_STAGE_PASSES * 2 * 5  # task 1, task 2, task 1, task 2: 2 epochs of 5 rows each
    assert trained_tokens(work, {"epochs": 3, "two_stage": "bl", **pretext}) == passes * 10
    assert trained_tokens(work, {"epochs": 3, "two_stage": "ift", **pretext}) == (passes + 3 * 6) * 10
    assert trained_tokens(replace(work, tokens=None), {"epochs": 3}) == 0  # a baseline's workload


def test_the_suites_lm_training_tokens_are_its_lm_runs_epochs_over_their_training_rows() -> None:
    runs = [LIFT, replace(LIFT, method_params={**LIFT.method_params, "epochs": 5}), MAJORITY]
    work = workloads_of([LIFT])[LIFT.hash]
    assert work.tokens is not None
    assert lm_training_tokens(runs) == pytest.approx((2 + 5) * work.n_train * work.tokens.train_row)


def test_schedule_gives_each_next_run_to_the_first_free_worker() -> None:
    runs = [RunSpec(task="moons", method="majority", split_seed=i) for i in range(4)]
    seconds = dict(zip([s.hash for s in runs], [4.0, 1.0, 1.0, 1.0], strict=True))
    # worker A: 4; worker B: 1, 1, 1 -> wall 4; with a start of 1 s each: 5
    assert simulate_schedule(runs, seconds, jobs=2, worker_start_s=0.0) == pytest.approx(4.0)
    assert simulate_schedule(runs, seconds, jobs=2, worker_start_s=1.0) == pytest.approx(5.0)
    assert simulate_schedule(runs, seconds, jobs=1, worker_start_s=1.0) == pytest.approx(7.0)


def test_generation_and_both_cost_what_the_module_says() -> None:
    tokens = Tokens(
        train_row=10, train_row_max=12, prompt=8, eval_prompts=(6,), answers=2, generated=3, counted=COUNTED
    )
    work = Workload(
        "classification", n_train=10, n_features=4, n_val=4, n_test=20, eval_rows=(16,), tokens=tokens
    )
    spec = RunSpec(
        task="iris",
        method="lift",
        method_params={"epochs": 1, "predict": "both", "precision": None},
        model="tiny-gpt2",
    )
    estimate = estimate_suite(
        [spec], {spec.hash: work}, {spec.hash: SuiteBlock(1, "b")}, hand_profile(), jobs=1
    )

    def generated(rows: int, prompt: float) -> float:
        """Prompts at 12 tokens/s, 3 steps per batch of at most 16 rows, a step of 0.5 s at 16 rows,
        0.01 s of it per row: 0.34 s + 0.01 s x rows."""
        batches = math.ceil(rows / 16)
        return rows * prompt / 12 + batches * 3 * (0.34 + 0.01 * math.ceil(rows / batches))

    def scored(rows: int, prompt: float) -> float:
        return rows * (prompt + 2) / 12

    expected = 3 + 1 + 10 * 10 / 10  # load, trainer, one epoch
    expected += scored(4, 8) + generated(4, 8)  # validation scored each epoch, generated once at the end
    expected += scored(20, 8) + generated(20, 8) + scored(16, 6) + generated(16, 6)  # test and evaluation set
    assert estimate.runs[0].method_s == pytest.approx(expected)


def test_blocks_follow_the_runs_through_command_line_changes(tmp_path: Path) -> None:
    suite_file = tmp_path / "two.yaml"
    suite_file.write_text(
        "name: two\nblocks:\n"
        "  - {tasks: [iris], methods: [majority, logreg]}\n"
        "  - {tasks: [iris, wine], methods: [majority], split_seeds: [0, 1]}\n"
    )
    suite = load_suite(suite_file)
    blocks = suite_blocks(suite, lambda specs: with_row_limit(specs, 5))
    limited = with_row_limit(suite.expand(), 5)
    assert [blocks[s.hash].index for s in limited] == [1, 1, 2, 2, 2]  # iris/majority split 0 is block 1's
    assert blocks[limited[-1].hash].label == "iris, wine x majority"


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Replace the measurements with instant ones that count their calls."""
    calls = {"harness": 0, "baseline": 0, "parallel": 0}

    def harness() -> HarnessCost:
        calls["harness"] += 1
        return hand_profile().harness

    def baseline(kind: str, method: str) -> BaselineCost:
        calls["baseline"] += 1
        return hand_profile().baselines["classification/majority"]

    def parallel(jobs: int) -> float:
        calls["parallel"] += 1
        return 1.0

    monkeypatch.setattr(probe_module, "probe_parallel", parallel)
    monkeypatch.setattr(probe_module, "probe_harness", harness)
    monkeypatch.setattr(probe_module, "probe_baseline", baseline)
    return calls


def test_cache_is_read_until_the_machine_changes_or_a_reprobe_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path / "cache"))
    calls = _counting(monkeypatch)
    first = machine_profile([MAJORITY])
    assert calls == {"harness": 1, "baseline": 1, "parallel": 0}
    assert first.measured == ("harness", "classification/majority")
    assert first.path.parent == tmp_path / "cache" and first.path.is_file()
    again = machine_profile([MAJORITY])
    assert calls == {"harness": 1, "baseline": 1, "parallel": 0} and again.measured == ()
    assert "from the cached probe of" in again.describe() and str(again.path) in again.describe()
    machine_profile([MAJORITY, RunSpec(task="iris", method="logreg")])  # a new method: only it is probed
    assert calls == {"harness": 1, "baseline": 2, "parallel": 0}
    machine_profile([MAJORITY], reprobe=True)
    assert calls == {"harness": 2, "baseline": 3, "parallel": 0}
    other = {**machine_key(1), "cpu": "another CPU"}
    monkeypatch.setattr(probe_module, "machine_key", lambda threads: other)
    moved = machine_profile([MAJORITY])
    assert calls == {"harness": 3, "baseline": 4, "parallel": 0} and moved.path != first.path


def test_runs_in_workers_are_probed_at_one_thread_in_a_cache_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path))
    calls = _counting(monkeypatch)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert (run_threads(1), run_threads(2), run_threads(4)) == (2, 1, 1)
        here, workers = machine_profile([MAJORITY], jobs=1), machine_profile([MAJORITY], jobs=2)
        assert torch.get_num_threads() == 2  # the probe gives the process its threads back
    finally:
        torch.set_num_threads(before)
    assert (calls["harness"], calls["parallel"]) == (2, 1) and here.path != workers.path
    assert "parallel/2 jobs" in workers.profile.parallel and not here.profile.parallel
    assert (here.profile.key["threads"], workers.profile.key["threads"]) == (2, 1)


def test_a_corrupt_cache_file_is_measured_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path))
    calls = _counting(monkeypatch)
    key = machine_key(run_threads(1))
    path = cache_path(key)
    path.write_text('{"key": {"cpu": "trunc')
    assert read_profile(key) is None
    result = machine_profile([MAJORITY])
    assert calls["harness"] == 1 and result.measured
    assert read_profile(key) is not None


def test_an_unloadable_model_leaves_its_runs_out_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path))
    _counting(monkeypatch)
    suite_file = tmp_path / "lm.yaml"
    suite_file.write_text(
        "name: lm\nblocks:\n"
        "  - {tasks: [iris], methods: [majority]}\n"
        "  - {tasks: [iris], methods: [lift], models: [no-such-org/no-such-model]}\n"
    )
    args = ["run", "--suite", str(suite_file), "--store", str(tmp_path / "s.sqlite"), "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "block  1 (iris x majority): 1 runs, " in out and "block  2" not in out
    # its precision (`auto`, the default) cannot be decided for a model that does not load
    assert "not estimated: 1 runs of no-such-org/no-such-model/lora/auto: " in out
    assert "estimated 0.0 GPU-hours for 1 LM runs" in out  # the GPU estimate still counts it


def test_dry_run_prints_each_block_and_the_total_from_a_cached_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path / "cache"))
    profile = hand_profile(worker_start_s=0.0)
    profile.key = machine_key(run_threads(2))  # a --jobs 2 worker's one thread
    for method in ("logreg", "tree"):
        profile.baselines[f"classification/{method}"] = profile.baselines["classification/majority"]
    profile.parallel["parallel/2 jobs"] = 1.0
    profile.probed_at = {"harness": "2026-01-02 03:04 UTC"}
    path = write_profile(profile)
    store = tmp_path / "s.sqlite"
    assert main(["run", "--suite", "smoke", "--store", str(store), "--dry-run", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    # smoke: moons (200 rows: 128 training, 2 features) x majority, logreg, tree: 2 s x 128/20 x 2 + 1 = 26.6 s
    # each, then iris (96 training rows, 4 features): 2 s x 96/20 x 4 + 1 = 39.4 s each. Two workers:
    # A moons, B moons, A moons (53.2), B iris (66.0), A iris (92.6), B iris (105.4 s: 1.8 min).
    assert "block  1 (moons, iris x majority, logreg, tree): 6 runs, 3.3 min" in out
    assert (
        "estimated wall time with --jobs 2: 1.8 min (3.3 min of runs in 2 workers, each run 1.00x as slow"
        in out
    )
    assert f"from the cached probe of 2026-01-02 03:04 UTC, {path}" in out


def test_probe_measures_a_tiny_model_and_fast_baselines() -> None:
    rates = probe_lm("tiny-gpt2", "lora")
    for value in (rates.load_s, rates.train_tokens_per_s, rates.score_tokens_per_s, rates.decode_step_s):
        assert math.isfinite(value) and value > 0
    assert math.isfinite(rates.decode_row_s) and rates.decode_row_s >= 0
    assert rates.decode_s(rates.eval_batch_size) == pytest.approx(rates.decode_step_s)
    for kind, method in (
        ("classification", "majority"),
        ("classification", "logreg"),
        ("regression", "mean"),
    ):
        cost = probe_baseline(kind, method)
        assert len(cost.fit_seconds) == 3 and all(t > 0 for t in cost.fit_seconds)
        assert cost.fit_s(100, 4) > 0 and cost.predict_s(1000) >= cost.predict_call_s >= 0
    harness = probe_harness()
    assert harness.run_s > 0 and harness.worker_start_s > 0 and harness.row_s >= 0
    assert probe_parallel(2) >= 1.0


def test_workload_counts_real_tokens_of_a_task_that_loads_here() -> None:
    work = workload(LIFT, {"model": "tiny-gpt2", "serializer": "lift", "separator": " "})
    assert (work.n_train, work.n_val, work.n_test, work.n_features) == (96, 24, 30, 4)
    assert work.tokens is not None and work.tokens.counted == COUNTED
    assert work.tokens.prompt > 4 and work.tokens.train_row > work.tokens.prompt and work.tokens.answers > 0


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_other_processes_cpu_is_told_apart_from_the_probes_own() -> None:
    """Processes that keep every CPU busy take most of the machine; this process's own work (and its
    finished children's, as the parallel probe's workers) does not count as others'."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, args=(3.0,)) for _ in range(os.cpu_count() or 1)]
    for spinner in spinners:
        spinner.start()
    try:
        time.sleep(0.5)  # the spinners are importing, then spinning
        busy = OtherLoad()
        time.sleep(1.5)
        assert busy.share() >= 0.5
    finally:
        for spinner in spinners:
            spinner.join()
    meter = OtherLoad()
    child = context.Process(target=_spin, args=(1.5,))
    child.start()
    _spin(1.0)
    child.join()
    others, own = meter.shares()
    # this process's spinning and its reaped child's count as its own, never as others': together they
    # cannot exceed the machine (counted as others too, they would, busy machine or quiet)
    assert own >= 1.0 / (os.cpu_count() or 1) / 2 and others + own <= 1.05


def test_dry_run_says_when_the_probe_measured_a_busy_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("LIFTBENCH_PROBE_CACHE", str(tmp_path / "cache"))
    profile = hand_profile(worker_start_s=0.0)
    profile.key = machine_key(run_threads(1))
    profile.other_load = {"harness": 0.02, "classification/majority": 0.48, "classification/svm": 0.9}
    write_profile(profile)
    suite_file = tmp_path / "one.yaml"
    suite_file.write_text("name: one\nblocks:\n  - {tasks: [iris], methods: [majority]}\n")
    assert main(["run", "--suite", str(suite_file), "--store", str(tmp_path / "s.sqlite"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    # svm's 90 % is not this suite's: only the entries its runs use are named
    assert (
        "probe: other processes used up to 48% of this machine's CPUs while it measured"
        " classification/majority: those rates are low and this estimate long" in out
    )
    quiet = {"harness": 0.0, "classification/majority": 0.1}
    profile.other_load = quiet
    write_profile(profile)
    assert main(["run", "--suite", str(suite_file), "--store", str(tmp_path / "s.sqlite"), "--dry-run"]) == 0
    assert "other processes used" not in capsys.readouterr().out


def test_the_estimate_reads_the_precision_decision_a_worker_will_read(tmp_path: Path) -> None:
    """Decisions are kept per thread count; runs in `--jobs 2` workers decide at one thread, so the
    estimate must too, whatever this process's threads."""
    spec = RunSpec(task="iris", method="lift", method_params={"epochs": 1}, model="tiny-gpt2")
    workloads = workloads_of([spec])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_of_a_run(run_threads(2)):
            in_worker = run_precisions([spec], workloads)
        folder = Path(os.environ["LIFTBENCH_PRECISION_CACHE"])
        kept = sorted(folder.glob("*.json"))
        estimated_precisions = plan_precisions([spec], workloads, jobs=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert estimated_precisions == in_worker
    assert sorted(folder.glob("*.json")) == kept  # read the worker's decision, decided nothing anew
