"""The study suites `liftbench report` points to: each loads, expands, names registered tasks and
methods, passes the runner's checks, and keeps LIFT to a CPU-sized budget."""

from __future__ import annotations

import pytest

from analysis.report import STUDY_SUITES
from benchmark.core.methods import method_entries
from benchmark.harness.checks import check_runs
from benchmark.harness.suites import load_suite, suite_names, validate_names
from tasks.registry import all_specs

STUDY_NAMES = sorted(name for name in suite_names() if name.startswith("study-"))
CPU_MAX_EPOCHS = 2


def test_every_study_the_report_names_is_shipped() -> None:
    assert set(STUDY_SUITES.values()) <= set(suite_names())
    assert set(STUDY_SUITES.values()) - set(STUDY_NAMES) == {"lift14-offline"}  # the paper's Table 2


def test_the_offline_table2_suite_runs_every_baseline_and_lift_where_it_fits() -> None:
    runs = load_suite("lift14-offline").expand()
    validate_names(load_suite("lift14-offline"), [spec.name for spec in all_specs()], method_entries())
    assert len(check_runs(runs, where="suite lift14-offline")) == len(runs)
    baselines = {"majority", "logreg", "knn", "tree", "svm", "rf", "xgboost", "mlp"}
    by_task: dict[str, set[str]] = {}
    for spec in runs:
        by_task.setdefault(spec.task, set()).add(spec.method)
        assert spec.split_seed in (0, 1, 2) and spec.train_size is None and spec.perturbation is None
    assert len(by_task) == 14 and all(methods >= baselines for methods in by_task.values())
    lifted = {task for task, methods in by_task.items() if "lift" in methods}
    assert lifted == {"iris", "wine", "tae", "cmc", "vehicle", "led7"}  # OPT, spambase: over the token budget
    assert {spec.method_params.get("model") for spec in runs if spec.method == "lift"} == {"smollm2-135m"}


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_study_suite_expands_into_valid_runs(name: str) -> None:
    suite = load_suite(name)
    methods = method_entries()
    runs = suite.expand()
    assert runs and suite.description
    if "lift" in methods:
        validate_names(suite, [spec.name for spec in all_specs()], methods)
    else:  # LIFT not registered in this checkout: check everything else
        runs = [spec for spec in runs if spec.method != "lift"]
    checked = check_runs(runs, where=f"suite {name}")
    assert [spec.hash for spec in checked] == [spec.hash for spec in runs]
    lift = [spec for spec in suite.expand() if spec.method == "lift"]
    assert lift, "every study compares LIFT with the baselines"
    for spec in lift:
        assert (
            spec.method_params.get("epochs", 0) <= CPU_MAX_EPOCHS
            and spec.method_params.get("model") == "smollm2-135m"
        )
    assert max(spec.split_seed for spec in lift) <= max(spec.split_seed for spec in suite.expand())


def test_study_suites_carry_what_their_studies_read() -> None:
    boundaries = load_suite("study-boundaries").expand()
    assert {e.name for spec in boundaries for e in spec.evaluations} == {"grid", "line"}
    assert {spec.task_params.get("difficulty") for spec in boundaries if spec.task == "nn-teacher"} == {1, 5}
    sizes = {spec.train_size for spec in load_suite("study-sample-complexity").expand()}
    assert sizes == {10, 20, 40, None}
    robustness = load_suite("study-robustness").expand()
    assert {spec.perturbation.name for spec in robustness if spec.perturbation} == {
        "feature-noise",
        "label-corruption",
        "outliers",
    }
    assert any(spec.perturbation is None for spec in robustness)  # strength 0
    context = {
        (spec.serializer, spec.serializer_options.get("shuffle_names"))
        for spec in load_suite("study-context").expand()
    }
    assert context == {("lift", None), ("lift-names", None), ("lift-names", 0)}
    inits = {spec.method_params.get("init") for spec in load_suite("study-pretraining").expand()}
    assert inits == {"pretrained", "random"}


@pytest.mark.parametrize("name", ["default", *STUDY_NAMES])
def test_lift_runs_on_the_task_configurations_its_baselines_run_on(name: str) -> None:
    """A LIFT run on a task variant no baseline ran on would sit in a table row of its own."""
    runs = load_suite(name).expand()
    baselines = {(spec.task, spec.task_params) for spec in runs if spec.method != "lift"}
    lift = {(spec.task, spec.task_params) for spec in runs if spec.method == "lift"}
    if baselines:  # the context and pretraining studies compare LIFT with itself
        assert lift <= baselines, lift - baselines
