"""scikit-learn's bundled copies as offline mirrors of OpenML 61, 187 and 1510."""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import arff
import numpy as np
import pandas as pd
import pytest
import sklearn

from tasks import mirrors
from tasks.errors import LiftbenchError
from tasks.mirrors import MIRRORS, Correction, load_mirror
from tasks.registry import get_spec, load_task
from tests.openml_fixture import write_openml_cache

# task, mirror, OpenML id, rows, features, classes in OpenML order, rows per class code
CASES = [
    (
        "iris",
        "sklearn:load_iris",
        61,
        150,
        4,
        ("Iris-setosa", "Iris-versicolor", "Iris-virginica"),
        [50, 50, 50],
    ),
    ("wine", "sklearn:load_wine", 187, 178, 13, ("1", "2", "3"), [59, 71, 48]),
    ("breast-cancer-wisconsin", "sklearn:load_breast_cancer", 1510, 569, 30, ("1", "2"), [357, 212]),
]
# The real OpenML 61 data file that scikit-learn's own tests use.
OPENML_61_ARFF = Path(sklearn.__file__).parent / "datasets/tests/data/openml/id_61/data-v1-dl-61.arff.gz"


def cache() -> Path:
    return Path(os.environ["LIFTBENCH_OPENML_CACHE"])


@pytest.mark.parametrize(("task", "mirror", "did", "rows", "features", "classes", "counts"), CASES)
def test_empty_cache_serves_the_checked_mirror(
    task: str, mirror: str, did: int, rows: int, features: int, classes: tuple[str, ...], counts: list[int]
) -> None:
    spec = get_spec(task)
    assert (spec.openml_id, spec.mirror, spec.class_labels) == (did, mirror, classes)
    data = load_task(task)
    assert data.source == "sklearn-mirror"
    assert data.source_detail.startswith(f"{mirror} (scikit-learn {sklearn.__version__}) as OpenML {did}")
    assert data.X.shape == (rows, features)
    assert data.classes == classes
    assert np.bincount(data.y.to_numpy()).tolist() == counts
    assert list(data.X.columns) == list(MIRRORS[mirror].feature_names)
    whole_bytes = ["Magnesium"] if task == "wine" else []  # openml parses whole numbers in 0..255 as uint8
    assert [c for c, t in data.feature_types.items() if t != "numeric"] == whole_bytes
    assert all(data.X[c].dtype == np.int64 for c in whole_bytes)


def test_mirror_names_are_openmls() -> None:
    assert MIRRORS["sklearn:load_iris"].feature_names == (
        "sepallength",
        "sepalwidth",
        "petallength",
        "petalwidth",
    )
    assert MIRRORS["sklearn:load_wine"].feature_names[11] == "OD280%2FOD315_of_diluted_wines"
    assert MIRRORS["sklearn:load_breast_cancer"].feature_names == tuple(f"V{i}" for i in range(1, 31))
    malignant = load_mirror("sklearn:load_breast_cancer").y
    assert (malignant == "2").sum() == 212  # scikit-learn's 212 malignant rows are OpenML's class 2


def _mirror_frame(mirror: str) -> pd.DataFrame:
    table = load_mirror(mirror)
    return table.X.assign(**{table.declaration.target: table.y})


@pytest.mark.parametrize(("task", "mirror", "did"), [case[:3] for case in CASES])
def test_cache_written_from_the_mirror_loads_identically(task: str, mirror: str, did: int) -> None:
    mirrored = load_task(task)
    write_openml_cache(cache(), did, _mirror_frame(mirror), MIRRORS[mirror].target)
    cached = load_task(task)
    assert cached.source == "openml-cache"
    pd.testing.assert_frame_equal(cached.X, mirrored.X)
    pd.testing.assert_series_equal(cached.y, mirrored.y)
    assert cached.classes == mirrored.classes
    assert cached.feature_types == mirrored.feature_types
    assert cached.checksum == mirrored.checksum


@pytest.mark.skipif(not OPENML_61_ARFF.is_file(), reason="scikit-learn's test data is not installed")
def test_iris_mirror_equals_the_real_openml_61_file() -> None:
    decoded = arff.loads(gzip.open(OPENML_61_ARFF, "rt", encoding="utf8").read())
    names = [name for name, _ in decoded["attributes"]]
    real = pd.DataFrame(decoded["data"], columns=names)
    classes = decoded["attributes"][-1][1]
    real["class"] = pd.Categorical(real["class"], categories=classes)
    write_openml_cache(cache(), 61, real, "class", name="iris")
    from_openml = load_task("iris")
    assert from_openml.source == "openml-cache"

    table = load_mirror("sklearn:load_iris")
    assert names[:-1] == list(table.X.columns)
    assert tuple(classes) == table.declaration.classes
    (cache() / "org/openml/www/datasets/61/dataset.arff").unlink()
    mirrored = load_task("iris")
    assert mirrored.source == "sklearn-mirror"
    pd.testing.assert_frame_equal(mirrored.X, from_openml.X)
    pd.testing.assert_series_equal(mirrored.y, from_openml.y)


def test_without_its_corrections_the_iris_mirror_differs_from_openml_in_two_rows() -> None:
    raw = sklearn.datasets.load_iris().data
    fixed = load_mirror("sklearn:load_iris").X.to_numpy()
    assert sorted(set(np.argwhere(raw != fixed)[:, 0])) == [34, 37]


def _tampered(mirror: str, **changes: object) -> mirrors.MirrorDeclaration:
    return dataclasses.replace(MIRRORS[mirror], **changes)


@pytest.mark.parametrize(
    ("mirror", "changes", "expected"),
    [
        ("sklearn:load_iris", {"n_rows": 151}, "150 rows x 4 features, OpenML 61 declares 151 rows"),
        (
            "sklearn:load_wine",
            {
                "columns": (MIRRORS["sklearn:load_wine"].columns[1], MIRRORS["sklearn:load_wine"].columns[0])
                + MIRRORS["sklearn:load_wine"].columns[2:]
            },
            "feature names",
        ),
        ("sklearn:load_breast_cancer", {"class_of_code": ("1", "1")}, "not one each"),
        ("sklearn:load_breast_cancer", {"class_of_code": ("1", "2", "3")}, "2 classes"),
        ("sklearn:load_iris", {"corrections": (Correction(34, "petalwidth", 0.3, 0.1),)}, "holds 0.2"),
        ("sklearn:load_iris", {"corrections": (Correction(150, "petalwidth", 0.2, 0.1),)}, "outside"),
    ],
)
def test_a_declaration_that_does_not_fit_the_bundled_copy_is_reported(
    monkeypatch: pytest.MonkeyPatch, mirror: str, changes: dict, expected: str
) -> None:
    monkeypatch.setitem(MIRRORS, mirror, _tampered(mirror, **changes))
    with pytest.raises(LiftbenchError, match=f"mirror {mirror} does not match OpenML") as err:
        load_mirror(mirror)
    assert expected in str(err.value)


def test_tampered_mirror_fails_the_task_with_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MIRRORS, "sklearn:load_wine", _tampered("sklearn:load_wine", classes=("1", "2", "4")))
    with pytest.raises(LiftbenchError, match=r"sklearn:load_wine .*liftbench data fetch --id 187"):
        load_task("wine")


def test_unknown_mirror_suggests_known_ones() -> None:
    with pytest.raises(LiftbenchError, match="did you mean: sklearn:load_iris"):
        mirrors.get_declaration("sklearn:load_irs")
