"""`lift-icl`: per-query seeded demonstrations, fitted to the context by dropping demonstrations and
never by cutting the query, scoring and generation with their fallbacks, errors, and a run through the
real runner. Tiny random models."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from benchmark.core.methods import INVALID_CLASS, FitData, make_method, method_entries
from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import execute_run
from benchmark.lift.icl import DemonstrationPrompts
from benchmark.lift.lm.loading import LoadedLM, prepare_tokenizer, tokenize_prompts
from benchmark.lift.lm.tiny import tiny_model
from benchmark.lift.serialization import get_serializer
from tasks.errors import LiftbenchError
from tasks.spec import TaskData
from tests import builders
from tests.builders import line_task


def numeric_task(n: int = 40, n_features: int = 3, scale: float = 1000.0, seed: int = 0) -> TaskData:
    """Two classes on wide-ranged numeric features: every row is a long prompt."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.uniform(-scale, scale, size=(n, n_features)), columns=[f"f{i}" for i in range(n_features)]
    )
    return TaskData(
        name="wide",
        kind="classification",
        X=X,
        y=pd.Series((X["f0"] > 0).astype(int)),
        feature_types=dict.fromkeys(X.columns, "numeric"),
        classes=("0", "1"),
        source="synthetic",
    )


def fit_data(task: TaskData, n_train: int = 24, n_val: int = 6, seed: int = 0) -> FitData:
    return builders.fit_data(task, n_train, n_val, seed)


def short_context_lm(context_length: int = 128) -> LoadedLM:
    model, tokenizer = tiny_model("gpt2", context_length=context_length)
    return LoadedLM(model, prepare_tokenizer(tokenizer), "tiny-gpt2", "test", 0, context_length)


def builder(task: TaskData, lm: LoadedLM, n_pool: int = 30, **options) -> DemonstrationPrompts:
    serializer = get_serializer("lift").bind(task)
    settings = {"k": 8, "seed": 0, "answer_tokens": 3, **options}
    return DemonstrationPrompts(lm, serializer, task.X.iloc[:n_pool], task.y.to_numpy()[:n_pool], **settings)


def test_lift_icl_is_registered_for_both_kinds() -> None:
    entry = method_entries()["lift-icl"]
    assert set(entry.kinds) == {"classification", "regression"}
    assert entry.requires == ("torch", "transformers")
    assert entry.defaults["model"] == "smollm2-135m" and entry.defaults["k"] == 16
    assert {"serializer", "serializer_options", "init", "predict", "stratified"} <= set(entry.defaults)


def test_demonstrations_are_dropped_to_fit_and_the_query_is_never_cut() -> None:
    task = numeric_task()
    lm = short_context_lm(128)
    prompts = builder(task, lm)
    built = prompts.build(task.X.iloc[30:])
    serializer = prompts.serializer
    for row, prompt in zip(range(30, 40), built, strict=True):
        query = serializer.prompt(task.X.iloc[row])
        query_ids = tokenize_prompts(lm.tokenizer, [query])[0]
        assert prompt.input_ids[-len(query_ids) :] == query_ids  # the whole query ends the model input
        assert prompt.input_ids == tokenize_prompts(lm.tokenizer, [prompt.text])[0]
        assert len(prompt.input_ids) + 3 <= 128
        assert 0 < len(prompt.demonstrations) < 8 and prompt.dropped == 8 - len(prompt.demonstrations)
        # only as many are dropped as must be: one more demonstration would not fit
        order = prompts.draw(row, row)
        longer = "".join(prompts.lines[i] for i in order[: len(prompt.demonstrations) + 1]) + query
        assert len(tokenize_prompts(lm.tokenizer, [longer])[0]) + 3 > 128
        assert prompt.text == "".join(prompts.lines[i] for i in prompt.demonstrations) + query


def test_demonstrations_are_drawn_per_query_and_seeded() -> None:
    task = numeric_task()
    lm = short_context_lm(512)
    draws = [tuple(builder(task, lm).draw(row)) for row in range(30, 40)]
    assert len(set(draws)) == len(draws)  # every query has its own demonstrations
    assert draws == [tuple(builder(task, lm).draw(row)) for row in range(30, 40)]
    assert draws != [tuple(builder(task, lm, seed=1).draw(row)) for row in range(30, 40)]
    built = builder(task, lm).build(task.X.iloc[30:])
    assert [p.demonstrations for p in built] == draws  # the rows' index labels seed their draws
    assert all(p.dropped == 0 and len(p.demonstrations) == 8 for p in built)


def test_a_training_row_never_demonstrates_itself() -> None:
    task = numeric_task()
    prompts = builder(task, short_context_lm(4096), n_pool=10, k=20)
    for row, prompt in enumerate(prompts.build(task.X.iloc[:10])):
        assert sorted(prompt.demonstrations) == [i for i in range(10) if i != row]


def test_stratified_demonstrations_are_balanced_in_every_prefix() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(30, int), np.ones(5, int), np.full(5, 2)]
    task = TaskData(
        name="skewed",
        kind="classification",
        X=pd.DataFrame({"x": rng.normal(size=40)}),
        y=pd.Series(y),
        feature_types={"x": "numeric"},
        classes=("0", "1", "2"),
        source="synthetic",
    )
    prompts = builder(task, short_context_lm(4096), n_pool=40, k=6, stratified=True)
    for row in range(10):
        labels = y[prompts.draw(row)]
        assert Counter(labels.tolist()) == {0: 2, 1: 2, 2: 2}
        for n in range(1, 7):
            counts = np.bincount(labels[:n], minlength=3)
            assert counts.max() - counts.min() <= 1
    plain = builder(task, short_context_lm(4096), n_pool=40, k=6)
    assert np.mean([np.sum(y[plain.draw(row)] == 0) for row in range(20)]) > 3  # unbalanced draws


def test_a_query_too_long_even_alone_names_task_length_and_limit() -> None:
    task = numeric_task(n_features=150)
    with pytest.raises(
        LiftbenchError,
        match=r"even with no demonstrations.*task 'wide'.*context of 512 tokens.*has \d+ tokens",
    ):
        make_method("lift-icl", "classification", 0, {"model": "tiny-gpt2"}).fit(fit_data(task))


def test_wide_rows_keep_fewer_demonstrations_and_still_predict() -> None:
    task = numeric_task(n_features=12)
    method = make_method("lift-icl", "classification", 0, {"model": "tiny-gpt2", "k": 16})
    info = method.fit(fit_data(task))
    stats = info.extra["val_demonstrations"]
    assert stats["queries"] == 6 and stats["queries_with_dropped_demonstrations"] == 6
    assert 0 < stats["mean_demonstrations"] < 16
    pred = method.predict(task.X.iloc[30:])
    assert pred.proba.shape == (10, 2) and np.allclose(pred.proba.sum(axis=1), 1) and not pred.invalid.any()
    assert info.extra["finetune"] == "none"
    val = fit_data(task)
    assert info.extra["val_accuracy"] == np.mean(method.predict(val.X_val).y_pred == val.y_val)


def test_generated_classification_answers_count_unparsable_ones_as_invalid() -> None:
    task = numeric_task()
    method = make_method(
        "lift-icl", "classification", 0, {"model": "tiny-gpt2", "k": 2, "predict": "generate"}
    )
    method.fit(fit_data(task))
    pred = method.predict(task.X.iloc[30:])
    assert pred.invalid.any()  # random weights: mostly gibberish
    assert np.all(pred.y_pred[pred.invalid] == INVALID_CLASS) and pred.proba is None
    assert len(pred.raw) == 10


def test_regression_generates_and_falls_back_to_the_training_mean() -> None:
    task = line_task(30)
    method = make_method("lift-icl", "regression", 0, {"model": "tiny-gpt2", "k": 4, "max_new_tokens": 3})
    info = method.fit(fit_data(task))
    pred = method.predict(task.X.iloc[24:])
    mean = float(task.y.iloc[:24].mean())
    assert pred.invalid.any() and np.all(pred.y_pred[pred.invalid] == mean)
    assert info.extra["regression_fallback"]["value"] == pytest.approx(mean)
    assert info.extra["predict"] == "generate" and "val_rae" in info.extra


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("regression", {"predict": "score"}, "regression answers are generated"),
        ("regression", {"stratified": True}, "needs classes"),
        ("classification", {"k": -1}, "k=-1"),
        ("classification", {"predict": "both"}, "predict='both'"),
        ("classification", {"epochs": 3}, "has no parameter 'epochs'"),
    ],
)
def test_bad_parameters_are_clear_errors(kind: str, params: dict, message: str) -> None:
    with pytest.raises(LiftbenchError, match=message):
        make_method("lift-icl", kind, 0, params)


def test_lift_icl_runs_through_the_runner() -> None:
    spec = RunSpec(
        task="moons", task_params={"n": 60}, method="lift-icl", method_params={"model": "tiny-gpt2", "k": 4}
    )
    result = execute_run(spec)
    assert result.ok, result.record.error
    assert result.predictions["proba"].map(len).eq(2).all()
    assert result.record.metrics["invalid_rate"] == 0
    fit_info = result.record.provenance["fit_info"]
    assert fit_info["k"] == 4 and fit_info["val_demonstrations"]["mean_demonstrations"] == 4
