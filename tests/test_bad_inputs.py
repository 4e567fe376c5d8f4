"""The bad-input corpus: mistakes a user can make, each through the real command line (in process).

Every case must end with exit code 2, at most three lines of output, a message that names the input
(`names`) and says how to fix it (`fix`), and every store file in reach byte-for-byte as it was.
`make test` prints the number of cases (tests/conftest.py counts the tests of this module).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark.cli import main

GOOD_SUITE = "name: s\ngrid:\n  tasks: [iris]\n  methods: [majority]\n"


def _grid(**axes: str) -> str:
    """A suite file whose grid has the given axes (YAML flow values), iris/majority by default."""
    body = {"tasks": "[iris]", "methods": "[majority]", **axes}
    return "name: s\ngrid:\n" + "".join(f"  {axis}: {value}\n" for axis, value in body.items())


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # {tmp}: the case's folder, {store}: its copy of a good store
    names: str  # the output names the input ...
    fix: str  # ... and says what to do
    suite: str | None = None  # written to {tmp}/bad.yaml
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written into {tmp}
    prepare: Callable[[Path], None] | None = None  # makes {tmp}/{store} or other files bad


def _run(*args: str) -> tuple[str, ...]:
    return ("run", "--wandb", "disabled", "--store", "{store}", *args)


def _suite_case(id: str, suite: str, names: str, fix: str) -> Case:
    return Case(id, _run("--suite", "{tmp}/bad.yaml"), names, fix, suite=suite)


def _file_task(id: str, name: str, text: str, names: str, fix: str, *params: str) -> Case:
    args = (
        "tasks",
        "show",
        "file",
        "--param",
        f"path={{tmp}}/{name}",
        *(p for q in params for p in ("--param", q)),
    )
    return Case(id, args, names, fix, files=((name, text),))


def _truncate(tmp: Path) -> None:
    store = tmp / "s.sqlite"
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def _not_sqlite(tmp: Path) -> None:
    (tmp / "s.sqlite").write_text("run_hash,task\nabc,iris\n")


def _newer_schema(tmp: Path) -> None:
    with sqlite3.connect(tmp / "s.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    _checkpoint(tmp / "s.sqlite")


def _foreign(tmp: Path) -> None:
    (tmp / "s.sqlite").unlink()
    with sqlite3.connect(tmp / "s.sqlite") as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")


def _read_only(tmp: Path) -> None:
    """A store the file system will not let anyone write, root included (chattr +i), else chmod."""
    store = tmp / "s.sqlite"
    if os.geteuid() != 0:
        store.chmod(0o444)
        tmp.chmod(0o555)
        return
    done = subprocess.run(["chattr", "+i", str(store)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file read-only for root here: {done.stderr.decode().strip()}")


def _writable_again(tmp: Path) -> None:
    tmp.chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(tmp / "s.sqlite")], capture_output=True, check=False)
    else:
        (tmp / "s.sqlite").chmod(0o644)


def _model_without_weights(tmp: Path) -> None:
    folder = tmp / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2", "n_layer": 1, "n_head": 1, "n_embd": 8}')


CSV_OK = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"

CASES = [
    # run: which suite
    Case("run-unknown-suite", _run("--suite", "smok"), "'smok'", "did you mean: smoke"),
    Case("run-missing-suite-file", _run("--suite", "{tmp}/nope.yaml"), "nope.yaml", "give the path"),
    # suite files: YAML
    _suite_case("yaml-unclosed", "name: s\ngrid: [unclosed\n", "bad.yaml", "fix the YAML"),
    _suite_case(
        "yaml-bad-indent", "name: s\ngrid:\n  tasks: [iris]\n methods: [x]\n", "line", "fix the YAML"
    ),
    _suite_case(
        "yaml-duplicate-key",
        "name: s\nname: t\ngrid: {tasks: [iris], methods: [majority]}\n",
        "'name'",
        "keep only one",
    ),
    _suite_case("yaml-not-a-mapping", "- iris\n- majority\n", "bad.yaml", "start it with name:"),
    _suite_case("yaml-empty-file", "", "bad.yaml", "start it with name:"),
    # suite files: keys
    _suite_case("suite-unknown-top-key", GOOD_SUITE + "grdi: {}\n", "grdi", "did you mean: grid"),
    _suite_case("suite-unknown-axis", _grid(methds="[logreg]"), "methds", "did you mean: methods"),
    _suite_case("suite-no-name", "grid:\n  tasks: [iris]\n  methods: [majority]\n", "name", "add name:"),
    _suite_case("suite-no-runs", "name: s\n", "blocks", "add blocks:"),
    _suite_case("suite-no-methods", "name: s\ngrid:\n  tasks: [iris]\n", "no methods", "add methods:"),
    _suite_case("suite-grid-and-blocks", GOOD_SUITE + "blocks: []\n", "grid", "move the grid into blocks"),
    _suite_case(
        "suite-entry-unknown-key", _grid(tasks="[{name: iris, parms: {}}]"), "parms", "did you mean: params"
    ),
    _suite_case(
        "suite-include-missing",
        GOOD_SUITE + "include: [other.yaml]\n",
        "other.yaml",
        "relative to the including file",
    ),
    _suite_case(
        "suite-include-cycle",
        GOOD_SUITE + "include: [bad.yaml]\n",
        "include cycle",
        "remove one of these includes",
    ),
    _suite_case(
        "suite-include-unknown-name", GOOD_SUITE + "include: [smok]\n", "'smok'", "did you mean: smoke"
    ),
    # suite files: types and empty grids
    _suite_case("suite-seeds-not-numbers", _grid(seeds="[zero]"), "'zero'", "write integers"),
    _suite_case("suite-negative-seed", _grid(seeds="[-1]"), "-1", "write integers"),
    _suite_case("suite-seeds-not-a-list", _grid(seeds="zero"), "'zero'", "write a YAML list"),
    _suite_case("suite-empty-methods", _grid(methods="[]"), "methods", "give at least one value"),
    _suite_case("suite-empty-tasks", _grid(tasks="[]"), "tasks", "give at least one value"),
    _suite_case(
        "suite-params-not-a-mapping",
        _grid(methods="[{name: logreg, params: [1]}]"),
        "params",
        "write params:",
    ),
    _suite_case("suite-description-not-text", GOOD_SUITE + "description: [a]\n", "description", "quote it"),
    # suite files: names
    _suite_case("suite-unknown-task", _grid(tasks="[irs]"), "'irs'", "did you mean: iris"),
    _suite_case("suite-unknown-method", _grid(methods="[logregg]"), "'logregg'", "did you mean: logreg"),
    _suite_case("suite-unknown-perturbation", _grid(perturbations="[nosie]"), "'nosie'", "did you mean"),
    _suite_case("suite-unknown-split-protocol", _grid(split_protocols="[random]"), "'random'", "use one of"),
    _suite_case(
        "suite-unknown-serializer", _grid(methods="[lift]", serializers="[jsonn]"), "'jsonn'", "did you mean"
    ),
    # suite files: sizes
    _suite_case("size-zero", _grid(train_sizes="[0]"), "0", "write a positive integer"),
    _suite_case("size-text", _grid(train_sizes="[many]"), "'many'", "write a positive integer"),
    _suite_case("size-impossible", _grid(train_sizes="[100000]"), "100000", "use sizes 1.."),
    # task and method parameters
    _suite_case("task-param-wrong-type", _grid(tasks="[{name: moons, params: {n: many}}]"), "'n'", "many"),
    _suite_case(
        "task-param-unknown", _grid(tasks="[{name: moons, params: {nn: 50}}]"), "'nn'", "did you mean: n"
    ),
    _suite_case(
        "method-param-unknown",
        _grid(methods="[{name: logreg, params: {scal: true}}]"),
        "'scal'",
        "did you mean: scale",
    ),
    _suite_case("method-wrong-kind", _grid(tasks="[linear]", methods="[logreg]"), "'logreg'", "it does"),
    _suite_case("method-takes-no-model", _grid(models="[tiny-gpt2]"), "'model'", "its parameters"),
    # filters
    Case(
        "filter-malformed", _run("--suite", "smoke", "--filter", "task=="), "'task=='", "write e.g. task=iris"
    ),
    Case(
        "filter-unknown-field",
        _run("--suite", "smoke", "--filter", "tsak=iris"),
        "'tsak'",
        "did you mean: task",
    ),
    Case(
        "filter-matches-nothing",
        _run("--suite", "smoke", "--filter", "task=irsi"),
        "'task=irsi'",
        "did you mean: iris",
    ),
    Case(
        "filter-empty-value",
        _run("--suite", "smoke", "--filter", "method=logreg|"),
        "method=logreg|",
        "write field=a|b",
    ),
    # run options
    Case("run-jobs-zero", _run("--suite", "smoke", "--jobs", "0"), "--jobs", "x>=1"),
    Case(
        "run-unknown-launcher", _run("--suite", "smoke", "--launcher", "slurm"), "'slurm'", "'local', 'ray'"
    ),
    # stores
    Case(
        "store-truncated",
        _run("--suite", "smoke"),
        "is truncated",
        "rerun the suites into a new --store",
        prepare=_truncate,
    ),
    Case(
        "store-not-sqlite",
        _run("--suite", "smoke"),
        "not an SQLite database",
        "name another --store",
        prepare=_not_sqlite,
    ),
    Case("store-is-a-folder", ("run", "--suite", "smoke", "--store", "{tmp}"), "is a folder", "name a file"),
    Case(
        "store-newer-schema",
        _run("--suite", "smoke"),
        "schema version 99",
        "upgrade liftbench",
        prepare=_newer_schema,
    ),
    Case(
        "store-foreign-sqlite",
        _run("--suite", "smoke"),
        "not a liftbench one",
        "name another --store",
        prepare=_foreign,
    ),
    Case(
        "store-read-only",
        _run("--suite", "smoke", "--force"),
        "readonly",
        "make the file and its folder writable",
        prepare=_read_only,
    ),
    Case(
        "results-store-missing",
        ("results", "list", "--store", "{tmp}/none.sqlite"),
        "none.sqlite",
        "creates it",
    ),
    Case(
        "results-store-truncated",
        ("results", "list", "--store", "{store}"),
        "is truncated",
        "--store",
        prepare=_truncate,
    ),
    Case(
        "results-store-not-sqlite",
        ("results", "list", "--store", "{store}"),
        "not an SQLite database",
        "move it away",
        prepare=_not_sqlite,
    ),
    Case(
        "results-unknown-run",
        ("results", "show", "0123abcd", "--store", "{store}"),
        "'0123abcd'",
        "check the full run hash",
    ),
    Case(
        "results-unknown-metric",
        ("results", "compare", "--metric", "accurcy", "--store", "{store}"),
        "'accurcy'",
        "did you mean: accuracy",
    ),
    Case(
        "results-export-bad-suffix",
        ("results", "export", "{tmp}/runs.txt", "--store", "{store}"),
        "runs.txt",
        "name a .csv or .parquet file",
    ),
    Case(
        "report-store-missing",
        ("report", "--store", "{tmp}/none.sqlite", "--out", "{tmp}/r"),
        "none.sqlite",
        "name another file with --store",
    ),
    Case(
        "report-store-not-sqlite",
        ("report", "--store", "{store}", "--out", "{tmp}/r"),
        "not an SQLite database",
        "move it away",
        prepare=_not_sqlite,
    ),
    # tasks
    Case("tasks-unknown-task", ("tasks", "show", "irsi"), "'irsi'", "did you mean: iris"),
    Case(
        "tasks-param-not-key-value", ("tasks", "show", "moons", "--param", "n"), "'n'", "--param name=value"
    ),
    Case("tasks-param-wrong-type", ("tasks", "show", "moons", "--param", "n=many"), "'n'", "many"),
    Case(
        "tasks-unknown-kind",
        ("tasks", "list", "--kind", "clasification"),
        "'clasification'",
        "'classification'",
    ),
    # data files (the task `file`)
    Case(
        "csv-missing-file",
        ("tasks", "show", "file", "--param", "path={tmp}/nope.csv", "--param", "target=label"),
        "nope.csv",
        "pass path= an existing",
    ),
    _file_task("csv-unknown-target", "d.csv", CSV_OK, "'lable'", "did you mean: label", "target=lable"),
    _file_task(
        "csv-wrong-separator", "d.csv", CSV_OK.replace(",", ";"), "d.csv", "pass sep=", "target=label"
    ),
    _file_task(
        "csv-only-target",
        "d.csv",
        "label\nx\ny\n",
        "only the target column",
        "feature columns",
        "target=label",
    ),
    _file_task(
        "csv-one-class", "d.csv", "a,label\n1,x\n2,x\n", "1 class(es)", "kind=regression", "target=label"
    ),
    _file_task(
        "csv-text-regression-target",
        "d.csv",
        CSV_OK,
        "'label' is not numeric",
        "kind=classification",
        "target=label",
        "kind=regression",
    ),
    _file_task("csv-no-target-given", "d.csv", CSV_OK, "needs target=", "target=<the label column"),
    _file_task(
        "arff-malformed",
        "d.arff",
        "@relation r\n@attribute a NUMERIC\n@data\nx,y,z\n",
        "d.arff",
        "fix the file or save it as CSV",
        "target=a",
    ),
    # prompts
    Case(
        "prompts-unknown-serializer",
        ("prompts", "show", "iris", "--serializer", "jsonn", "--tokenizer", "none"),
        "'jsonn'",
        "did you mean",
    ),
    Case(
        "prompts-unknown-task",
        ("prompts", "show", "irsi", "--tokenizer", "none"),
        "'irsi'",
        "did you mean: iris",
    ),
    Case(
        "prompts-tokenizer-folder-missing",
        ("prompts", "show", "iris", "--tokenizer", "{tmp}/no-tokenizer"),
        "no-tokenizer",
        "give a local folder",
    ),
    Case(
        "prompts-negative-rows",
        ("prompts", "show", "iris", "--n", "-1", "--tokenizer", "none"),
        "--n",
        "x>=0",
    ),
    # data cache
    Case(
        "data-fetch-nothing",
        (
            "data",
            "fetch",
        ),
        "nothing to fetch",
        "pass --id DID",
    ),
    Case("data-fetch-unknown-suite", ("data", "fetch", "--suite", "lift41"), "'lift41'", "did you mean"),
    # models
    Case(
        "model-folder-without-weights",
        _run("--suite", "{tmp}/bad.yaml"),
        "my-model",
        "has no weights",
        suite=_grid(methods="[lift]", models="[{tmp}/my-model]"),
        prepare=_model_without_weights,
    ),
    Case(
        "run-unknown-model-offline",
        _run("--suite", "{tmp}/bad.yaml"),
        "no-such-org/no-such-model",
        "HF_HUB_OFFLINE",
        suite=_grid(methods="[lift]", models="[no-such-org/no-such-model]"),
    ),
]


def _checkpoint(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "s.sqlite"
    assert (
        main(
            [
                "run",
                "--suite",
                "smoke",
                "--store",
                str(path),
                "--wandb",
                "disabled",
                "--filter",
                "task=iris method=majority",
            ]
        )
        == 0
    )
    _checkpoint(path)
    return path


def _fingerprints(folder: Path) -> dict[str, str]:
    """Every store file under the case's folder (the store, a backup, a WAL with frames) by content hash.

    An empty WAL is no content: SQLite makes one when it opens a store in WAL mode.
    """
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and ".sqlite" in path.name
        and not path.name.endswith("-shm")
        and not (path.name.endswith("-wal") and path.stat().st_size == 0)
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, good_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(good_store, tmp_path / "s.sqlite")

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{store}", str(tmp_path / "s.sqlite"))

    if case.suite is not None:
        (tmp_path / "bad.yaml").write_text(fill(case.suite))
    for name, text in case.files:
        (tmp_path / name).write_text(text)
    if case.prepare is not None:
        case.prepare(tmp_path)
    before = _fingerprints(tmp_path)
    capsys.readouterr()
    try:
        code = main([fill(arg) for arg in case.args])
    finally:
        if case.prepare is _read_only:
            _writable_again(tmp_path)
    captured = capsys.readouterr()
    output = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    text = "\n".join(output)
    assert code == 2, text
    assert len(output) <= 3, text
    assert "Traceback" not in text
    assert fill(case.names) in text, text
    assert fill(case.fix) in text, text
    assert _fingerprints(tmp_path) == before


def test_the_corpus_is_large_and_covers_every_command() -> None:
    assert len(CASES) >= 50
    commands = {case.args[0] for case in CASES}
    assert commands >= {"run", "tasks", "data", "prompts", "results", "report"}
