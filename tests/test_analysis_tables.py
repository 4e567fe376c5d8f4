"""Main tables, the paper's numbers beside them, table formats, and the statistics (paired tests, CD, bootstrap).

Runs are written to a real results store with predictions whose accuracy is set row by row, so every
expected number can be worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.bootstrap import mean_interval
from analysis.loading import load_runs, setting_notes, task_label, with_config_labels
from analysis.paper_numbers import PAPER_OPENML, PAPER_REGRESSION, PAPER_TABLES, paper_row
from analysis.statistics import MIN_WILCOXON_PAIRS, critical_difference, paired_comparisons
from analysis.table_format import Cell, TextTable, latex_text
from analysis.tables import build_main_tables, build_paper_table2, metric_table, summarize
from benchmark.core.methods import Predictions
from benchmark.core.metrics import compute_metrics
from benchmark.core.runspec import RunSpec
from benchmark.harness.effective import planned_config
from benchmark.harness.store import ResultStore, RunRecord, predictions_frame

N_ROWS = 20


def _classification(
    store: ResultStore, spec: RunSpec, correct: int, config: dict | None = None, **provenance: object
) -> None:
    """A 3-class run on N_ROWS test rows whose first `correct` answers are right (`config`: the effective
    configuration the runner stores beside it)."""
    y_true = np.arange(N_ROWS) % 3
    y_pred = np.where(np.arange(N_ROWS) < correct, y_true, (y_true + 1) % 3)
    pred = Predictions(y_pred=y_pred)
    record = RunRecord(
        run_hash=spec.hash,
        task=spec.task,
        method=spec.method,
        kind="classification",
        seed=spec.seed,
        split_seed=spec.split_seed,
        train_size=spec.train_size,
        spec=spec.to_dict(),
        provenance={"split_sizes": {"train": 50}, "task_params": {}, "n_classes": 3, **provenance},
        metrics=compute_metrics("classification", y_true, pred, 3),
        config=config or {},
    )
    store.write_run(record, predictions_frame(y_true, pred))


def _regression(store: ResultStore, spec: RunSpec, error: float) -> None:
    y_true = np.linspace(-1.0, 1.0, N_ROWS)
    pred = Predictions(y_pred=y_true + error * np.where(np.arange(N_ROWS) % 2 == 0, 1.0, -1.0))
    record = RunRecord(
        run_hash=spec.hash,
        task=spec.task,
        method=spec.method,
        kind="regression",
        seed=spec.seed,
        split_seed=spec.split_seed,
        train_size=spec.train_size,
        spec=spec.to_dict(),
        provenance={"split_sizes": {"train": 50}, "task_params": dict(spec.task_params), "n_classes": None},
        metrics=compute_metrics("regression", y_true, pred),
    )
    store.write_run(record, predictions_frame(y_true, pred))


# accuracy in rows out of N_ROWS per (task, method) and split seed
CORRECT = {
    ("iris", "logreg"): (19, 18, 20),
    ("iris", "tree"): (17, 17, 16),
    ("iris", "lift"): (20, 20, 19),
    ("moons", "logreg"): (15, 16, 17),
    ("moons", "tree"): (19, 19, 18),
    ("moons", "lift"): (18, 18, 18),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ResultStore:
    store = ResultStore(tmp_path_factory.mktemp("tables") / "store.sqlite")
    for (task, method), corrects in CORRECT.items():
        for split_seed, correct in enumerate(corrects):
            params = {"epochs": 2} if method == "lift" else {}
            _classification(
                store, RunSpec(task=task, method=method, method_params=params, split_seed=split_seed), correct
            )
    # runs that must stay out of the main table: a training-size subset and a perturbed run
    _classification(store, RunSpec(task="iris", method="logreg", train_size=10), 5)
    _classification(
        store,
        RunSpec(
            task="iris", method="logreg", perturbation={"name": "feature-noise", "params": {"scale": 1.0}}
        ),
        3,
        perturbation={"seed": 7},
    )
    for split_seed in range(3):
        _regression(
            store,
            RunSpec(task="linear", task_params={"p": 1}, method="gp", split_seed=split_seed),
            0.01 * (split_seed + 1),
        )
        _regression(
            store, RunSpec(task="linear", task_params={"p": 1}, method="knn", split_seed=split_seed), 0.2
        )
        _regression(
            store,
            RunSpec(task="linear", task_params={"p": 1, "n_train": 50}, method="knn", split_seed=split_seed),
            0.3,
        )
    return store


@pytest.fixture(scope="module")
def runs(store: ResultStore) -> pd.DataFrame:
    return load_runs(store)


def test_load_runs_is_tidy(runs: pd.DataFrame) -> None:
    assert len(runs) == 6 * 3 + 2 + 9
    perturbed = runs[runs["perturbation"].notna()]
    assert perturbed["perturbation"].tolist() == ["feature-noise"]
    assert perturbed["strength"].tolist() == [1.0]
    assert perturbed["perturbation_seed"].tolist() == [7]
    assert set(runs.loc[runs["perturbation"].isna(), "strength"]) == {0.0}
    assert set(runs["task_label"]) == {"iris", "moons", "linear(p=1)", "linear(n_train=50,p=1)"}
    assert runs.loc[runs["train_size"].notna(), "train_size"].tolist() == [10]


def test_config_labels_name_only_the_settings_that_vary(runs: pd.DataFrame) -> None:
    labelled = with_config_labels(runs)
    assert set(labelled.loc[labelled["method"] == "lift", "config"]) == {"lift"}
    extra = pd.concat([runs, runs[runs["method"] == "lift"].assign(method_params=[{"epochs": 5}] * 6)])
    relabelled = with_config_labels(extra)
    assert set(relabelled.loc[relabelled["method"] == "lift", "config"]) == {
        "lift(epochs=2)",
        "lift",  # epochs=5 is lift's default, never spelled out
    }


def test_accuracy_table_means_std_and_bold_best(runs: pd.DataFrame) -> None:
    table = metric_table(runs, "accuracy", "classification", scale=100.0, digits=2)
    assert table is not None
    summary = table.summary.set_index(["task_label", "config"])
    clean = runs[runs["perturbation"].isna() & runs["train_size"].isna() & (runs["kind"] == "classification")]
    manual = clean.groupby(["task_label", "method"])["metric.accuracy"].agg(
        ["mean", lambda v: v.std(ddof=1), "count"]
    )
    for (task, method), row in manual.iterrows():
        assert summary.loc[(task, method), "mean"] == pytest.approx(100 * row["mean"])
        assert summary.loc[(task, method), "std"] == pytest.approx(100 * row.iloc[1])
        assert summary.loc[(task, method), "count"] == 3
    assert summary.loc[("iris", "logreg"), "mean"] == pytest.approx(
        100 * 57 / 60
    )  # the subset and perturbed runs are out
    best = table.summary[table.summary["best"]].set_index("task_label")["config"]
    assert best.to_dict() == {"iris": "lift", "moons": "tree"}  # the maximum per row
    markdown = table.table.to_markdown()
    assert "| iris |" in markdown and "**98.33 ± 2.89**" in markdown and "**93.33 ± 2.89**" in markdown
    assert markdown.index("| logreg |") < markdown.index("| lift |")  # baselines first, LIFT last


def test_paper_columns_sit_beside_matching_tasks_only(runs: pd.DataFrame) -> None:
    table = metric_table(runs, "accuracy", "classification", scale=100.0, digits=2)
    header = table.table.header
    assert header[:4] == ["task", "logreg", "tree", "lift"]
    assert "paper LIFT/GPT-J" in header and "paper MCC" in header
    iris_row = {h: c.text for h, c in zip(header, table.table.rows[0], strict=True)}
    assert iris_row["paper LIFT/GPT-J"] == "96.67 ± 0.00" and iris_row["paper MCC"] == "33.33"
    moons_row = {h: c.text for h, c in zip(header, table.table.rows[1], strict=True)}
    # moons has §9.2 numbers, but only for the paper's default generator; a LogReg column it does have
    assert moons_row["paper LogReg"] == "88.58 ± 0.12" and moons_row["paper MCC"] == "–"
    assert any("not rerun" in note for note in table.table.notes)


def test_regression_table_lower_is_better_and_paper_match(runs: pd.DataFrame) -> None:
    table = metric_table(runs, "rae_filtered3", "regression", digits=3)
    best = table.summary[table.summary["best"]].set_index("task_label")["config"].to_dict()
    assert best["linear(p=1)"] == "gp"  # the minimum RAE
    paper = table.paper.set_index(["task_label", "column"])
    assert paper.loc[("linear(p=1)", "paper GP"), "mean"] == 0.008
    assert not (table.paper["task_label"] == "linear(n_train=50,p=1)").any()  # not the paper's setting


def test_paper_rows_match_by_name_and_parameters() -> None:
    assert len(PAPER_OPENML.rows) == 14
    assert paper_row(PAPER_OPENML, "hill-valley", {})["LIFT/GPT-J"].mean == 100.0
    assert paper_row(PAPER_OPENML, "iris", {"missing": "drop-columns"}) is None
    row = paper_row(PAPER_REGRESSION, "cosine", {"p": 1, "integer": True, "low": 0, "high": 300})
    assert row["LIFT/GPT-3"].mean == 0.071 and row["LIFT/GPT-3"].std == 0.022
    assert paper_row(PAPER_REGRESSION, "cosine", {"p": 3}) is None
    for table in PAPER_TABLES:
        assert all(set(row) == set(table.columns) for row in table.rows.values())


def test_build_main_tables_writes_markdown_and_latex(runs: pd.DataFrame, tmp_path: Path) -> None:
    study = build_main_tables(
        runs, tmp_path, {"classification": "study-accuracy", "regression": "study-accuracy"}
    )
    names = [a.name for a in study.artifacts]
    assert names == [
        "table-classification-accuracy",
        "table-classification-invalid_rate",  # every main table is followed by its invalid-answer rate
        "table-regression-rae",
        "table-regression-rmse",
        "table-regression-rae_filtered3",
        "table-regression-invalid_rate",  # no run here generates: no strict rate to show
    ]
    for artifact in study.artifacts:
        assert sorted(p.suffix for p in artifact.paths) == [".md", ".tex"]
        assert all(p.is_file() and p.stat().st_size > 0 for p in artifact.paths)
    latex = (tmp_path / "table-classification-accuracy.tex").read_text()
    assert r"\textbf{98.33 $\pm$ 2.89}" in latex and r"\toprule" in latex and "(\\%)" in latex
    assert study.missing == []
    empty = build_main_tables(runs.iloc[0:0], tmp_path / "empty", {"classification": "a", "regression": "b"})
    assert not empty.artifacts and [m.suite for m in empty.missing] == ["a", "b"]


def test_text_table_formats() -> None:
    table = TextTable(
        ["task", "a_b"], [[Cell("x|y"), Cell("50% & more", bold=True)]], caption="C", notes=["n"]
    )
    assert "x\\|y" in table.to_markdown() and "**50% & more**" in table.to_markdown()
    assert r"\textbf{50\% \& more}" in table.to_latex() and r"a\_b" in table.to_latex()
    assert latex_text("1 ± 2") == r"1 $\pm$ 2"
    with pytest.raises(ValueError):
        TextTable(["a", "b"], [[Cell("only one")]])


def _paired_runs(differences: list[float]) -> pd.DataFrame:
    rows = []
    for i, d in enumerate(differences):
        rows.append(
            {"task_label": "t", "config": "lift", "split_seed": i, "seed": 0, "metric.accuracy": 0.5 + d}
        )
        rows.append(
            {"task_label": "t", "config": "logreg", "split_seed": i, "seed": 0, "metric.accuracy": 0.5}
        )
    return pd.DataFrame(rows)


def test_paired_wilcoxon_needs_enough_pairs() -> None:
    few = paired_comparisons(_paired_runs([0.1, 0.2, 0.1]), "accuracy")
    assert few.loc[0, "verdict"].startswith("n too small") and np.isnan(few.loc[0, "p_value"])
    enough = paired_comparisons(_paired_runs([0.1, 0.2, 0.15, 0.05, 0.3, 0.25]), "accuracy")
    assert (
        len(enough) == 1 and enough.loc[0, "reference"] == "lift" and enough.loc[0, "n"] == MIN_WILCOXON_PAIRS
    )
    assert enough.loc[0, "p_value"] == pytest.approx(2 / 2**6)  # exact two-sided p of 6 positive ranks
    assert enough.loc[0, "verdict"] == "reference better" and enough.loc[0, "best_baseline"]
    tied = paired_comparisons(_paired_runs([0.0] * 6), "accuracy")
    assert tied.loc[0, "verdict"] == "identical"


def test_critical_difference_ranks_and_nemenyi_cd() -> None:
    means = {"t1": (0.9, 0.8, 0.7), "t2": (0.95, 0.7, 0.75), "t3": (0.8, 0.8, 0.6), "t4": (0.9, 0.85, 0.5)}
    summary = pd.DataFrame(
        [
            {"task_label": t, "config": c, "mean": m}
            for t, values in means.items()
            for c, m in zip(("a", "b", "c"), values, strict=True)
        ]
    )
    result = critical_difference(summary, "accuracy")
    assert result.average_ranks.to_dict() == pytest.approx({"a": 1.125, "b": 2.125, "c": 2.75})
    assert result.n_tasks == 4
    assert result.cd == pytest.approx(2.343 * np.sqrt(3 * 4 / (6 * 4)), abs=1e-3)  # Demsar's q_0.05 for k = 3
    assert result.cliques == [["a", "b", "c"]]  # c - a = 1.625 < CD = 1.657
    lower = critical_difference(summary.assign(mean=-summary["mean"]), "rmse")
    assert list(lower.average_ranks.index) == ["a", "b", "c"]  # rmse: lower is better, same order
    assert critical_difference(summary[summary["task_label"] == "t1"], "accuracy") is None


def test_critical_difference_keeps_every_baseline_when_one_task_has_lift_alone() -> None:
    """The default suite's shape: 8 baselines on 6 tasks, LIFT on one of them and alone on another."""
    baselines = [f"m{i}" for i in range(8)]
    records = [
        {"task_label": f"t{t}", "config": c, "mean": 0.5 + 0.05 * i + 0.01 * t}
        for t in range(6)
        for i, c in enumerate(baselines)
    ]
    records += [
        {"task_label": "t0", "config": "lift", "mean": 0.99},
        {"task_label": "lift-only", "config": "lift", "mean": 0.9},
    ]
    result = critical_difference(pd.DataFrame(records), "accuracy")
    assert result is not None and result.n_tasks == 6
    assert sorted(result.average_ranks.index) == baselines  # LIFT, on one task of six, is the one left out
    assert result.average_ranks["m7"] == 1.0


def test_labels_name_only_what_differs_on_a_task_and_notes_say_the_rest() -> None:
    def run(task: str, **params: object) -> dict:
        return {
            "task_label": task,
            "method": "lift",
            "method_params": params,
            "serializer": None,
            "serializer_options": {},
            "model": None,
        }

    per_task = pd.DataFrame([run("iris", epochs=12, predict="both"), run("moons(n=300)", epochs=6)])
    labelled = with_config_labels(per_task)
    assert labelled["config"].tolist() == [
        "lift",
        "lift",
    ]  # one column, not lift(epochs=12,...) and lift(epochs=6)
    assert setting_notes(labelled) == ["lift: epochs=12, predict=both on iris; epochs=6 on moons(n=300)"]
    arms = pd.DataFrame(
        [
            run("wine", epochs=2, init="pretrained"),
            run("wine", epochs=2, init="random"),
            run("wine", epochs=2, two_stage="ift", pretext_rows=30),
            run("wine", epochs=2, two_stage="bl", pretext_rows=30),
            run(
                "wine", epochs=2, two_stage="none", pretext_rows=50
            ),  # no pretext stage: pretext_rows does nothing
        ]
    )
    labelled = with_config_labels(arms)
    assert labelled["config"].tolist() == [
        "lift",
        "lift(init=random)",
        "lift(two_stage=ift)",
        "lift(two_stage=bl)",
        "lift",
    ]
    assert setting_notes(labelled) == [
        "every configuration: epochs=2",
        "lift(two_stage=ift): pretext_rows=30",
        "lift(two_stage=bl): pretext_rows=30",
    ]


def test_summarize_marks_ties_as_best() -> None:
    frame = pd.DataFrame(
        {"task_label": ["t", "t", "t"], "config": ["a", "b", "c"], "metric.rae": [0.2, 0.1, 0.1]}
    )
    out = summarize(frame, "rae").set_index("config")
    assert out["best"].to_dict() == {"a": False, "b": True, "c": True}
    assert np.isnan(out.loc["a", "std"])  # one run: no std


def test_bootstrap_interval_contains_the_mean_and_is_seeded() -> None:
    values = np.array([0.7, 0.8, 0.75, 0.9, 0.85])
    low, high = mean_interval(values, seed=3)
    assert low < values.mean() < high
    assert (low, high) == mean_interval(values, seed=3)
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert mean_interval([0.4]) == (0.4, 0.4)


def test_paired_tests_take_lift_as_reference_and_flag_the_best_baseline(runs: pd.DataFrame) -> None:
    clean = with_config_labels(
        runs[runs["perturbation"].isna() & runs["train_size"].isna() & (runs["kind"] == "classification")]
    )
    tests = paired_comparisons(clean, "accuracy").set_index(["task_label", "other"])
    assert set(tests["reference"]) == {"lift"}
    assert tests.loc[("iris", "logreg"), "best_baseline"] and not tests.loc[("iris", "tree"), "best_baseline"]
    assert tests.loc[("moons", "tree"), "best_baseline"]
    assert tests.loc[("iris", "tree"), "mean_difference"] == pytest.approx((59 - 50) / 60)
    assert (tests["n"] == 3).all()


def test_paper_table2_shows_our_mean_and_interval_beside_the_papers_columns(
    runs: pd.DataFrame, tmp_path: Path
) -> None:
    study = build_paper_table2(runs, tmp_path, "lift14-offline")
    assert [a.name for a in study.artifacts] == ["table2-accuracy"]  # no stored probabilities: no AUC table
    markdown = (tmp_path / "table2-accuracy.md").read_text()
    assert "moons" not in markdown  # not one of the paper's OpenML datasets
    low, high = mean_interval([95.0, 90.0, 100.0])
    assert f"95.00 [{low:.2f}, {high:.2f}]" in markdown  # iris logreg: 19, 18, 20 of 20 right
    assert "paper LIFT/GPT-J" in markdown and "96.67 ± 0.00" in markdown and "bootstrap" in markdown
    assert "Settings: lift: epochs=2" in markdown  # what `lift` ran with, under the table
    empty = build_paper_table2(runs[runs["task"] == "moons"], tmp_path / "empty", "lift14-offline")
    assert not empty.artifacts and [m.suite for m in empty.missing] == ["lift14-offline"]


def test_paper_table2_has_an_auc_table_for_runs_with_probabilities(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "auc.sqlite")
    y_true = np.arange(N_ROWS) % 2
    for split_seed in range(3):
        proba = np.column_stack([1 - y_true * 0.8 - 0.1, y_true * 0.8 + 0.1])
        proba[split_seed] = proba[split_seed][::-1]  # one row ranked wrong per run
        pred = Predictions(y_pred=proba.argmax(axis=1), proba=proba)
        spec = RunSpec(task="spambase", method="logreg", split_seed=split_seed)
        record = RunRecord(
            run_hash=spec.hash, task=spec.task, method=spec.method, kind="classification", seed=0,
            split_seed=split_seed, train_size=None, spec=spec.to_dict(),
            provenance={"split_sizes": {"train": 50}, "task_params": {}, "n_classes": 2},
            metrics=compute_metrics("classification", y_true, pred, 2),
        )  # fmt: skip
        store.write_run(record, predictions_frame(y_true, pred))
    study = build_paper_table2(load_runs(store), tmp_path, "lift14-offline")
    assert [a.name for a in study.artifacts] == ["table2-accuracy", "table2-auc"]
    auc = (tmp_path / "table2-auc.md").read_text()
    assert "ROC AUC" in auc and "spambase" in auc and "paper" not in auc.split("\n")[2]


def test_runs_stored_before_auc_get_it_from_their_stored_probabilities(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "old.sqlite")
    y_true = np.array([0, 1, 1, 0, 2, 2])
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]
    )
    pred = Predictions(y_pred=proba.argmax(axis=1), proba=proba)
    old_metrics = {k: v for k, v in compute_metrics("classification", y_true, pred, 3).items() if k != "auc"}
    for method, with_proba in (("logreg", True), ("tree", False)):
        spec = RunSpec(task="iris", method=method)
        stored_pred = pred if with_proba else Predictions(y_pred=pred.y_pred)
        record = RunRecord(
            run_hash=spec.hash, task=spec.task, method=spec.method, kind="classification", seed=0,
            split_seed=0, train_size=None, spec=spec.to_dict(),
            provenance={"split_sizes": {"train": 50}, "task_params": {}, "n_classes": 3},
            metrics=old_metrics,
        )  # fmt: skip
        store.write_run(record, predictions_frame(y_true, stored_pred))
    runs = load_runs(store).set_index("method")
    expected = compute_metrics("classification", y_true, pred, 3)["auc"]
    assert runs.loc["logreg", "metric.auc"] == pytest.approx(expected)
    assert np.isnan(runs.loc["tree", "metric.auc"])  # no probabilities stored: no AUC


def test_runs_on_other_rows_never_share_a_table_row() -> None:
    """A k-fold split and a smoke run's row limit change the rows a method sees: their runs get task
    labels of their own, so no table cell averages them with the default split's runs."""
    assert task_label({"task": "iris"}, {}) == "iris"
    assert task_label({"task": "iris", "split_protocol": "kfold"}, {}) == "iris [kfold split]"
    assert task_label({"task": "moons", "row_limit": 40}, {"n": 300}) == "moons(n=300) [rows<=40]"


def test_the_strict_invalid_rate_stands_beside_the_lenient_one(tmp_path: Path) -> None:
    """A method that generates stores both rates; the main tables show both, each in its own table."""
    store = ResultStore(tmp_path / "s.sqlite")
    for seed, (lenient, strict) in enumerate([(0.0, 0.25), (0.0, 0.5)]):
        pred = Predictions(
            y_pred=np.array([0, 1, 1, 0]),
            invalid=np.zeros(4, dtype=bool),
            terminated=np.array([True, False, True, True])
            if seed == 0
            else np.array([False, True, False, True]),
        )
        record = RunRecord(
            run_hash=f"lift{seed}",
            task="iris",
            method="lift",
            kind="classification",
            seed=0,
            split_seed=seed,
            train_size=None,
            spec={"task": "iris", "method": "lift", "split_seed": seed},
            provenance={"task_params": {}, "split_sizes": {"train": 4}},
            metrics={"accuracy": 0.75, "invalid_rate": lenient, "strict_invalid_rate": strict},
        )
        store.write_run(record, predictions_frame(np.array([0, 1, 1, 1]), pred, split="test"))
    study = build_main_tables(load_runs(store), tmp_path, {"classification": "s", "regression": "s"})
    names = [a.name for a in study.artifacts]
    assert names == [
        "table-classification-accuracy",
        "table-classification-invalid_rate",
        "table-classification-strict_invalid_rate",
    ]
    strict = (tmp_path / "table-classification-strict_invalid_rate.md").read_text()
    assert "37.5" in strict  # the mean of 25 % and 50 %


def test_runs_that_trained_in_different_precisions_never_share_a_cell(tmp_path: Path) -> None:
    """`precision: auto` (LIFT's default) trains in what each machine measures faster: a store merged
    from two machines holds one spec trained in bf16 on splits 0 and 2 and in fp32 on split 1. The
    table must not average them under one `lift` label."""
    store = ResultStore(tmp_path / "store.sqlite")
    for split_seed, (correct, trained) in enumerate(
        ((20, "bf16-mixed"), (10, "32-true"), (18, "bf16-mixed"))
    ):
        spec = RunSpec(task="iris", method="lift", method_params={"epochs": 2}, split_seed=split_seed)
        _classification(store, spec, correct, {**planned_config(spec), "ran_with": {"precision": trained}})
    table = metric_table(load_runs(store), "accuracy", "classification")
    assert table is not None
    cells = dict(zip(table.table.header, [c.text for c in table.table.rows[0]], strict=True))
    assert cells["lift(precision=bf16-mixed)"].startswith("0.950 ± 0.071")  # splits 0 and 2 only
    assert cells["lift(precision=32-true)"].startswith("0.500")
    assert "lift" not in cells


def test_a_run_stored_under_an_older_default_is_labelled_by_what_it_ran(tmp_path: Path) -> None:
    """An old LIFT run that left `epochs` to the default of its day (stored resolved as 3) is not the
    `lift` of today's default: its label names the value it ran with."""
    store = ResultStore(tmp_path / "store.sqlite")
    spec = RunSpec(task="iris", method="lift", split_seed=0)
    config = planned_config(spec)
    config["method_params"] = {**config["method_params"], "epochs": 3}
    _classification(store, spec, 19, config)
    labelled = with_config_labels(load_runs(store))
    assert labelled["config"].tolist() == ["lift"]  # the only configuration on iris
    assert setting_notes(labelled) == ["every configuration: epochs=3"]
