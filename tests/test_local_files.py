"""The `file` task: a user's own CSV or ARFF file, its types and class codes, and its error messages."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from tasks import openml_source
from tasks.errors import LiftbenchError
from tasks.local_files import (
    MAX_NUMERIC_CLASSES,
    MIN_ROWS_PER_CLASS,
    FileTaskWarning,
    infer_feature_type,
    load_table_file,
)
from tasks.registry import load_task
from tests.openml_fixture import write_openml_cache

CSV = """age,income,city,label
31,52000.5,Lyon,yes
45,,Paris,no
28,31000.0,Lyon,no
52,78000.25,Nice,yes
39,45000.0,,yes
"""

ARFF = """% a small ARFF file
@RELATION people
@ATTRIBUTE age INTEGER
@ATTRIBUTE height REAL
@ATTRIBUTE note STRING
@ATTRIBUTE city {Paris, Lyon, Nice}
@ATTRIBUTE class {c, a, b}
@DATA
31,1.80,'tall one',Lyon,b
?,1.62,short,Paris,a
28,?,?,?,c
52,1.75,'',Nice,a
"""


def _balanced_csv(path: Path, rows: int = 12, header: bool = True) -> Path:
    """`rows` rows of age, income, label with the labels no/yes alternating."""
    lines = [f"{20 + i},{1000.5 * i},{'no' if i % 2 else 'yes'}" for i in range(rows)]
    path.write_text(("age,income,label\n" if header else "") + "\n".join(lines) + "\n")
    return path


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    return path


@pytest.fixture
def arff_path(tmp_path: Path) -> Path:
    path = tmp_path / "people.arff"
    path.write_text(ARFF)
    return path


def test_csv_classification_keeps_values_and_codes_classes_in_sorted_order(csv_path: Path) -> None:
    data = load_table_file(csv_path, "label")
    assert data.kind == "classification" and data.source == "file" and data.name == "people"
    assert list(data.X.columns) == ["age", "income", "city"]
    assert data.feature_types == {"age": "integer", "income": "numeric", "city": "categorical"}
    assert data.X["age"].tolist() == [31, 45, 28, 52, 39]
    assert data.X["city"].tolist()[:4] == ["Lyon", "Paris", "Lyon", "Nice"] and pd.isna(data.X["city"][4])
    assert np.isnan(data.X["income"][1])
    assert data.classes == ("no", "yes")
    assert data.y.tolist() == [1, 0, 0, 1, 1] and data.y.dtype == np.int64
    assert str(csv_path.resolve()) in data.source_detail and "sha256:" in data.source_detail


def test_numeric_class_labels_sort_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "digits.csv"
    path.write_text("x,digit\n0.1,10\n0.2,2\n0.3,1\n0.4,2\n")
    data = load_table_file(path, "digit")
    assert data.classes == ("1", "2", "10")
    assert data.y.tolist() == [2, 1, 0, 1]


def test_csv_regression_with_other_separator_and_rows_without_target(tmp_path: Path) -> None:
    path = tmp_path / "prices.tsv"
    path.write_text("rooms\tarea\tprice\n3\t70.5\t250000\n\t45.0\t180000.5\n4\t90.0\t\n")
    data = load_table_file(path, "price", kind="regression", sep="\t")
    assert data.kind == "regression" and data.classes is None
    assert data.y.tolist() == [250000.0, 180000.5] and data.y.dtype == np.float64
    assert data.feature_types == {"rooms": "integer", "area": "numeric"}
    assert np.isnan(data.X["rooms"][1])
    assert "1 rows with no 'price' value dropped" in data.source_detail


@pytest.mark.filterwarnings("ignore:.*STRING attributes:tasks.local_files.FileTaskWarning")
def test_arff_uses_declared_types_and_the_declared_class_order(arff_path: Path) -> None:
    data = load_table_file(arff_path, "class")
    assert data.feature_types == {
        "age": "integer",
        "height": "numeric",
        "note": "categorical",
        "city": "categorical",
    }
    assert np.isnan(data.X["age"][1]) and data.X["height"].dtype == np.float64
    assert list(data.X["city"].cat.categories) == ["Paris", "Lyon", "Nice"]
    assert data.X["note"][0] == "tall one"
    assert data.classes == ("c", "a", "b")
    assert data.y.tolist() == [2, 1, 0, 1]


def test_arff_integers_without_gaps_stay_integers(tmp_path: Path) -> None:
    path = tmp_path / "ints.arff"
    path.write_text("@RELATION r\n@ATTRIBUTE n INTEGER\n@ATTRIBUTE y {p,q}\n@DATA\n1,p\n2,q\n3,p\n")
    data = load_table_file(path, "y")
    assert data.X["n"].dtype == np.int64 and data.feature_types == {"n": "integer"}


def test_an_openml_arff_gives_the_same_codes_as_openml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(openml_source.CACHE_ENV_VAR, str(tmp_path / "cache"))
    frame = pd.DataFrame(
        {
            "x": [0.5, 1.5, np.nan, 2.5],
            "n": [1, 2, 3, 4],
            "label": pd.Categorical(["b", "a", "c", "a"], categories=["c", "a", "b"]),
        }
    )
    folder = write_openml_cache(tmp_path / "cache", 99, frame, "label")
    from_openml = openml_source.load_openml(99)
    from_file = load_table_file(folder / "dataset.arff", "label")
    assert from_file.classes == from_openml.target_categories
    assert from_file.y.tolist() == from_openml.y.cat.codes.tolist()
    assert from_file.feature_types == from_openml.feature_types


def test_registered_file_task_loads_through_the_registry(tmp_path: Path) -> None:
    path = _balanced_csv(tmp_path / "people.csv")
    data = load_task("file", path=str(path), target="label")
    assert data.spec is not None and data.spec.name == "file" and data.spec.source == "file"
    assert data.params == {
        "path": str(path),
        "target": "label",
        "kind": "classification",
        "sep": ",",
        "name": "",
        "header": True,
        "names": "",
        "na_values": "?",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert data.classes == ("no", "yes")
    regression = load_task("file", path=str(path), target="age", kind="regression")
    assert regression.kind == "regression" and regression.y.tolist()[:3] == [20.0, 21.0, 22.0]


def test_infer_feature_type() -> None:
    assert infer_feature_type(pd.Series([1, 2, 3])) == "integer"
    assert infer_feature_type(pd.Series([1.0, np.nan, 3.0])) == "integer"
    assert infer_feature_type(pd.Series([1.0, 2.0, 3.0])) == "numeric"
    assert infer_feature_type(pd.Series([1.5, np.nan])) == "numeric"
    assert infer_feature_type(pd.Series(["a", "b"])) == "categorical"
    assert infer_feature_type(pd.Series([True, False])) == "categorical"
    assert infer_feature_type(pd.Series(pd.Categorical(["1", "2"]))) == "categorical"


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(LiftbenchError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_error_messages_name_the_file_and_the_fix(tmp_path: Path, csv_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert (
        _error(load_table_file, missing, "label")
        == f"{missing}: no such file; pass path= an existing CSV or ARFF file"
    )

    bad_arff = tmp_path / "bad.arff"
    bad_arff.write_text("@RELATION r\n@ATTRIBUTE d DATE 'yyyy'\n@DATA\n2020\n")
    assert f"{bad_arff} does not parse as ARFF" in _error(load_table_file, bad_arff, "d")

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n1,2,3,4\n")
    assert f"{ragged} does not parse as CSV with sep=','" in _error(load_table_file, ragged, "b")

    message = _error(load_table_file, csv_path, "lable")
    assert "has no column 'lable' (did you mean: label" in message and "age, income, city, label" in message

    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("a;b\n1;x\n2;y\n")
    assert "reads as one column" in _error(load_table_file, semicolons, "b")

    one_class = tmp_path / "one.csv"
    one_class.write_text("x,y\n1,a\n2,a\n3,\n")
    assert "has 1 class(es)" in _error(load_table_file, one_class, "y")

    assert "regression target 'city' is not numeric (e.g. 'Lyon')" in _error(
        load_table_file, csv_path, "city", kind="regression"
    )
    assert "kind='clustering' is not a task kind" in _error(
        load_table_file, csv_path, "label", kind="clustering"
    )

    only_target = tmp_path / "only.csv"
    only_target.write_text("y\n1\n2\n")
    assert "has only the target column" in _error(load_table_file, only_target, "y")


def test_file_task_needs_path_and_target(csv_path: Path) -> None:
    assert "needs path=" in _error(load_task, "file")
    assert "needs target=" in _error(load_task, "file", path=str(csv_path))


def test_a_file_task_is_named_by_its_name_or_its_files_stem_and_keyed_by_its_content(tmp_path: Path) -> None:
    path = _balanced_csv(tmp_path / "heart.csv")
    data = load_task("file", path=str(path), target="label")
    assert data.name == "heart"
    assert load_task("file", path=str(path), target="label", name="cleveland").name == "cleveland"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.params["sha256"] == digest
    assert load_task("file", path=str(path), target="label", sha256=digest[:16]).n_rows == 12
    before = data.checksum
    _balanced_csv(path, rows=14)
    changed = load_task("file", path=str(path), target="label")
    assert changed.params["sha256"] != digest and changed.checksum != before
    assert "has changed: its sha256 is" in _error(
        load_task, "file", path=str(path), target="label", sha256=digest
    )


def test_a_headerless_csv_warns_and_header_false_with_names_reads_it(tmp_path: Path) -> None:
    path = _balanced_csv(tmp_path / "raw.csv", header=False)
    with pytest.warns(FileTaskWarning, match="looks like data.*header=false"):
        load_table_file(path, "yes")
    plain = load_table_file(path, "x3", header=False)
    assert list(plain.X.columns) == ["x1", "x2"] and plain.n_rows == 12
    named = load_task("file", path=str(path), target="label", header="false", names="age,income,label")
    assert list(named.X.columns) == ["age", "income"] and named.X["age"].iloc[0] == 20
    assert "names= gives 2" in _error(load_table_file, path, "a", header=False, names="a,b")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_table_file(_balanced_csv(tmp_path / "fine.csv"), "label")


def test_question_marks_are_missing_values_and_na_values_adds_markers(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    rows = [f"{i if i % 4 else '?'},{'-' if i == 3 else i * 0.5},{'a' if i % 2 else 'b'}" for i in range(12)]
    path.write_text("n,v,y\n" + "\n".join(rows) + "\n")
    data = load_table_file(path, "y")
    assert data.feature_types["n"] == "integer" and int(data.X["n"].isna().sum()) == 3
    assert data.feature_types["v"] == "categorical"  # '-' is not a default marker
    marked = load_table_file(path, "y", na_values="?,-")
    assert marked.feature_types["v"] == "numeric" and int(marked.X["v"].isna().sum()) == 1


def test_tasks_show_prints_the_given_values_and_missing_counts_per_column(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "gaps.csv"
    rows = [f"{i if i % 4 else '?'},{'' if i == 3 else i * 0.5},{'a' if i % 2 else 'b'}" for i in range(12)]
    path.write_text("n,v,y\n" + "\n".join(rows) + "\n")
    assert main(["tasks", "show", "file", "--param", f"path={path}", "--param", "target=y"]) == 0
    out = capsys.readouterr().out
    assert f"path='{path}'" in out and "target='y'" in out and "path=''" not in out
    assert "name:       gaps" in out
    assert "4 values in 2 columns" in out and "n 3, v 1" in out


def test_a_continuous_target_is_refused_as_classification_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("x,price\n" + "\n".join(f"{i},{100 + 3.5 * i}" for i in range(40)) + "\n")
    message = _error(load_table_file, path, "price")
    assert (
        f"40 distinct values, more than the {MAX_NUMERIC_CLASSES}" in message and "kind=regression" in message
    )
    assert load_table_file(path, "price", kind="regression").n_rows == 40


def test_an_arff_string_attribute_warns(arff_path: Path) -> None:
    with pytest.warns(FileTaskWarning, match="STRING attributes note"):
        load_table_file(arff_path, "class")


def test_a_file_with_too_few_rows_per_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("x,y\n1,a\n2,b\n3,a\n")
    message = _error(load_task, "file", path=str(path), target="y")
    assert f"fewer than {MIN_ROWS_PER_CLASS} rows" in message and "a (2), b (1)" in message


def test_runs_of_two_files_are_told_apart_in_stored_tables_and_suite_filters(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    heart, blood = _balanced_csv(tmp_path / "heart.csv"), _balanced_csv(tmp_path / "blood.csv", rows=16)
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "name: mine\ngrid:\n  tasks:\n"
        f"    - {{name: file, params: {{path: '{heart}', target: label}}}}\n"
        f"    - {{name: file, params: {{path: '{blood}', target: label, name: donors}}}}\n"
        "  methods: [majority]\n  seeds: [0]\n  split_seeds: [0]\n"
    )
    store = tmp_path / "s.sqlite"
    assert main(["run", "--suite", str(suite), "--store", str(store), "--filter", "task=heart"]) == 0
    capsys.readouterr()
    assert main(["results", "list", "--store", str(store)]) == 0
    listed = capsys.readouterr().out
    assert "heart" in listed and "donors" not in listed
    assert main(["run", "--suite", str(suite), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["results", "compare", "--store", str(store), "--task", "donors"]) == 0
    compared = capsys.readouterr().out
    assert "donors" in compared and "heart" not in compared
