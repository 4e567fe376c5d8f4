"""Two-stage fine-tuning (`lift` with `two_stage`) and its pretext generators: shapes, seeds, the
paper's call, what each arm trains, and a run through the real runner. Tiny random models and a real
Lightning Trainer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification

from benchmark.core.methods import FitData, make_method
from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import execute_run
from benchmark.lift import method as lift_method
from benchmark.lift import two_stage
from benchmark.lift.pretext import generate, pretext_names
from benchmark.lift.selection import trainable_state
from benchmark.lift.serialization import get_serializer
from tasks.errors import LiftbenchError
from tasks.spec import TaskData
from tests import builders
from tests.builders import digit_task


def fit_data(task: TaskData, n_train: int = 32, n_val: int = 8, seed: int = 0) -> FitData:
    return builders.fit_data(task, n_train, n_val, seed)


FAST = {"model": "tiny-gpt2", "enable_progress_bar": False, "pretext_rows": 16, "pretext_epochs": 1}


# --- pretext generators ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n_features", "n_classes"), [(2, 2), (4, 3), (7, 10), (2, 9), (1, 3)])
def test_classification_pretext_tasks_have_the_targets_features_and_classes(n_features, n_classes) -> None:
    names = [f"feature {i}" for i in range(n_features)]
    tasks = generate("classification", n_features, n_classes, 60, seed=3, feature_names=names)
    assert len(tasks) == 2
    for task in tasks:
        assert task.X.columns.tolist() == names and task.X.shape == (60, n_features)
        assert all(pd.api.types.is_float_dtype(dtype) for dtype in task.X.dtypes)
        assert sorted(set(task.y.tolist())) == list(range(n_classes))
    assert not np.array_equal(tasks[0].X.to_numpy(), tasks[1].X.to_numpy())
    again = generate("classification", n_features, n_classes, 60, seed=3, feature_names=names)
    assert all(np.array_equal(a.X.to_numpy(), b.X.to_numpy()) for a, b in zip(tasks, again, strict=True))
    other = generate("classification", n_features, n_classes, 60, seed=4, feature_names=names)
    assert not np.array_equal(tasks[0].X.to_numpy(), other[0].X.to_numpy())
    # K clusters on hypercube corners need 2**p >= K; fewer dimensions fall back to Gaussian blobs
    expected = "make_classification" if 2**n_features >= n_classes else "make_blobs"
    assert all(expected in task.recipe for task in tasks)


def test_seed_zero_gives_the_papers_two_make_classification_tasks() -> None:
    tasks = generate("classification", 4, 3, 100, seed=0)
    for random_state, task in zip((1, 2), tasks, strict=True):
        X, y = make_classification(
            n_samples=100,
            n_classes=3,
            n_features=4,
            n_informative=4,
            n_redundant=0,
            n_clusters_per_class=1,
            flip_y=0,
            random_state=random_state,
        )
        np.testing.assert_array_equal(task.X.to_numpy(), X)
        np.testing.assert_array_equal(task.y, y)
        assert task.X.columns.tolist() == ["x1", "x2", "x3", "x4"]


@pytest.mark.parametrize("name", ["linear-regression", "gp-prior"])
def test_regression_pretext_tasks_are_seeded_real_functions(name: str) -> None:
    tasks = generate("regression", 3, None, 50, seed=1, feature_names=["u", "v", "w"], name=name)
    for task in tasks:
        assert task.X.columns.tolist() == ["u", "v", "w"] and task.X.shape == (50, 3)
        assert task.y.dtype == float and np.all(np.isfinite(task.y)) and np.std(task.y) > 0.1
        assert task.X.to_numpy().min() >= -10 and task.X.to_numpy().max() <= 10
    assert not np.array_equal(tasks[0].y, tasks[1].y)
    again = generate("regression", 3, None, 50, seed=1, feature_names=["u", "v", "w"], name=name)
    np.testing.assert_array_equal(again[1].y, tasks[1].y)
    if name == "linear-regression":  # y is linear in X up to 10 % noise
        X = np.c_[tasks[0].X.to_numpy(), np.ones(50)]
        residual = tasks[0].y - X @ np.linalg.lstsq(X, tasks[0].y, rcond=None)[0]
        assert np.std(residual) < 0.15 * np.std(tasks[0].y)


def test_pretext_prompts_are_written_by_the_targets_serializer_with_numeric_features() -> None:
    task = digit_task(48, n_classes=3)
    serializer = get_serializer("lift-names").bind(task)
    pretext = generate("classification", 2, 3, 10, seed=0, feature_names=["a", "b"])[0]
    written = two_stage.serializer_for_pretext(serializer)
    a, b = pretext.X.iloc[0]
    assert serializer.prompt({"a": 2, "b": 0.9}) == "When we have a=2, b=0.90, What is this type? ###"
    assert written.prompt(pretext.X.iloc[0]) == f"When we have a={a:.2f}, b={b:.2f}, What is this type? ###"
    assert written.completion(2) == serializer.completion(2) == "2@@@"


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("classification", {"two_stage": "pretext"}, "two_stage='pretext'"),
        ("classification", {"two_stage": "ift", "finetune": "none"}, "stage 1 fine-tunes"),
        ("classification", {"pretext": "gp-prior"}, "makes regression tasks"),
        ("regression", {"pretext": "make-clasification"}, "did you mean: make-classification"),
        ("classification", {"pretext_epochs": 0}, "pretext_epochs=0"),
    ],
)
def test_bad_two_stage_parameters_are_clear_errors(kind: str, params: dict, message: str) -> None:
    with pytest.raises(LiftbenchError, match=message):
        make_method("lift", kind, 0, params)
    assert set(pretext_names("regression")) == {"linear-regression", "gp-prior"}


# --- the arms ----------------------------------------------------------------------------------------


@pytest.fixture
def stage_one_weights(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, torch.Tensor]]:
    """Records the trainable weights just before and just after stage 1 of the next fits."""
    seen: dict[str, dict[str, torch.Tensor]] = {}
    real = two_stage.train_pretext_stage

    def recording(model, *args, **kwargs):
        seen["before"] = trainable_state(model)
        stage = real(model, *args, **kwargs)
        seen["after"] = trainable_state(model)
        return stage

    monkeypatch.setattr(lift_method, "train_pretext_stage", recording)
    return seen


def _changed(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return any(not torch.equal(a[name], b[name]) for name in a)


def test_ift_trains_on_the_pretext_passes_then_on_the_target(stage_one_weights) -> None:
    method = make_method("lift", "classification", 0, {**FAST, "two_stage": "ift", "epochs": 2, "lr": 1e-2})
    info = method.fit(fit_data(digit_task(48, n_classes=3)))
    final = trainable_state(method._lm.model)
    assert _changed(stage_one_weights["before"], stage_one_weights["after"])  # stage 1 trained
    assert _changed(stage_one_weights["after"], final)  # and stage 2 went on from there
    record = info.extra["two_stage"]
    assert record["mode"] == "ift" and record["pretext"] == "make-classification"
    assert record["pretext_rows"] == 16 and len(record["pretext_tasks"]) == 2
    passes = record["stage1_passes"]
    assert [p["task"] for p in passes] == [1, 2, 1, 2]
    assert all(len(p["losses"]) == 1 and p["samples_seen"] == 16 for p in passes)  # pretext_epochs each
    assert all(p["optimizer_steps"] == 2 for p in passes)  # 16 rows in batches of 8: a fresh run per pass
    assert info.extra["epochs_run"] == 2 and info.extra["samples_seen"] == 2 * 32


def test_bl_predicts_with_the_last_stage_one_weights_and_never_trains_on_the_target(
    stage_one_weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept_epochs = []
    real = two_stage.train_lift

    def recording(*args, **kwargs):
        outcome = real(*args, **kwargs)
        kept_epochs.append((outcome.selection, len(outcome.module.epoch_losses)))
        return outcome

    monkeypatch.setattr(two_stage, "train_lift", recording)
    task = digit_task(48, n_classes=3)
    method = make_method("lift", "classification", 0, {**FAST, "two_stage": "bl", "pretext_epochs": 2})
    info = method.fit(fit_data(task))
    final = trainable_state(method._lm.model)
    assert _changed(stage_one_weights["before"], stage_one_weights["after"])
    assert not _changed(stage_one_weights["after"], final)
    assert info.extra["epochs_run"] == 0 and "samples_seen" not in info.extra
    assert [len(p["losses"]) for p in info.extra["two_stage"]["stage1_passes"]] == [2, 2, 2, 2]
    assert kept_epochs == [(None, 2)] * 4  # no selection in stage 1: every pass ends with its last epoch
    pred = method.predict(task.X.iloc[40:])
    assert pred.proba.shape == (8, 3) and np.allclose(pred.proba.sum(axis=1), 1)


def test_ft_is_plain_lift_under_its_own_name() -> None:
    task = digit_task(48, n_classes=3)
    probas, infos = [], []
    for arm in ("none", "ft"):
        method = make_method("lift", "classification", 0, {**FAST, "two_stage": arm, "epochs": 1})
        infos.append(method.fit(fit_data(task)))
        probas.append(method.predict(task.X.iloc[40:]).proba)
    np.testing.assert_array_equal(probas[0], probas[1])
    assert "two_stage" not in infos[0].extra and infos[1].extra["two_stage"] == {"mode": "ft"}


def test_two_stage_runs_through_the_runner() -> None:
    spec = RunSpec(
        task="moons",
        task_params={"n": 60},
        method="lift",
        method_params={"model": "tiny-gpt2", "two_stage": "ift", "epochs": 1, "pretext_epochs": 1},
    )
    result = execute_run(spec)
    assert result.ok, result.record.error
    fit_info = result.record.provenance["fit_info"]
    record = fit_info["two_stage"]
    assert record["pretext_rows"] == 100 and len(record["stage1_passes"]) == 4
    assert "random_state=1)" in record["pretext_tasks"][0]["recipe"]  # the run's seed 0: the paper's tasks
    assert fit_info["epochs_run"] == 1
    stored = result.predictions
    assert result.record.metrics["accuracy"] == np.mean(stored["y_pred"] == stored["y_true"])
