"""The CLI's tables (end of `liftbench run`, `results compare`, `results list`): one cell per
experiment, never an average across training sizes, perturbations or method settings."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.commands.results_table import compare_table, experiment_cells, seed_list
from benchmark.core.runspec import RunSpec
from benchmark.harness.runner import run_suite
from benchmark.harness.store import ResultStore

NOISE = {"name": "feature-noise", "params": {"kind": "gaussian", "scale": 1.0}}


def _runs() -> list[RunSpec]:
    runs = []
    for split in (0, 1):
        base = {"task": "moons", "task_params": {"n": 120}, "split_seed": split}
        runs += [
            RunSpec(**base, method="logreg"),
            RunSpec(**base, method="logreg", train_size=10),
            RunSpec(**base, method="logreg", perturbation=NOISE),
            RunSpec(**base, method="logreg", evaluations=["grid"]),  # the same fit as the clean run
            RunSpec(**base, method="knn", method_params={"grid": {"n_neighbors": [1]}}),
            RunSpec(**base, method="knn"),
        ]
    return runs


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ResultStore:
    store = ResultStore(tmp_path_factory.mktemp("tables") / "store.sqlite")
    summary = run_suite(_runs(), store, suite="tables")
    assert not summary.failed
    return store


def test_each_experiment_is_its_own_cell(store: ResultStore) -> None:
    cells = experiment_cells(store, "accuracy").set_index(["experiment", "configuration"])
    runs = store.runs().set_index("run_hash")
    expected = {
        ("moons(n=120)", "logreg"): RunSpec(task="moons", task_params={"n": 120}, method="logreg"),
        ("moons(n=120) n=10", "logreg"): RunSpec(
            task="moons", task_params={"n": 120}, method="logreg", train_size=10
        ),
        ('moons(n=120) perturb=feature-noise(kind="gaussian",scale=1.0)', "logreg"): RunSpec(
            task="moons", task_params={"n": 120}, method="logreg", perturbation=NOISE
        ),
        ("moons(n=120)", "knn"): RunSpec(task="moons", task_params={"n": 120}, method="knn"),
        ("moons(n=120)", 'knn(grid={"n_neighbors":[1]})'): RunSpec(
            task="moons", task_params={"n": 120}, method="knn", method_params={"grid": {"n_neighbors": [1]}}
        ),
    }
    assert set(cells.index) == set(expected)
    for key, spec in expected.items():
        scores = [
            runs.loc[RunSpec.from_dict({**spec.to_dict(), "split_seed": s}).hash, "metric.accuracy"]
            for s in (0, 1)
        ]
        cell = cells.loc[key]
        assert cell["count"] == 2 and cell["split_seeds"] == "0-1" and cell["seeds"] == "0"
        assert cell["mean"] == pytest.approx(sum(scores) / 2)
    # The small, perturbed and clean runs really differ, so pooling them would have moved the mean.
    means = {key: cells.loc[key, "mean"] for key in expected if key[1] == "logreg"}
    assert len(set(means.values())) == 3


def test_compare_and_list_show_runs_and_seeds_per_experiment(
    store: ResultStore, capsys: pytest.CaptureFixture
) -> None:
    table = compare_table(store, "accuracy")
    assert table.shape == (3, 3)
    assert table.loc["moons(n=120) n=10", "knn"] == "-"
    assert all("(n=2; split 0-1; seed 0)" in cell for cell in table.to_numpy().ravel() if cell != "-")
    assert main(["results", "compare", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "moons(n=120) n=10" in out and "perturb=feature-noise" in out
    assert main(["results", "list", "--store", str(store.path)]) == 0
    listing = capsys.readouterr().out
    assert "moons(n=120) n=10 | logreg" in listing and "12 runs in" in listing


def test_seed_lists_are_short() -> None:
    assert seed_list([3, 0, 1, 2, 7, 9, 8]) == "0-3,7-9"
    assert seed_list([5]) == "5" and seed_list([0, 2]) == "0,2"
