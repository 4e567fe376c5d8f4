"""The `lift` method behind the Method protocol: fit, predict by scoring and by generation, fallbacks,
sampling, determinism, errors, and a run through the real runner. Tiny random models; one integration
test with the bundled SmolLM2."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.core.methods import INVALID_CLASS, FitData, make_method, method_entries
from benchmark.core.metrics import compute_metrics
from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import execute_run
from benchmark.lift import precision
from benchmark.lift.serialization import get_serializer
from tasks.errors import LiftbenchError
from tasks.registry import load_task
from tasks.spec import TaskData
from tests import builders
from tests.builders import digit_task, line_task

QUIET = {"enable_progress_bar": False}


def fit_data(task: TaskData, n_train: int = 40, n_val: int = 10, seed: int = 0) -> FitData:
    return builders.fit_data(task, n_train, n_val, seed)


def lift(kind: str = "classification", seed: int = 0, **params):
    return make_method("lift", kind, seed, {"model": "tiny-gpt2", **QUIET, **params})


@pytest.fixture(scope="module")
def trained_copy():
    """tiny-gpt2 fully fine-tuned on the copy task until it answers it, predicting by both modes."""
    task = digit_task()
    # fp32 as asked, so what it learns does not depend on this machine's bf16 (precision: auto)
    method = lift(finetune="full", lr=3e-3, epochs=12, warmup_steps=2, predict="both", precision="32-true")
    info = method.fit(fit_data(task))
    return task, method, info


def test_lift_is_registered_for_both_kinds_with_its_dependencies() -> None:
    entry = method_entries()["lift"]
    assert set(entry.kinds) == {"classification", "regression"}
    assert set(entry.requires) == {"torch", "transformers", "peft", "pytorch_lightning"}
    assert {"model", "serializer", "serializer_options"} <= set(entry.defaults)
    assert entry.defaults["finetune"] == "lora" and entry.defaults["warmup_steps"] == 6


def test_fine_tuning_learns_the_task(trained_copy) -> None:
    task, method, info = trained_copy
    untrained = lift(finetune="none")
    untrained.fit(fit_data(task))
    y_train = task.y.to_numpy()[:40]
    before = np.mean(untrained.predict(task.X.iloc[:40]).y_pred == y_train)
    after = np.mean(method.predict(task.X.iloc[:40]).y_pred == y_train)
    assert after >= 0.95 > before
    history = info.extra["history"]
    assert history[-1]["train_loss"] < 0.2 * history[0]["train_loss"]
    assert info.selected == {"epoch": info.extra["best_epoch"]}
    assert history[info.extra["best_epoch"] - 1]["val_accuracy"] == max(h["val_accuracy"] for h in history)
    assert info.extra["trainable_parameters"] == info.extra["total_parameters"]
    assert info.extra["precision"] == "32-true"
    assert info.extra["precision_choice"]["reason"] == "as requested"
    assert info.extra["samples_seen"] == 12 * 40 and info.extra["tokens_seen"] > 12 * 40 * 10
    assert info.extra["train_samples_per_s"] > 0 and info.extra["val_predict_samples_per_s"] > 0
    assert info.extra["model_id"] == "tiny-gpt2" and info.extra["model_revision"]
    assert len(info.extra["train_prompt_hash"]) == 16
    assert info.extra["val_generate_accuracy"] >= 0.9 and info.extra["val_generate_invalid_rate"] == 0.0


def test_generation_and_scoring_agree_on_hand_computed_answers(trained_copy) -> None:
    task, method, _ = trained_copy
    rows = pd.DataFrame({"a": [0, 1, 1, 0, 1], "b": [0.5, -1.2, 0.0, 2.25, 0.7]})
    answers = rows["a"].to_numpy()  # the task's rule: the answer copies x1
    pred = method.predict(rows)
    assert pred.y_pred.tolist() == answers.tolist()
    assert pred.proba.shape == (5, 2) and np.allclose(pred.proba.sum(axis=1), 1)
    assert not pred.invalid.any()
    parser = get_serializer("lift").bind(task)
    assert [parser.parse(text).value for text in pred.raw] == answers.tolist()
    assert pred.raw[0] == " 0@@@"


def test_sampled_answers_take_the_majority_vote(trained_copy) -> None:
    task, method, _ = trained_copy
    original = method.params  # the fitted model, asked to sample five answers per row instead
    method.params = dataclasses.replace(original, predict="generate", num_samples=5, temperature=2.0)
    try:
        pred = method.predict(task.X.iloc[40:60])
    finally:
        method.params = original
    parser = get_serializer("lift").bind(task)
    for y_pred, raw in zip(pred.y_pred, pred.raw, strict=True):
        samples = json.loads(raw)
        assert len(samples) == 5
        votes = Counter(a.value for a in map(parser.parse, samples) if a.valid)
        expected = min(c for c, n in votes.items() if n == max(votes.values())) if votes else INVALID_CLASS
        assert y_pred == expected
    assert pred.proba is None


def test_regression_invalid_answers_take_the_training_mean() -> None:
    task = line_task()
    method = lift("regression", finetune="none", max_new_tokens=3)  # random weights: mostly gibberish
    info = method.fit(fit_data(task, n_train=30, n_val=5))
    pred = method.predict(task.X.iloc[30:])
    mean = float(task.y.iloc[:30].mean())
    assert pred.invalid.any()
    assert np.all(pred.y_pred[pred.invalid] == mean)
    assert info.extra["regression_fallback"]["value"] == pytest.approx(mean)
    assert pred.std is None and len(pred.raw) == 10


def test_regression_sampling_gives_a_spread() -> None:
    task = line_task()
    method = lift("regression", finetune="full", lr=3e-3, epochs=3, num_samples=3, max_new_tokens=6)
    method.fit(fit_data(task, n_train=30, n_val=5))
    pred = method.predict(task.X.iloc[30:])
    parser = get_serializer("lift").bind(task)
    train_mean, train_std = float(task.y.iloc[:30].mean()), float(np.std(task.y.iloc[:30]))
    for y_pred, std, invalid, raw in zip(pred.y_pred, pred.std, pred.invalid, pred.raw, strict=True):
        samples = json.loads(raw)
        assert len(samples) == 3
        values = [a.value for a in map(parser.parse, samples) if a.valid]
        assert invalid == (not values)
        if values:  # the mean and spread of the valid samples ...
            assert (y_pred, std) == pytest.approx((np.mean(values), np.std(values)))
        else:  # ... or, with none, the declared fallback
            assert (y_pred, std) == pytest.approx((train_mean, train_std))


def scripted_generation(monkeypatch: pytest.MonkeyPatch, texts: list[list[str]]) -> None:
    """Make the LM's generation return `texts` (one list of samples per prompt, in order): the parser,
    the vote, the fallback and the metrics downstream of it are the real ones."""

    def generate(lm, prompts, **kwargs):
        assert len(prompts) == len(texts) and kwargs["num_samples"] == len(texts[0])
        return texts

    monkeypatch.setattr("benchmark.lift.method.generate", generate)


def test_unterminated_and_partly_invalid_samples_count_in_the_strict_invalid_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = digit_task()
    method = lift(finetune="none", predict="generate", num_samples=3, temperature=1.0)
    method.fit(fit_data(task))
    scripted_generation(
        monkeypatch,
        [
            ["1@@@", "1@@@", "0@@@"],  # terminated, parsed: strictly valid
            ["1", "1@@@", "1@@@"],  # a sample ran out of tokens before its end marker
            ["banana@@@", "0@@@", "0 and then@@@"],  # one sample unparsable, trailing text tolerated
            ["x@@@", "y", "@@@"],  # nothing parsable: invalid even leniently
        ],
    )
    pred = method.predict(task.X.iloc[:4])
    assert pred.y_pred.tolist() == [1, 1, 0, INVALID_CLASS]
    assert pred.invalid.tolist() == [False, False, False, True]
    assert pred.terminated.tolist() == [True, False, True, False]
    assert pred.invalid_samples.tolist() == [0, 0, 1, 3]
    scores = compute_metrics("classification", np.array([1, 1, 0, 0]), pred, n_classes=2)
    assert scores["invalid_rate"] == 0.25 and scores["strict_invalid_rate"] == 0.75


def test_regression_rows_with_no_valid_sample_take_the_fallback_and_its_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = line_task()
    method = lift("regression", finetune="none", num_samples=2)
    method.fit(fit_data(task, n_train=30, n_val=5))
    scripted_generation(monkeypatch, [["1.5@@@", "2.5@@@"], ["oops@@@", "-"]])
    pred = method.predict(task.X.iloc[30:32])
    train = task.y.iloc[:30]
    assert pred.y_pred.tolist() == pytest.approx([2.0, float(train.mean())])
    assert pred.std.tolist() == pytest.approx([0.5, float(np.std(train))])
    assert pred.invalid.tolist() == [False, True] and pred.terminated.tolist() == [True, False]


def test_an_unterminated_answer_is_stored_and_counted_by_the_strict_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One sample per row, through the runner: "1" (no end marker) is read leniently as class 1, and
    the stored run says it was not terminated and counts it in its strict invalid rate."""
    spec = RunSpec(
        task="moons",
        task_params={"n": 60},
        method="lift",
        method_params={"model": "tiny-gpt2", "finetune": "none", "predict": "generate", **QUIET},
    )

    def generate(lm, prompts, **kwargs):
        return [["1"] if i % 2 else ["0@@@"] for i in range(len(prompts))]

    monkeypatch.setattr("benchmark.lift.method.generate", generate)
    result = execute_run(spec)
    assert result.ok, result.record.error
    stored = result.predictions
    assert stored["terminated"].tolist() == [i % 2 == 0 for i in range(len(stored))]
    assert not stored["invalid"].any() and (stored["y_pred"] == 1 - stored["terminated"]).all()
    metrics = result.record.metrics
    assert metrics["invalid_rate"] == 0
    assert metrics["strict_invalid_rate"] == pytest.approx(1 - stored["terminated"].mean())


def test_the_same_seed_gives_the_same_predictions() -> None:
    task = digit_task()
    probas = []
    for seed in (0, 0, 1):
        method = lift(seed=seed, model="tiny-llama", epochs=2, lr=1e-2)
        method.fit(fit_data(task, seed=seed))
        probas.append(method.predict(task.X.iloc[50:]).proba)
    np.testing.assert_array_equal(probas[0], probas[1])
    assert not np.array_equal(probas[0], probas[2])


@pytest.mark.parametrize(("rates", "chosen"), [((50e9, 150e9), "bf16-mixed"), ((76e9, 1.2e9), "32-true")])
def test_by_default_lift_trains_in_what_the_probe_measured_faster(
    monkeypatch: pytest.MonkeyPatch, rates: tuple[float, float], chosen: str
) -> None:
    """`precision: auto` is the default. The probe's rates are injected: the decision, the training and
    the record follow them."""
    probed = []

    def probe(model: torch.nn.Module, rows: int) -> tuple[float, float, bool]:
        probed.append(rows)
        return (*rates, True)

    monkeypatch.setattr(precision, "probe_rates", probe)
    method = lift(model="tiny-llama", epochs=1, accelerator="cpu")  # no precision given
    info = method.fit(fit_data(digit_task()))
    assert probed == [precision.probe_rows(probed[0])]  # a batch of the longest rows, rounded up
    assert info.extra["precision"] == chosen
    record = info.extra["precision_choice"]
    assert record["precision"] == chosen and record["requested"] == "auto"
    assert (record["fp32_flops_per_s"], record["bf16_flops_per_s"]) == rates


@pytest.mark.parametrize(
    ("model", "n"), [("tiny-gpt2", 60), pytest.param("smollm2-135m", 40, marks=pytest.mark.integration)]
)
def test_the_same_spec_run_twice_gives_identical_metrics_and_predictions(model: str, n: int) -> None:
    """Through the runner, training, scoring and greedy generation ("both"): equal to the bit."""
    spec = RunSpec(
        task="moons",
        task_params={"n": n},
        method="lift",
        # fp32 named: "auto" picks bf16 on a CPU by timing, which may choose differently run to run
        method_params={
            "model": model,
            "epochs": 2,
            "batch_size": 4,
            "predict": "both",
            "precision": "32-true",
            **QUIET,
        },
    )
    first, second = execute_run(spec), execute_run(spec)
    assert first.ok and second.ok, (first.record.error, second.record.error)
    assert first.record.metrics == second.record.metrics
    pd.testing.assert_frame_equal(first.predictions, second.predictions, check_exact=True)
    histories = [r.record.provenance["fit_info"]["history"] for r in (first, second)]
    assert histories[0] == histories[1] and len(histories[0]) == 2


def test_bf16_training_follows_fp32_training() -> None:
    """The same fit in bf16 autocast and in fp32: bf16 really runs (the numbers differ) and lands
    where fp32 does, within bf16's rounding. CPU autocast runs bf16 on any CPU (slowly without
    AVX-512 bf16, which does not matter for a model this small), so the test never skips."""
    task = digit_task()
    runs = {}
    for chosen in ("32-true", "bf16-mixed"):
        method = lift(model="tiny-llama", epochs=2, lr=1e-2, precision=chosen)
        info = method.fit(fit_data(task))
        runs[chosen] = (info, method.predict(task.X.iloc[50:]).proba)
    (fp32_info, fp32), (bf16_info, bf16) = runs["32-true"], runs["bf16-mixed"]
    assert bf16_info.extra["precision"] == bf16_info.ran_with["precision"] == "bf16-mixed"
    assert fp32_info.ran_with["precision"] == "32-true"
    assert bf16_info.ran_with["attention"] == fp32_info.ran_with["attention"] == "eager"  # on a CPU
    assert not np.array_equal(bf16, fp32)
    np.testing.assert_allclose(bf16, fp32, atol=0.03)
    fp32_losses = [h["train_loss"] for h in fp32_info.extra["history"]]
    bf16_losses = [h["train_loss"] for h in bf16_info.extra["history"]]
    np.testing.assert_allclose(bf16_losses, fp32_losses, rtol=0.02)


def test_lift_runs_through_the_runner_and_stores_probabilities() -> None:
    spec = RunSpec(
        task="moons",
        task_params={"n": 60},
        method="lift",
        method_params={"model": "tiny-gpt2", "epochs": 1, **QUIET},
    )
    result = execute_run(spec)
    assert result.ok, result.record.error
    assert result.predictions["proba"].map(len).eq(2).all()
    assert result.record.metrics["invalid_rate"] == 0 and "strict_invalid_rate" not in result.record.metrics
    stored = result.predictions
    assert result.record.metrics["accuracy"] == np.mean(stored["y_pred"] == stored["y_true"])
    fit_info = result.record.provenance["fit_info"]
    assert fit_info["finetune"] == "lora" and fit_info["target_modules"] == ["c_attn"]
    assert fit_info["epochs_run"] == 1 and fit_info["serializer"]["serializer"] == "lift"


def test_a_prompt_longer_than_the_context_names_task_length_and_limit() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(12, 150)), columns=[f"f{i}" for i in range(150)])
    task = TaskData(
        name="wide",
        kind="classification",
        X=X,
        y=pd.Series(rng.integers(0, 2, 12)),
        feature_types=dict.fromkeys(X.columns, "numeric"),
        classes=("0", "1"),
        source="synthetic",
    )
    with pytest.raises(LiftbenchError, match=r"task 'wide'.*context of 512 tokens.*has \d+ tokens"):
        lift().fit(fit_data(task, n_train=8, n_val=2))


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("regression", {"predict": "score"}, "regression answers are generated"),
        ("classification", {"finetune": "qlora"}, "finetune='qlora'"),
        ("classification", {"epochs": 0}, "epochs=0"),
        ("classification", {"select_metric": "acuracy"}, "did you mean: accuracy"),
        ("classification", {"learning_rate": 1e-3}, "has no parameter .learning_rate."),
    ],
)
def test_bad_parameters_are_clear_errors(kind: str, params: dict, message: str) -> None:
    with pytest.raises(LiftbenchError, match=message):
        make_method("lift", kind, 0, params)


@pytest.mark.integration
def test_bundled_smollm2_with_lora_predicts_iris_by_both_modes() -> None:
    iris = load_task("iris")
    rows = np.random.default_rng(0).permutation(len(iris.X))
    y = iris.y.to_numpy()
    data = FitData(
        task=iris,
        X_train=iris.X.iloc[rows[:16]],
        y_train=y[rows[:16]],
        X_val=iris.X.iloc[rows[16:22]],
        y_val=y[rows[16:22]],
        seed=0,
    )
    method = make_method(
        "lift", "classification", 0, {"epochs": 1, "batch_size": 4, "predict": "both", **QUIET}
    )
    info = method.fit(data)
    pred = method.predict(iris.X.iloc[rows[22:30]])
    assert info.extra["model_id"] == "smollm2-135m"
    assert info.extra["target_modules"] == ["q_proj", "v_proj"]
    assert 0 < info.extra["trainable_parameters"] < info.extra["total_parameters"] / 100
    assert pred.proba.shape == (8, 3) and np.allclose(pred.proba.sum(axis=1), 1)
    assert set(pred.y_pred) <= {0, 1, 2} and not pred.invalid.any()
    assert len(pred.raw) == 8 and all(isinstance(text, str) for text in pred.raw)
    # the recorded validation rates of generation are those of generating the validation rows again
    method.params = dataclasses.replace(method.params, predict="generate")
    again = compute_metrics("classification", data.y_val, method.predict(data.X_val), n_classes=3)
    assert info.extra["val_generate_invalid_rate"] == again["invalid_rate"]
    assert info.extra["val_generate_strict_invalid_rate"] == again["strict_invalid_rate"]
