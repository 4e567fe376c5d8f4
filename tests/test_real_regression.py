"""servo, ccpp and insurance: read from the data folder in their distribution formats, or refused clearly."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.lift.serialization.base import serialize_rows
from benchmark.lift.serialization.registry import get_serializer
from tasks.availability import availability
from tasks.errors import LiftbenchError
from tasks.real_regression import DATA_DIR_ENV_VAR, data_dir, expected_file
from tasks.registry import get_spec, load_task, suites

# The first rows of each distribution file, in its own format.
SERVO_DATA = "E,E,5,4,0.28125095\nB,D,6,5,0.5062525\nD,D,4,3,0.35625148\nB,A,3,2,1.3\n"
CCPP_CSV = (
    "AT,V,AP,RH,PE\n"
    "14.96,41.76,1024.07,73.17,463.26\n"
    "25.18,62.96,1020.04,59.08,444.37\n"
    "5.11,39.4,1012.16,92.14,488.56\n"
)
INSURANCE_CSV = (
    "age,sex,bmi,children,smoker,region,charges\n"
    "19,female,27.9,0,yes,southwest,16884.924\n"
    "18,male,33.77,1,no,southeast,1725.5523\n"
    "28,male,33,3,no,southeast,4449.462\n"
)
# Every test here loads a few rows, not the published count, and is told so.
pytestmark = pytest.mark.filterwarnings("ignore:task .* rows where the published data set has:UserWarning")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DATA_DIR_ENV_VAR, str(tmp_path))
    return tmp_path


def write(folder: Path, relative: str, content: str | bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf8")
    return path


def test_the_three_join_student_in_the_real_regression_suite() -> None:
    assert suites()["lift-regression-real"] == ["student", "servo", "ccpp", "insurance"]
    for name, source, target, n_rows in [
        ("servo", "uci-file", "class", 167),
        ("ccpp", "uci-file", "PE", 9568),
        ("insurance", "kaggle-file", "charges", 1338),
    ]:
        spec = get_spec(name)
        assert (spec.kind, spec.source, spec.target, spec.n_rows, spec.openml_id) == (
            "regression",
            source,
            target,
            n_rows,
            None,
        )
        assert spec.citation and spec.description and spec.defaults == {}
    assert "Quinlan" in get_spec("servo").citation
    assert "Tüfekci" in get_spec("ccpp").citation and "294" in get_spec("ccpp").citation
    assert "Lantz" in get_spec("insurance").citation and "mirichoi0218" in get_spec("insurance").citation


def test_servo_reads_the_headerless_uci_file(folder: Path) -> None:
    path = write(folder, "servo/servo.data", SERVO_DATA)
    data = load_task("servo")
    assert data.source == "uci-file" and data.source_detail.startswith(f"{path.resolve()} sha256:")
    assert data.kind == "regression" and data.classes is None
    assert list(data.X.columns) == ["motor", "screw", "pgain", "vgain"]
    assert data.feature_types == {
        "motor": "categorical",
        "screw": "categorical",
        "pgain": "integer",
        "vgain": "integer",
    }
    assert data.X["motor"].astype(str).tolist() == ["E", "B", "D", "B"]
    assert list(data.X["screw"].cat.categories) == ["A", "B", "C", "D", "E"]  # all five, not the four seen
    assert data.X["pgain"].dtype == np.int64 and data.X["vgain"].tolist() == [4, 5, 3, 2]
    assert data.y.name == "class" and data.y.dtype == float
    assert data.y.tolist() == [0.28125095, 0.5062525, 0.35625148, 1.3]


def test_servo_with_a_header_row_as_in_lifts_copy_gives_the_same_rows(folder: Path) -> None:
    write(folder, "servo/servo.data", SERVO_DATA)
    plain = load_task("servo")
    write(folder, "servo/servo.data", "M,S,P,V,C\n" + SERVO_DATA)
    headed = load_task("servo")
    assert headed.checksum == plain.checksum and headed.n_rows == 4


def test_ccpp_reads_the_csv_export_and_lifts_bom_copy(folder: Path) -> None:
    write(folder, "ccpp/ccpp_all.csv", b"\xef\xbb\xbf" + CCPP_CSV.encode())
    lift_copy = load_task("ccpp")
    assert lift_copy.source_detail.startswith(str((folder / "ccpp" / "ccpp_all.csv").resolve()))
    assert list(lift_copy.X.columns) == ["AT", "V", "AP", "RH"]
    assert set(lift_copy.feature_types.values()) == {"numeric"}
    assert all(lift_copy.X[c].dtype == float for c in lift_copy.X.columns)
    assert lift_copy.y.name == "PE" and lift_copy.y.tolist() == [463.26, 444.37, 488.56]

    write(folder, "ccpp/Folds5x2_pp.csv", CCPP_CSV)  # the preferred name wins when both are there
    export = load_task("ccpp")
    assert export.source_detail.startswith(str((folder / "ccpp" / "Folds5x2_pp.csv").resolve()))
    assert export.checksum == lift_copy.checksum


def test_insurance_reads_the_kaggle_csv(folder: Path) -> None:
    write(folder, "insurance/insurance.csv", INSURANCE_CSV)
    data = load_task("insurance")
    assert data.source == "kaggle-file"
    assert list(data.X.columns) == ["age", "sex", "bmi", "children", "smoker", "region"]
    assert data.feature_types == {
        "age": "integer",
        "sex": "categorical",
        "bmi": "numeric",
        "children": "integer",
        "smoker": "categorical",
        "region": "categorical",
    }
    assert data.X["age"].tolist() == [19, 18, 28] and data.X["children"].dtype == np.int64
    assert data.X["bmi"].tolist() == [27.9, 33.77, 33.0]
    assert list(data.X["region"].cat.categories) == ["northeast", "northwest", "southeast", "southwest"]
    assert data.X["smoker"].astype(str).tolist() == ["yes", "no", "no"]
    assert data.y.name == "charges" and data.y.tolist() == [16884.924, 1725.5523, 4449.462]


def test_a_saved_row_index_column_never_becomes_a_feature(folder: Path) -> None:
    frame = pd.read_csv(io.StringIO(INSURANCE_CSV))
    write(folder, "insurance/insurance.csv", frame.to_csv())  # pandas' default: an unnamed index column
    data = load_task("insurance")
    assert list(data.X.columns) == ["age", "sex", "bmi", "children", "smoker", "region"]


def test_a_missing_file_names_the_task_the_path_and_where_to_download(folder: Path) -> None:
    for name, path, url in [
        ("servo", "servo/servo.data", "https://doi.org/10.24432/C5Q30F"),
        ("ccpp", "ccpp/Folds5x2_pp.csv", "https://archive.ics.uci.edu/dataset/294"),
        ("insurance", "insurance/insurance.csv", "https://www.kaggle.com/datasets/mirichoi0218/insurance"),
    ]:
        assert expected_file(name) == folder / path
        with pytest.raises(LiftbenchError) as err:
            load_task(name)
        message = str(err.value)
        assert "\n" not in message
        assert f"task {name!r}" in message and str(folder / path) in message and url in message
        assert DATA_DIR_ENV_VAR in message


def test_the_data_folder_defaults_to_the_liftbench_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV_VAR, raising=False)
    assert data_dir() == Path("~/.cache/liftbench/data").expanduser()


def test_availability_follows_the_file(folder: Path) -> None:
    before = availability(get_spec("insurance"))
    assert not before.available and before.via == ""
    assert str(folder / "insurance" / "insurance.csv") in before.reason and "kaggle.com" in before.reason
    assert before.brief and len(before.brief) < len(before.reason)

    write(folder, "insurance/insurance.csv", INSURANCE_CSV)
    after = availability(get_spec("insurance"))
    assert after.available and after.via == "kaggle-file"
    assert not availability(get_spec("servo")).available  # each task looks at its own file


@pytest.mark.skipif(
    importlib.util.find_spec("openpyxl") is not None, reason="openpyxl would read the workbook"
)
def test_a_workbook_without_openpyxl_asks_for_a_csv_export(folder: Path) -> None:
    write(folder, "ccpp/Folds5x2_pp.xlsx", b"PK\x03\x04 not read")
    avail = availability(get_spec("ccpp"))
    assert not avail.available
    assert "openpyxl" in avail.reason and str(folder / "ccpp" / "Folds5x2_pp.csv") in avail.reason
    with pytest.raises(LiftbenchError, match="save its first sheet as CSV"):
        load_task("ccpp")


@pytest.mark.parametrize(
    ("relative", "content", "match"),
    [
        ("servo/servo.data", "E,E,5,4\nB,D,6,5\n", "4 fields per line, not 5"),
        (
            "servo/servo.data",
            "E,E,5,4,0.28\nF,D,6,5,0.5\n",
            r"data row 2, column 'motor', holds 'F', not one of A",
        ),
        ("servo/servo.data", "E,E,5.5,4,0.28\n", "column 'pgain', holds '5.5', not a whole number"),
        ("ccpp/Folds5x2_pp.csv", "AT,V,AP,PE\n1,2,3,4\n", "no column 'RH'"),
        ("ccpp/Folds5x2_pp.csv", "AT,V,AP,RH,PE\n1,2,3,,4\n", "column 'RH', holds nan, not a number"),
        ("insurance/insurance.csv", "age,sex,bmi,children,smoker,region,charges\n", "holds no rows"),
        (
            "insurance/insurance.csv",
            "age,sex,bmi,children,smoker,region,charges\n19,female,27.9,0,yes,south,1.0\n",
            "column 'region', holds 'south'",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_the_place_of_the_problem(
    folder: Path, relative: str, content: str, match: str
) -> None:
    path = write(folder, relative, content)
    with pytest.raises(LiftbenchError, match=match) as err:
        load_task(relative.split("/")[0])
    assert str(path) in str(err.value)


def test_a_file_of_another_size_loads_with_a_warning(folder: Path) -> None:
    write(folder, "servo/servo.data", SERVO_DATA)
    with pytest.warns(UserWarning, match="has 4 rows where the published data set has 167"):
        load_task("servo")


def test_the_papers_templates_read_the_loaded_columns(folder: Path) -> None:
    write(folder, "servo/servo.data", SERVO_DATA)
    write(folder, "insurance/insurance.csv", INSURANCE_CSV)
    servo = load_task("servo")
    prompt = serialize_rows(get_serializer("template").bind(servo), servo.X.iloc[:1])[0].prompt
    assert prompt.startswith(
        "Given a servomechanism, with motor E and screw E, whose voltage gain is 5 and power"
    )
    insurance = load_task("insurance")
    prompt = serialize_rows(get_serializer("template").bind(insurance), insurance.X.iloc[1:2])[0].prompt
    assert prompt.startswith(
        "A 18-year-old male, who has 1 children, lives in the southeast in the U.S. He does"
    )
