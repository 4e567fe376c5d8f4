"""`liftbench report` end to end on a store filled by real baselines through the runner, decision
boundaries and 1-D fits rebuilt from `eval:grid` / `eval:line` predictions, and the W&B counterpart."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.boundaries import TRUTH, grid_data, grid_rows, line_rows
from analysis.loading import load_runs, training_rows
from analysis.report import STUDY_SUITES, build_report
from analysis.wandb_report import ReportWandbWarning
from benchmark.commands.report import command
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.runner import run_suite
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError

GRID = {"name": "grid", "params": {"resolution": 12}}
COARSE_GRID = {"name": "grid", "params": {"resolution": 8}}  # as a slow method (LIFT) would use
LINE = {"name": "line", "params": {"n_points": 40}}
MOONS = {"n": 120}
TEACHER = {"n": 150, "difficulty": 2, "seed": 123}


def _specs() -> list[RunSpec]:
    specs = []
    for split_seed in range(3):
        for method in ("majority", "logreg", "knn", "tree"):
            for size in (24, None):
                specs.append(
                    RunSpec(
                        task="moons", task_params=MOONS, method=method, split_seed=split_seed, train_size=size
                    )
                )
            specs.append(RunSpec(task="iris", method=method, split_seed=split_seed))
        for method in ("logreg", "knn"):
            specs.append(
                RunSpec(
                    task="moons", task_params=MOONS, method=method, split_seed=split_seed, evaluations=[GRID]
                )
            )
            noise = {"name": "feature-noise", "params": {"scale": 1.0}}
            specs.append(
                RunSpec(
                    task="moons", task_params=MOONS, method=method, split_seed=split_seed, perturbation=noise
                )
            )
    for method, grid in (("logreg", GRID), ("tree", COARSE_GRID)):
        specs.append(RunSpec(task="nn-teacher", task_params=TEACHER, method=method, evaluations=[grid]))
        flips = {"name": "label-corruption", "params": {"fraction": 0.3}}
        specs.append(
            RunSpec(
                task="nn-teacher", task_params=TEACHER, method=method, perturbation=flips, evaluations=[grid]
            )
        )
    for task, params in (
        ("quadratic", {"p": 1, "n_train": 40}),
        ("cosine", {"p": 1, "n_train": 40, "donut": True}),
    ):
        for method in ("poly", "knn", "gp"):
            for split_seed in range(2):
                specs.append(
                    RunSpec(
                        task=task,
                        task_params=params,
                        method=method,
                        split_seed=split_seed,
                        evaluations=[LINE],
                    )
                )
    return specs


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "store.sqlite"
    summary = run_suite(check_runs(_specs()), ResultStore(path), suite="analysis-test")
    assert not summary.failed, [r.record.error for r in summary.failed]
    return path


@pytest.fixture(scope="module")
def runs(store_path: Path) -> pd.DataFrame:
    return load_runs(ResultStore(store_path))


def test_runs_that_differ_only_in_evaluation_sets_count_once(runs: pd.DataFrame) -> None:
    moons_logreg = runs[
        (runs["task"] == "moons")
        & (runs["method"] == "logreg")
        & runs["train_size"].isna()
        & runs["perturbation"].isna()
    ]
    assert len(moons_logreg) == 3  # the plain and the grid run of each split are one fit
    assert all("grid" in evaluations for evaluations in moons_logreg["evaluations"])


def test_training_rows_are_the_runs_own(store_path: Path, runs: pd.DataFrame) -> None:
    store = ResultStore(store_path)
    run = runs[
        (runs["task"] == "nn-teacher") & runs["perturbation"].notna() & (runs["method"] == "logreg")
    ].iloc[0]
    rows = training_rows(run)
    record = store.get_run(run["run_hash"])
    assert len(rows.X_train) == record.provenance["perturbation"]["split_sizes"]["train"]
    clean = rows.data.y.to_numpy()[rows.split.train]
    flipped = int(np.sum(clean != rows.y_train))
    assert flipped == record.provenance["perturbation"]["report"]["flipped"] > 0


def test_decision_boundary_panels_and_grid(store_path: Path, runs: pd.DataFrame) -> None:
    rows = grid_rows(ResultStore(store_path), runs, "classification")
    by_label = {row.label: row for row in rows}
    assert set(by_label) == {
        "moons(n=120)",
        "nn-teacher(difficulty=2,n=150,seed=123)",
        "nn-teacher(difficulty=2,n=150,seed=123) · label-corruption(fraction=0.3)",
    }
    moons = by_label["moons(n=120)"]
    assert [p.config for p in moons.panels] == ["logreg", "knn"]  # one panel per method, no truth for moons
    assert all(p.values.shape == (12, 12) for p in moons.panels)
    logreg = moons.panels[0]
    assert logreg.axis0.shape == (12,) and logreg.axis1.shape == (12,) and moons.split_seed == 0
    assert np.all(np.diff(logreg.axis0) > 0) and logreg.axis0[0] < moons.X_train[:, 0].min()
    assert set(np.unique(moons.panels[0].values)) <= {0.0, 1.0}
    teacher = by_label["nn-teacher(difficulty=2,n=150,seed=123)"]
    assert [p.config for p in teacher.panels] == [TRUTH, "logreg", "tree"]  # nn-teacher knows its labels
    assert [p.values.shape for p in teacher.panels] == [(12, 12), (12, 12), (8, 8)]  # each run's own grid
    # the stored grid predictions are the method's answers at the rebuilt points: logreg is linear,
    # so its predicted class changes at most once along any line of the grid
    logreg = teacher.panels[1].values
    assert all(np.count_nonzero(np.diff(logreg[i])) <= 1 for i in range(12))
    data = grid_data(rows).set_index(["row", "config"])
    agreement = data.loc["nn-teacher(difficulty=2,n=150,seed=123)", "agreement_with_truth"]
    assert agreement[TRUTH] == 1.0 and 0.5 < agreement["tree"] < 1.0
    assert data.loc[("moons(n=120)", "knn"), "grid_shape"] == "12x12" and np.isnan(
        data.loc[("moons(n=120)", "knn"), "agreement_with_truth"]
    )


def test_line_fits_show_truth_range_and_donut(store_path: Path, runs: pd.DataFrame) -> None:
    rows = {row.label: row for row in line_rows(ResultStore(store_path), runs)}
    quadratic = rows["quadratic(n_train=40,p=1)"]
    assert list(quadratic.curves) == ["poly", "knn", "gp"] and quadratic.x.shape == (40,)
    assert quadratic.task_range == (-10.0, 10.0) and quadratic.x.min() == -20.0 and quadratic.hole is None
    assert np.allclose(quadratic.truth, (quadratic.x**2 - 50) * 9 / 50)
    assert np.abs(quadratic.curves["poly"] - quadratic.truth).max() < 10  # a cubic fits a parabola
    donut = rows["cosine(donut=true,n_train=40,p=1)"]
    assert donut.hole == pytest.approx((-10 / 3, 10 / 3))
    assert not np.any((donut.X_train > donut.hole[0]) & (donut.X_train < donut.hole[1]))


def test_report_builds_every_study_it_has_runs_for(store_path: Path, tmp_path: Path) -> None:
    report = build_report(ResultStore(store_path), tmp_path / "out")
    built = {s.key: [a.name for a in s.artifacts] for s in report.studies}
    assert set(built) == set(STUDY_SUITES)
    assert "decision-boundaries" in built["boundaries"] and "regression-fits-1d" in built["boundaries"]
    assert "sample-complexity-classification" in built["sample-complexity"]
    assert "robustness-classification-curves" in built["robustness"]
    assert (
        "reliability-classification" in built["calibration"] and "coverage-regression" in built["calibration"]
    )
    assert built["context"] == [] and built["pretraining"] == []
    for artifact in report.artifacts:
        suffixes = {".pdf", ".png"} if artifact.kind == "figure" else {".md", ".tex"}
        assert {p.suffix for p in artifact.paths} == suffixes
        assert all(
            p.is_file() and p.stat().st_size > 0 and p.is_relative_to(report.out_dir) for p in artifact.paths
        )
    index = report.index.read_text()
    assert f"liftbench run --suite study-context --store {store_path}" in index
    assert f"liftbench run --suite study-pretraining --store {store_path}" in index
    assert "![Decision boundaries" in index and "boundaries/decision-boundaries.png" in index


def test_cli_report_lists_missing_studies_on_an_empty_store(tmp_path: Path) -> None:
    store = tmp_path / "empty.sqlite"
    ResultStore(store).close()
    result = CliRunner().invoke(command, ["--store", str(store), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "0 runs read" in result.output and "0 figures and 0 tables built" in result.output
    index = (tmp_path / "out" / "report.md").read_text()
    for suite in set(STUDY_SUITES.values()):
        assert f"liftbench run --suite {suite} --store {store}" in index
    missing = CliRunner().invoke(command, ["--store", str(tmp_path / "nowhere.sqlite")])
    assert isinstance(missing.exception, LiftbenchError) and "does not exist" in str(missing.exception)


def test_cli_report_with_wandb_offline_writes_an_offline_run(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    result = CliRunner().invoke(
        command, ["--store", str(store_path), "--out", str(tmp_path / "out"), "--wandb", "offline"]
    )
    assert result.exit_code == 0, result.output
    runs = list((tmp_path / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))
    assert f"W&B (offline) run: {runs[0]}" in result.output


def test_a_wandb_failure_is_a_warning_and_the_report_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wandb

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no API key configured")

    monkeypatch.setattr(wandb, "init", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(ResultStore(tmp_path / "empty.sqlite"), tmp_path / "out", wandb_mode="online")
    assert report.wandb_dir is None and report.index.is_file()
    assert any(issubclass(w.category, ReportWandbWarning) and "no API key" in str(w.message) for w in caught)
