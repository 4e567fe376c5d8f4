"""Suites: YAML grids expand into RunSpecs; shipped suites load; the filter language; clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchmark.core.methods import method_entries
from benchmark.core.runspec import Perturbation, RunSpec
from benchmark.harness.suites import filter_runs, load_suite, suite_names, validate_names
from tasks.errors import LiftbenchError
from tasks.registry import all_specs, resolve_params


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


GRID = """
name: g
grid:
  tasks: [iris, {name: moons, params: {n: 200}}]
  methods: [majority, logreg, {name: knn, params: {k: 3}}]
  seeds: [0, 1]
"""


def test_grid_is_a_cartesian_product_in_a_fixed_order(tmp_path: Path) -> None:
    runs = load_suite(write(tmp_path, "g.yaml", GRID)).expand()
    assert len(runs) == 12
    assert len({r.hash for r in runs}) == 12
    assert [r.label() for r in runs[:3]] == [
        "iris/majority seed=0 split=0 n=all",
        "iris/majority seed=1 split=0 n=all",
        "iris/logreg seed=0 split=0 n=all",
    ]
    assert runs[-1] == RunSpec(
        task="moons", task_params={"n": 200}, method="knn", method_params={"k": 3}, seed=1
    )
    assert [r.hash for r in load_suite(tmp_path / "g.yaml").expand()] == [r.hash for r in runs]


def test_every_axis_and_singular_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "axes.yaml",
        """
        name: axes
        grid:
          task: iris
          method: {name: lift, params: {lr: 1e-3, epochs: 2}}
          split_seeds: [0, 1]
          split_protocol: paper
          train_sizes: [16, all]
          perturbations: [clean, {name: label-noise, params: {rate: 0.1}}]
          serializers: [plain, {name: kv, params: {decimals: 2}}]
          model: smollm2-135m
          seed: 7
        """,
    )
    runs = load_suite(path).expand()
    assert len(runs) == 2 * 2 * 2 * 2
    first = runs[0]
    assert first.method_params == {"lr": 0.001, "epochs": 2}  # 1e-3 is a float, not the string "1e-3"
    assert isinstance(first.method_params["lr"], float)
    assert (first.split_protocol, first.model, first.seed) == ("paper", "smollm2-135m", 7)
    assert {r.train_size for r in runs} == {16, None}
    assert {r.perturbation for r in runs} == {None, Perturbation("label-noise", {"rate": 0.1})}
    assert {(r.serializer, r.serializer_options.get("decimals")) for r in runs} == {
        ("plain", None),
        ("kv", 2),
    }


def test_blocks_union_defaults_and_dedupe(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "b.yaml",
        """
        name: b
        defaults:
          split_seeds: [0, 1, 2]
          methods: [majority]
        blocks:
          - tasks: [iris, wine]
          - tasks: [iris]
            methods: [majority, logreg]
            split_seeds: [5]
          - tasks: [wine]
        """,
    )
    runs = load_suite(path).expand()
    # block 0: 2 tasks x majority x 3 splits = 6; block 1 overrides the split seeds: 2 more; block 2 repeats.
    assert len(runs) == 8
    assert [r.label() for r in runs[6:]] == [
        "iris/majority seed=0 split=5 n=all",
        "iris/logreg seed=0 split=5 n=all",
    ]


def test_includes_by_path_and_name_expand_with_their_own_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        "parts/base.yaml",
        """
        name: base
        defaults: {seeds: [4]}
        grid: {tasks: [iris], methods: [tree]}
        """,
    )
    path = write(
        tmp_path,
        "top.yaml",
        """
        name: top
        include: [parts/base.yaml, smoke]
        defaults: {seeds: [9]}
        grid:
          tasks: [iris]
          methods: [tree, majority]
          seeds: [4, 9]
        """,
    )
    suite = load_suite(path)
    assert [s.name for s in suite.includes] == ["base", "smoke"]
    runs = suite.expand()
    labels = [r.label() for r in runs]
    assert labels[0] == "iris/tree seed=4 split=0 n=all"  # from base, with base's seed
    assert labels[1:7] == [r.label() for r in load_suite("smoke").expand()]
    # own grid: iris/tree seed=4 is already there; 3 new runs.
    assert labels[7:] == [
        "iris/tree seed=9 split=0 n=all",
        "iris/majority seed=4 split=0 n=all",
        "iris/majority seed=9 split=0 n=all",
    ]
    assert len(runs) == len(set(runs))


def test_diamond_includes_are_not_cycles(tmp_path: Path) -> None:
    write(tmp_path, "d.yaml", "name: d\ngrid: {tasks: [iris], methods: [tree]}\n")
    write(tmp_path, "b.yaml", "name: b\ninclude: [d.yaml]\n")
    write(tmp_path, "c.yaml", "name: c\ninclude: [d.yaml]\n")
    assert len(load_suite(write(tmp_path, "a.yaml", "name: a\ninclude: [b.yaml, c.yaml]\n")).expand()) == 1


def test_include_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\ninclude: [b.yaml]\n")
    b = write(tmp_path, "b.yaml", "name: b\ninclude: [a.yaml]\ngrid: {tasks: [iris], methods: [tree]}\n")
    with pytest.raises(LiftbenchError) as err:
        load_suite(tmp_path / "a.yaml")
    message = str(err.value)
    assert message.startswith(f"suite file {b}: include[0]: include cycle")
    assert "remove one" in message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: x\nblocs: []\n", "blocs: unknown key (did you mean: blocks?)"),
        ("grid: {tasks: [iris], methods: [tree]}\n", "name:"),
        (
            "name: x\ngrid: {tasks: [iris], methods: [tree], seeds: [0, a]}\n",
            "grid.seeds[1]: 'a' is not a whole number",
        ),
        ("name: x\ngrid: {tasks: [iris], methods: [tree], seeds: [1.5]}\n", "grid.seeds[0]"),
        ("name: x\ngrid: {tasks: iris, methods: [tree]}\n", "grid.tasks: 'iris' is not a list"),
        ("name: x\ngrid: {tasks: [iris]}\n", "grid: no methods"),
        ("name: x\ngrid: {tasks: [iris], methods: []}\n", "grid.methods: the list is empty"),
        (
            "name: x\ngrid: {tasks: [{name: moons, parms: {}}], methods: [tree]}\n",
            "grid.tasks[0].parms: unknown key",
        ),
        ("name: x\ngrid: {tasks: [{params: {}}], methods: [tree]}\n", "grid.tasks[0]: entry has no name"),
        ("name: x\ngrid: {tasks: [{name: m, params: [1]}], methods: [tree]}\n", "grid.tasks[0].params"),
        (
            "name: x\ngrid: {tasks: [{name: m, params: {d: 2020-01-01}}], methods: [a]}\n",
            "grid.tasks[0].params['d']",
        ),
        ("name: x\ngrid: {tasks: [iris], methods: [tree], train_sizes: [0]}\n", "grid.train_sizes[0]"),
        (
            "name: x\ngrid: {tasks: [iris], methods: [tree], seed: [0, 1]}\n",
            "grid.seed: seed takes one value",
        ),
        ("name: x\ngrid: {tasks: [iris], task: wine, methods: [tree]}\n", "grid.task: tasks is given twice"),
        (
            "name: x\ngrid: {tasks: [iris], methods: [tree], sed: [0]}\n",
            "grid.sed: unknown key (did you mean: seed",
        ),
        (
            "name: x\ngrid: {tasks: [iris], methods: [tree]}\nblocks: []\n",
            "grid: a suite has either one grid",
        ),
        ("name: x\nblocks: {tasks: [iris]}\n", "blocks: expected a non-empty list"),
        ("name: x\nblocks: [{tasks: [iris], methods: [tree]}, 3]\n", "blocks[1]: int is not a mapping"),
        (
            "name: x\ndefaults: [1]\ngrid: {tasks: [iris], methods: [tree]}\n",
            "defaults: list is not a mapping",
        ),
        ("name: x\n", "blocks: the suite has no runs"),
        ("name: x\ninclude: smoke\n", "include: 'smoke' is not a list"),
        ("name: x\ninclude: [smok]\n", "include[0]: no shipped suite 'smok' (did you mean: smoke?)"),
        ("name: x\ninclude: [missing.yaml]\n", "include[0]: no file"),
        ("name: x\ndescription: [1]\ninclude: [smoke]\n", "description:"),
        ("name: x\nname: y\n", "line 2, column 1: duplicate key 'name'"),
        ("name: x\ngrid: {tasks: [iris\n", "line 3"),
        ("- just\n- a list\n", "holds a list, not a mapping"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(LiftbenchError) as err:
        load_suite(path)
    message = str(err.value)
    assert message.startswith(f"suite file {path}: ")
    assert field in message
    assert "\n" not in message


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(LiftbenchError, match="does not exist.*smoke"):
        load_suite(tmp_path / "nope.yaml")
    with pytest.raises(LiftbenchError, match="unknown suite 'smok' \\(did you mean: smoke\\?\\)"):
        load_suite("smok")


def test_shipped_suites_load_and_expand() -> None:
    assert {"smoke", "default", "lift14", "lift-regression"} <= set(suite_names())
    counts = {name: len(load_suite(name).expand()) for name in suite_names()}
    assert all(count > 0 for count in counts.values())
    assert counts["smoke"] == 2 * 3
    # main + grid blocks, regression, nested sizes (size "all" repeats the main block), robustness, LIFT
    assert counts["default"] == 6 * 8 * 3 + 3 * 9 * 3 + 2 * 4 * 3 * 3 + 1 * 4 * 5 * 3 + 3
    assert counts["lift14"] == 14 * 8 * 3
    assert counts["lift-regression"] == 12 * 9 * 3


def test_default_suite_has_classification_and_regression() -> None:
    runs = load_suite("default").expand()
    pairs = {(r.task, r.method) for r in runs}
    assert ("iris", "svm") in pairs and ("cosine", "gp") in pairs
    assert ("iris", "gp") not in pairs and ("cosine", "majority") not in pairs
    assert {r.split_seed for r in runs} == {0, 1, 2}
    assert {r.task_params.get("n") for r in runs if r.task == "gaussian9"} == {600}


def test_lift14_has_the_papers_fourteen_tasks() -> None:
    tasks = {r.task for r in load_suite("lift14").expand()}
    assert len(tasks) == 14 and {"iris", "plants-texture", "led7", "mfeat-factors"} <= tasks


@pytest.mark.parametrize("name", ["smoke", "default", "lift14", "lift-regression"])
def test_shipped_suites_use_registered_tasks_params_and_methods(name: str) -> None:
    tasks = {spec.name: spec for spec in all_specs()}
    methods = method_entries()
    suite = load_suite(name)
    validate_names(suite, tasks, methods)
    for run in suite.expand():
        task = tasks[run.task]
        resolve_params(task, run.task_params)  # raises on an unknown parameter or a wrong type
        assert task.kind in methods[run.method].kinds, run.label()


def test_validate_names_points_at_the_file_and_entry(tmp_path: Path) -> None:
    write(tmp_path, "inner.yaml", "name: inner\ngrid: {tasks: [iris], methods: [logreg, svn]}\n")
    path = write(
        tmp_path,
        "outer.yaml",
        """
        name: outer
        include: [inner.yaml]
        defaults: {methods: [logreg]}
        blocks:
          - tasks: [iris, wnie]
        """,
    )
    suite = load_suite(path)
    with pytest.raises(LiftbenchError) as err:
        validate_names(suite, ["iris", "wine"], ["logreg", "svm"])
    assert str(err.value).startswith(
        f"suite file {tmp_path / 'inner.yaml'}: grid.methods[1]: unknown method 'svn'"
    )
    assert "did you mean: svm" in str(err.value)
    with pytest.raises(LiftbenchError) as err:
        validate_names(suite, ["iris", "wine"], ["logreg", "svn"])
    assert str(err.value).startswith(f"suite file {path}: blocks[0].tasks[1]: unknown task 'wnie'")
    validate_names(suite, ["iris", "wine", "wnie"], ["logreg", "svn"])


RUNS = [
    RunSpec(task=t, method=m, seed=s, split_seed=k)
    for t in ("iris", "plants-margin", "plants-texture")
    for m in ("logreg", "svm", "tree")
    for s in (0, 1)
    for k in (0, 1)
]


def test_filter_language() -> None:
    def labels(expr: str) -> set[tuple[object, ...]]:
        return {(r.task, r.method, r.seed, r.split_seed) for r in filter_runs(RUNS, expr)}

    assert labels("task=iris,method=logreg|svm seed=0") == {
        ("iris", m, 0, k) for m in ("logreg", "svm") for k in (0, 1)
    }
    assert labels("task=plants-* method!=svm|tree split_seed=1 seed=1") == {
        ("plants-margin", "logreg", 1, 1),
        ("plants-texture", "logreg", 1, 1),
    }
    assert filter_runs(RUNS, "") == RUNS
    assert filter_runs(RUNS, "  ") == RUNS
    assert filter_runs(RUNS, "train_size=all perturbation=clean serializer=none model=none") == RUNS
    target = RUNS[5]
    assert filter_runs(RUNS, f"hash={target.hash[:6]}*") == [target]


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("task=iris,wine", "'wine' is not field=value"),
        ("tsak=iris", "unknown field 'tsak' (did you mean: task?)"),
        ("task=iris|", "empty value"),
        ("__import__('os')", "is not field=value"),
        ("task==", "'task==' is not field=value"),
        ("task=iris=wine", "is not field=value"),
        (
            "task=irsi",
            "matches none of the 36 runs of the suite; no run has task 'irsi' (did you mean: iris?)",
        ),
        ("task=wine", "no run has task 'wine' (tasks: iris, plants-margin, plants-texture)"),
        ("method=svn|tre", "no run has method 'svn' (did you mean: svm?)"),
        ("task=iris task=plants-*", "each clause matches some runs, but no run matches them all"),
    ],
)
def test_filter_errors(expr: str, problem: str) -> None:
    with pytest.raises(LiftbenchError) as err:
        filter_runs(RUNS, expr)
    assert problem in str(err.value)
