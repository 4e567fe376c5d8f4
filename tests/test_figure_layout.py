"""Every figure `liftbench report` makes, drawn from a crowded store, must be readable.

The store holds what makes figures hard: nine classifiers and nine regressors, LIFT run with settings
that differ by task, four LIFT pretraining arms and four prompt variants, long task names
(nn-teacher's parameters) and file tasks with long paths. The report is built from it, every figure is
drawn with Agg, and the test fails when two texts overlap, a legend covers an axes or text, or a
legend is wider than its figure (`tests/figure_layout.py`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import analysis.artifacts
from analysis.report import Report, build_report
from benchmark.core.methods import Predictions
from benchmark.core.rows import prepare_rows
from benchmark.core.runspec import RunSpec
from benchmark.harness.store import ResultStore, predictions_frame
from tasks.evaluation_sets import SPLIT_PREFIX, evaluation_rows
from tests.figure_layout import layout_problems
from tests.stored_runs import write_run

N_TEST = 60
SEED = 7  # not the shipped full suites' seed: the main tables read this store's own runs
CLASSIFIERS = ("majority", "logreg", "knn", "tree", "svm", "rf", "xgboost", "mlp")
REGRESSORS = ("mean", "poly", "knn", "krr", "rf", "gbt", "xgboost", "mlp", "gp")
MOONS = {"n": 120}
TEACHER = {"n": 150, "difficulty": 3, "seed": 123, "dims": 2}
HEART = {"path": "data/cardiology/cleveland/processed.cleveland.heart-disease.csv", "target": "num"}
HEART_NAMED = {**HEART, "path": "data/another/copy/of/the/heart-disease/table.csv", "name": "heart-b"}
LIFT_ARMS = (
    {"epochs": 2, "init": "pretrained"},
    {"epochs": 2, "init": "random"},
    {"epochs": 2, "two_stage": "ift", "pretext_rows": 30, "pretext_epochs": 1},
    {"epochs": 2, "two_stage": "bl", "pretext_rows": 30, "pretext_epochs": 1},
)
PROMPTS = (
    ("lift", {}, None),
    ("lift-names", {}, None),
    ("lift-names", {"shuffle_names": 0}, None),
    ("lift-names", {}, "shuffle-feature-names"),
)


def _classification(seed: int, quality: float, n_classes: int = 3) -> tuple[np.ndarray, Predictions]:
    rng = np.random.default_rng(seed)
    y_true = np.arange(N_TEST) % n_classes
    right = rng.uniform(size=N_TEST) < quality
    y_pred = np.where(right, y_true, (y_true + 1) % n_classes)
    top = rng.uniform(1.0 / n_classes + 0.05, 1.0, N_TEST)
    proba = np.full((N_TEST, n_classes), 0.0)
    proba[np.arange(N_TEST), y_pred] = top
    rest = (1.0 - top) / (n_classes - 1)
    for k in range(n_classes):
        proba[:, k] = np.where(y_pred == k, top, rest)
    return y_true, Predictions(y_pred=y_pred, proba=proba)


def _regression(seed: int, noise: float, with_std: bool) -> tuple[np.ndarray, Predictions]:
    rng = np.random.default_rng(seed)
    y_true = np.linspace(-3.0, 3.0, N_TEST)
    std = np.full(N_TEST, noise) if with_std else None
    return y_true, Predictions(y_pred=y_true + rng.normal(0.0, noise, N_TEST), std=std)


def _eval_frames(spec: RunSpec, offset: float, n_classes: int | None) -> list[pd.DataFrame]:
    """Predictions on the spec's evaluation sets, as many as the rebuilt sets have rows."""
    frames = []
    for evaluation in spec.evaluations:
        rows = prepare_rows(
            spec.task, dict(spec.task_params), split_seed=spec.split_seed, split_protocol="default"
        )
        points = evaluation_rows(
            evaluation.name, rows.clean_data, rows.clean_split, **dict(evaluation.params)
        )
        x = points.X.to_numpy(dtype=float)
        if evaluation.name == "grid":
            y_pred = (x[:, 1] > offset * (x[:, 0] - x[:, 0].mean())).astype(int)
            pred = Predictions(y_pred=y_pred, proba=np.eye(n_classes)[y_pred])
        else:
            std = np.full(len(x), 0.5) if spec.method == "gp" else None
            pred = Predictions(y_pred=(1.0 + offset) * x[:, 0], std=std)
        frames.append(predictions_frame(points.y_true, pred, split=SPLIT_PREFIX + evaluation.name))
    return frames


def _write(
    store: ResultStore,
    spec: RunSpec,
    kind: str,
    quality: float,
    seed: int,
    n_classes: int | None = 3,
    suite: str = "default",
) -> None:
    if kind == "classification":
        y_true, pred = _classification(seed, quality, n_classes)
    else:
        y_true, pred = _regression(seed, 1.0 - quality, with_std=spec.method == "gp")
    evaluations = _eval_frames(spec, quality - 0.5, n_classes)
    n_train = spec.train_size or 96
    write_run(
        store,
        spec,
        kind,
        y_true,
        pred,
        n_train=n_train,
        n_classes=n_classes,
        suite=suite,
        evaluations=evaluations,
    )


def _fill(store: ResultStore) -> None:
    grid = {"name": "grid", "params": {"resolution": 10}}
    line = {"name": "line", "params": {"n_points": 30}}
    tasks = [
        ("iris", {}, []),
        ("wine", {}, []),
        ("moons", MOONS, [grid]),
        ("nn-teacher", TEACHER, [grid]),
        ("file", HEART, []),
        ("file", HEART_NAMED, []),
    ]
    for t, (task, params, evaluations) in enumerate(tasks):
        n_classes = 2 if task in ("moons", "nn-teacher") else 3
        for m, method in enumerate(CLASSIFIERS):
            for split_seed in range(3):
                spec = RunSpec(
                    task=task,
                    task_params=params,
                    method=method,
                    split_seed=split_seed,
                    evaluations=evaluations,
                    seed=SEED,
                )
                _write(
                    store, spec, "classification", 0.4 + 0.06 * m + 0.01 * t, 10 * m + split_seed, n_classes
                )
        # LIFT with settings that differ by task (epochs 12 on iris, 6 elsewhere): one column
        lift = {"epochs": 12, "predict": "both"} if task == "iris" else {"epochs": 6}
        spec = RunSpec(
            task=task, task_params=params, method="lift", method_params=lift, evaluations=evaluations
        )
        _write(store, spec, "classification", 0.85, 99, n_classes)
    for method in ("logreg", "knn", "rf", "xgboost"):
        for size in (10, 20, 40):
            for split_seed in range(3):
                spec = RunSpec(task="iris", method=method, split_seed=split_seed, train_size=size)
                _write(store, spec, "classification", 0.5 + size / 100, size + split_seed)
        for scale in (0.25, 0.5, 1.0):
            for split_seed in range(3):
                noise = {"name": "feature-noise", "params": {"kind": "gaussian", "scale": scale}}
                spec = RunSpec(
                    task="moons", task_params=MOONS, method=method, split_seed=split_seed, perturbation=noise
                )
                _write(store, spec, "classification", 0.9 - scale / 3, split_seed, 2)
    for task in ("iris", "wine"):  # the pretraining study: several split seeds for two arms, one run for two
        for a, arm in enumerate(LIFT_ARMS):
            for split_seed in range(3 if a < 2 else 1):
                spec = RunSpec(task=task, method="lift", method_params=arm, split_seed=split_seed)
                _write(
                    store, spec, "classification", 0.9 - 0.15 * a, 50 + split_seed, suite="study-pretraining"
                )
    for p, (serializer, options, perturbation) in enumerate(PROMPTS):  # the context study
        for split_seed in range(2 if p % 2 else 1):
            spec = RunSpec(
                task="iris",
                method="lift",
                method_params={"epochs": 2},
                serializer=serializer,
                serializer_options=options,
                perturbation=perturbation,
                split_seed=split_seed,
            )
            _write(store, spec, "classification", 0.7 + 0.05 * p, 70 + split_seed, suite="study-context")
    for t, (task, params) in enumerate(
        (("linear", {"p": 1}), ("cosine", {"p": 1, "n_train": 40, "donut": True}))
    ):
        for m, method in enumerate(REGRESSORS):
            for split_seed in range(2):
                spec = RunSpec(
                    task=task, task_params=params, method=method, split_seed=split_seed, evaluations=[line]
                )
                _write(store, spec, "regression", 0.5 + 0.04 * m, 100 + m + t, None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, dict[str, Figure]]:
    root = tmp_path_factory.mktemp("layout")
    store = ResultStore(root / "store.sqlite")
    _fill(store)
    drawn: dict[str, Figure] = {}
    save = analysis.artifacts.save_figure

    def keep(figure: Figure, out_dir: Path, name: str) -> list[Path]:
        drawn[name] = figure
        return save(figure, out_dir, name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis.artifacts, "save_figure", keep)
        report = build_report(store, root / "report")
    return report, drawn


@pytest.fixture(scope="module")
def figures(built: tuple[Report, dict[str, Figure]]) -> dict[str, Figure]:
    return built[1]


EXPECTED = (
    "decision-boundaries",
    "regression-fits-1d",
    "sample-complexity-classification",
    "robustness-classification-curves",
    "reliability-classification",
    "coverage-regression",
    "context-classification-bars",
    "lift-settings-classification-bars",
    "critical-difference-classification",
    "critical-difference-regression",
)


def test_the_report_draws_every_figure_type(figures: dict[str, Figure]) -> None:
    assert set(EXPECTED) <= set(figures), sorted(figures)


@pytest.mark.parametrize("name", EXPECTED)
def test_no_text_or_legend_collides(figures: dict[str, Figure], name: str) -> None:
    assert layout_problems(figures[name]) == []


def test_lift_is_one_column_of_the_main_table_with_its_settings_in_a_note(
    built: tuple[Report, dict[str, Figure]],
) -> None:
    table = next(a for a in built[0].artifacts if a.name == "table-classification-accuracy")
    header = table.markdown.splitlines()[0]
    assert "| lift |" in header and "lift(" not in header  # the ablation arms are their studies' own
    assert "processed.cleveland.heart-disease" in table.markdown and "cardiology" not in table.markdown
    assert "lift: epochs=12, predict=both on iris; epochs=6 on wine, moons(n=120)" in table.markdown
    statistics = next(a for a in built[0].artifacts if a.name == "critical-difference-classification")
    assert len(statistics.data) == len(CLASSIFIERS) + 1  # LIFT ran on every task: ranked beside all


def test_the_study_figures_show_only_their_own_runs(built: tuple[Report, dict[str, Figure]]) -> None:
    data = {a.name: a.data for a in built[0].artifacts}
    settings = data["lift-settings-classification-bars"]
    assert set(settings["config"]) == {
        "lift",
        "lift(init=random)",
        "lift(two_stage=ift)",
        "lift(two_stage=bl)",
    }
    assert set(settings.loc[settings["config"] == "lift", "count"]) == {3}
    context = data["context-classification-bars"]
    assert set(context["variant"]) == {
        "lift",
        "lift-names",
        "lift-names(shuffle_names=0)",
        "lift-names + shuffle-feature-names",
    }
