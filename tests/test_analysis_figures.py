"""The figure builders: sample complexity, robustness, calibration and the LIFT ablations.

Each builder's plotted data is checked against what the stored runs say, and each figure's PDF and PNG
files must exist. Runs are written to a real results store with chosen predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ablations import build_context, build_settings, prompt_variants, setting_variants
from analysis.calibration import build_calibration, coverage_data, reliability_bins, reliability_data
from analysis.loading import load_runs
from analysis.robustness import build_robustness, robustness_curves, robustness_runs
from analysis.sample_complexity import build_sample_complexity, sample_complexity_data
from benchmark.core.methods import Predictions
from benchmark.core.metrics import ECE_BINS, expected_calibration_error
from benchmark.core.runspec import RunSpec
from benchmark.harness.store import ResultStore
from tests.stored_runs import write_run

N_ROWS = 40


def _write(
    store: ResultStore, spec: RunSpec, kind: str, y_true: np.ndarray, pred: Predictions, n_train: int = 64
) -> None:
    n_classes = 2 if kind == "classification" else None
    write_run(store, spec, kind, y_true, pred, n_train=n_train, n_classes=n_classes)


def _binary(store: ResultStore, spec: RunSpec, correct: int, seed: int, n_train: int = 64) -> None:
    """A binary run with `correct` right answers and seeded probabilities that agree with its answers."""
    rng = np.random.default_rng(seed)
    y_true = np.arange(N_ROWS) % 2
    y_pred = np.where(np.arange(N_ROWS) < correct, y_true, 1 - y_true)
    confidence = rng.uniform(0.5, 1.0, N_ROWS)
    proba = np.where(y_pred[:, None] == np.arange(2), confidence[:, None], 1 - confidence[:, None])
    _write(store, spec, "classification", y_true, Predictions(y_pred=y_pred, proba=proba), n_train)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ResultStore:
    store = ResultStore(tmp_path_factory.mktemp("figures") / "store.sqlite")
    moons = {"n": 200}
    for split_seed in range(3):
        for method, base in (("logreg", 30), ("knn", 34)):
            for size, bonus in ((10, -8), (20, -4), (None, 0)):
                spec = RunSpec(
                    task="moons", task_params=moons, method=method, split_seed=split_seed, train_size=size
                )
                _binary(store, spec, base + bonus + split_seed, seed=split_seed, n_train=size or 64)
            for scale, drop in ((0.5, 5), (1.0, 10)):
                perturbation = {"name": "feature-noise", "params": {"kind": "gaussian", "scale": scale}}
                spec = RunSpec(
                    task="moons",
                    task_params=moons,
                    method=method,
                    split_seed=split_seed,
                    perturbation=perturbation,
                )
                _binary(store, spec, base - drop + split_seed, seed=10 + split_seed)
            spec = RunSpec(
                task="moons",
                task_params=moons,
                method=method,
                split_seed=split_seed,
                perturbation="permute-feature-order",
            )
            _binary(store, spec, base, seed=20 + split_seed)
    lift = {"model": "smollm2-135m", "epochs": 2}
    for serializer, correct in (("lift", 30), ("lift-names", 36)):
        _binary(
            store,
            RunSpec(task="iris", method="lift", method_params=lift, serializer=serializer),
            correct,
            seed=5,
        )
    _binary(
        store,
        RunSpec(
            task="iris",
            method="lift",
            method_params=lift,
            serializer_options={"shuffle_names": 0},
            serializer="lift-names",
        ),
        33,
        seed=6,
    )
    for init, correct in (("pretrained", 38), ("random", 20)):
        _binary(
            store, RunSpec(task="wine", method="lift", method_params={**lift, "init": init}), correct, seed=7
        )
    y_true = np.linspace(-1.0, 1.0, N_ROWS)
    for split_seed in range(2):
        rng = np.random.default_rng(split_seed)
        std = np.full(N_ROWS, 0.1)
        pred = Predictions(y_pred=y_true + rng.normal(0.0, 0.1, N_ROWS), std=std)
        _write(
            store,
            RunSpec(task="linear", task_params={"p": 1}, method="gp", split_seed=split_seed),
            "regression",
            y_true,
            pred,
        )
    return store


@pytest.fixture(scope="module")
def runs(store: ResultStore) -> pd.DataFrame:
    return load_runs(store)


def _files_exist(study) -> None:
    for artifact in study.artifacts:
        expected = [".pdf", ".png"] if artifact.kind == "figure" else [".md", ".tex"]
        assert sorted(p.suffix for p in artifact.paths) == sorted(expected)
        assert all(p.is_file() and p.stat().st_size > 0 for p in artifact.paths)
        assert not artifact.data.empty


def test_sample_complexity_points_and_bands(runs: pd.DataFrame, tmp_path: Path) -> None:
    data = sample_complexity_data(runs, "classification")
    assert set(data["task_label"]) == {"moons(n=200)"}  # iris and wine have one size only
    assert sorted(set(data["n_train"])) == [10, 20, 64]
    point = data[(data["config"] == "logreg") & (data["n_train"] == 20)].iloc[0]
    expected = 100 * np.mean([(30 - 4 + s) / N_ROWS for s in range(3)])
    assert point["mean"] == pytest.approx(expected) and point["n"] == 3
    assert (data["low"] <= data["mean"] + 1e-9).all() and (data["mean"] <= data["high"] + 1e-9).all()
    assert (data["high"] > data["low"]).all()  # three different values: a band of non-zero width
    study = build_sample_complexity(runs, tmp_path, "study-sample-complexity")
    _files_exist(study)
    assert [a.name for a in study.artifacts] == ["sample-complexity-classification"]
    assert [m.what.split(":")[0] for m in study.missing] == ["regression"]


def test_robustness_curves_start_at_the_clean_runs(runs: pd.DataFrame, tmp_path: Path) -> None:
    labelled = robustness_runs(runs, "classification")
    data = robustness_curves(labelled, "classification")
    assert set(data["panel"]) == {"feature-noise(kind=gaussian)"}  # permute-feature-order has no strength
    logreg = data[data["config"] == "logreg"].set_index("strength")["mean"]
    assert logreg.index.tolist() == [0.0, 0.5, 1.0]
    assert logreg[0.0] == pytest.approx(100 * np.mean([(30 + s) / N_ROWS for s in range(3)]))
    assert logreg[1.0] == pytest.approx(100 * np.mean([(20 + s) / N_ROWS for s in range(3)]))
    study = build_robustness(runs, tmp_path, "study-robustness")
    _files_exist(study)
    table = next(a for a in study.artifacts if a.kind == "table")
    assert "permute-feature-order" in set(table.data["condition"])
    change = table.data.set_index(["condition", "config"])["change"]
    assert change[("feature-noise(kind=gaussian,scale=0.5)", "knn")] == pytest.approx(-100 * 5 / N_ROWS)
    assert change[("permute-feature-order", "logreg")] == pytest.approx(-100 * 1 / N_ROWS)


def test_reliability_bins_count_every_row_and_give_the_ece() -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=200)
    y_true = rng.integers(0, 3, size=200)
    bins = reliability_bins(y_true, proba)
    assert len(bins) == ECE_BINS and bins["count"].sum() == 200
    filled = bins[bins["count"] > 0]
    ece = float((filled["count"] * (filled["accuracy"] - filled["confidence"]).abs()).sum() / 200)
    assert ece == pytest.approx(expected_calibration_error(y_true, proba))


def test_calibration_study_pools_test_rows(store: ResultStore, runs: pd.DataFrame, tmp_path: Path) -> None:
    bins = reliability_data(store, runs)
    logreg = bins[(bins["task_label"] == "moons(n=200)") & (bins["config"] == "logreg")]
    assert logreg["count"].sum() == 3 * N_ROWS  # three runs' test rows pooled
    coverage = coverage_data(store, runs)
    at_90 = coverage[coverage["nominal"] == 0.9].iloc[0]
    expected = np.mean(
        [stored for stored in runs.loc[runs["method"] == "gp", "metric.coverage_90"]]
    )  # equal row counts: the pooled coverage is the mean of the runs' coverage_90
    assert at_90["observed"] == pytest.approx(expected) and at_90["rows"] == 2 * N_ROWS
    study = build_calibration(store, runs, tmp_path, "study-calibration")
    _files_exist(study)
    assert [a.name for a in study.artifacts] == [
        "reliability-classification",
        "calibration-classification",
        "coverage-regression",
    ]
    table = study.artifacts[1].data
    assert set(table["metric"]) >= {"ece", "brier"}


def test_prompt_variants_and_context_study(runs: pd.DataFrame, tmp_path: Path) -> None:
    variants = prompt_variants(runs)
    assert set(variants["task_label"]) == {"iris"}  # wine's LIFT runs all use the default serializer
    assert set(variants["variant"]) == {"lift", "lift-names", "lift-names(shuffle_names=0)"}
    study = build_context(runs, tmp_path, "study-context")
    _files_exist(study)
    summary = study.artifacts[0].data.set_index("variant")["mean"]
    assert summary["lift-names"] == pytest.approx(100 * 36 / N_ROWS)
    assert study.artifacts[0].data.set_index("variant")["best"]["lift-names"]


def test_lift_settings_study_groups_by_the_varying_parameter(runs: pd.DataFrame, tmp_path: Path) -> None:
    settings = setting_variants(runs)
    assert set(settings["task_label"]) == {"wine"}
    assert set(settings["config"]) == {"lift", "lift(init=random)"}  # a default is never spelled out
    study = build_settings(runs, tmp_path, "study-pretraining")
    _files_exist(study)
    means = study.artifacts[0].data.set_index("config")["mean"]
    assert means.to_dict() == pytest.approx({"lift": 95.0, "lift(init=random)": 50.0})


def test_lift_runs_that_differ_by_other_settings_are_not_a_settings_study(tmp_path: Path) -> None:
    """The main suite's LIFT at 12 epochs and a prompt study's at 2: not pretrained vs random, so the
    pretraining study stays missing rather than drawing them as its arms; its own arms still show."""
    store = ResultStore(tmp_path / "store.sqlite")
    main = {"model": "smollm2-135m", "epochs": 12, "predict": "both"}
    _binary(store, RunSpec(task="iris", method="lift", method_params=main), 38, seed=1)
    _binary(
        store,
        RunSpec(task="iris", method="lift", method_params={"model": "smollm2-135m", "epochs": 2}),
        30,
        2,
    )
    assert setting_variants(load_runs(store)).empty
    assert build_settings(load_runs(store), tmp_path, "study-pretraining").missing

    _binary(store, RunSpec(task="iris", method="lift", method_params={**main, "init": "random"}), 20, seed=3)
    settings = setting_variants(load_runs(store))
    assert sorted(settings["config"]) == ["lift", "lift(init=random)"]  # epochs and predict: shared
    assert sorted(settings["method_params"].map(lambda p: p["epochs"])) == [12, 12]


def test_studies_without_runs_are_listed_as_missing(tmp_path: Path) -> None:
    empty = load_runs(ResultStore(tmp_path / "empty.sqlite"))
    for build in (build_sample_complexity, build_robustness, build_context, build_settings):
        study = build(empty, tmp_path, "study-x")
        assert not study.artifacts and study.missing and all(m.suite == "study-x" for m in study.missing)
