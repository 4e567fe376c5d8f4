"""The `file` task: a user's own CSV or ARFF file, its types and class codes, and its error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks import openml_source
from tasks.errors import LiftbenchError
from tasks.local_files import infer_feature_type, load_table_file
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
    assert data.kind == "classification" and data.source == "file" and data.name == "file"
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


def test_registered_file_task_loads_through_the_registry(csv_path: Path) -> None:
    data = load_task("file", path=str(csv_path), target="label")
    assert data.spec is not None and data.spec.name == "file" and data.spec.source == "file"
    assert data.params == {"path": str(csv_path), "target": "label", "kind": "classification", "sep": ","}
    assert data.classes == ("no", "yes")
    regression = load_task("file", path=str(csv_path), target="age", kind="regression")
    assert regression.kind == "regression" and regression.y.tolist() == [31.0, 45.0, 28.0, 52.0, 39.0]


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
