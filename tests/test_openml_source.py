"""The offline-safe OpenML source and `liftbench data`, against real openml cache folders.

The network is blocked for every test (connections anywhere but this machine raise). Fetching is
tested end to end against a local HTTP server that answers like the OpenML API, so openml-python's
real download code runs.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import openml
import pandas as pd
import pytest
from click.testing import CliRunner

from benchmark.commands.data import group as data_group
from tasks import openml_source, registry
from tasks.errors import LiftbenchError
from tasks.openml_source import OpenMLUnavailable
from tasks.spec import TaskSpec
from tests.openml_fixture import write_openml_cache

DID = 42
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x_real": [0.5, 1.25, np.nan, 3.0, -2.5, 7.75],
            "x_int": [10, 2000, 3, 400, 5, 6],
            "color": pd.Categorical(
                ["red", "blue", None, "red", "green", "blue"], categories=["red", "green", "blue"]
            ),
            "class": pd.Categorical(["b", "a", "c", "a", "b", "c"], categories=["c", "a", "b"]),
        }
    )


@pytest.fixture(autouse=True)
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list:
    """Block every connection that leaves this machine; collect the attempts."""
    attempts: list = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address) -> None:
        if isinstance(address, tuple) and address[0] in LOCAL_HOSTS:
            return real_connect(sock, address)
        attempts.append(address)
        raise OSError(f"network blocked in tests: {address}")

    def getaddrinfo(host, *args, **kwargs):
        if host in LOCAL_HOSTS:
            return real_getaddrinfo(host, *args, **kwargs)
        attempts.append(host)
        raise socket.gaierror(f"network blocked in tests: {host}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty cache root for this test; openml's global configuration is put back afterwards."""
    config = openml.config.get_config_as_dict()
    root = tmp_path / "openml-cache"
    monkeypatch.setenv(openml_source.CACHE_ENV_VAR, str(root))
    yield root
    openml.config.set_root_cache_directory(config["cachedir"])
    openml.config.set_retry_policy(config["retry_policy"], config["connection_n_retries"])


def file_bytes(folder: Path) -> dict[str, bytes]:
    """The folder's files other than openml's derived pickles."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith((".pkl", ".pkl.py3"))}


def test_fixture_writes_openml_layout_with_md5_and_missing_values(cache: Path) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    assert folder == cache / "org" / "openml" / "www" / "datasets" / str(DID)
    assert folder == openml_source.dataset_cache_dir(DID)
    assert sorted(p.name for p in folder.iterdir()) == ["dataset.arff", "description.xml", "features.xml"]
    arff_text = (folder / "dataset.arff").read_text()
    assert "@ATTRIBUTE class {c, a, b}" in arff_text and ",?," in arff_text
    assert openml_source.read_description(DID)["oml:md5_checksum"] == openml_source._file_md5(
        folder / "dataset.arff"
    )


def test_load_reads_the_cache_through_openml_with_no_network(cache: Path, network_attempts: list) -> None:
    write_openml_cache(cache, DID, sample_frame(), "class", name="tiny", version=3)
    assert openml_source.missing_cache_files(DID) == []

    table = openml_source.load_openml(DID)

    assert network_attempts == []
    assert (table.did, table.name, table.version, table.target) == (DID, "tiny", 3, "class")
    assert list(table.X.columns) == ["x_real", "x_int", "color"]
    assert table.X["x_real"].dtype == np.float64 and np.isnan(table.X["x_real"][2])
    assert pd.api.types.is_integer_dtype(table.X["x_int"])
    assert table.X["x_int"].tolist() == [10, 2000, 3, 400, 5, 6]
    assert isinstance(table.X["color"].dtype, pd.CategoricalDtype)
    assert list(table.X["color"].cat.categories) == ["red", "green", "blue"]
    assert pd.isna(table.X["color"][2])
    assert table.feature_types == {"x_real": "numeric", "x_int": "integer", "color": "categorical"}
    assert isinstance(table.y.dtype, pd.CategoricalDtype) and table.y.name == "class"
    assert table.target_categories == ("c", "a", "b")
    assert table.y.cat.codes.tolist() == [2, 1, 0, 1, 2, 0]
    assert table.md5 == openml_source._file_md5(table.cache_dir / "dataset.arff")
    assert len(table.sha256) == 64


def test_load_leaves_openml_configuration_and_environment_as_they_were(cache: Path) -> None:
    write_openml_cache(cache, DID, sample_frame(), "class")
    before = openml.config.get_config_as_dict()
    openml_source.load_openml(DID)
    assert openml.config.get_config_as_dict() == before
    assert "OPENML_SKIP_PARQUET" not in os.environ


def test_load_with_another_target_and_bad_targets(cache: Path) -> None:
    write_openml_cache(cache, DID, sample_frame(), "class", default_target=False)
    with pytest.raises(LiftbenchError, match="no default target attribute"):
        openml_source.load_openml(DID)
    table = openml_source.load_openml(DID, target="x_int")
    assert table.target_categories is None and table.y.tolist() == [10, 2000, 3, 400, 5, 6]
    assert "class" in table.X.columns and table.feature_types["class"] == "categorical"
    with pytest.raises(LiftbenchError, match=r"no usable column 'colour' \(did you mean: color\?\)"):
        openml_source.load_openml(DID, target="colour")


def test_missing_dataset_names_id_path_and_fetch_command(cache: Path, network_attempts: list) -> None:
    with pytest.raises(OpenMLUnavailable) as caught:
        openml_source.load_openml(7)
    message = str(caught.value)
    assert "\n" not in message
    assert "OpenML dataset 7" in message
    assert str(openml_source.dataset_cache_dir(7)) in message
    assert "`liftbench data fetch --id 7`" in message and "LIFTBENCH_OPENML_CACHE" in message
    assert "description.xml" in message and "dataset.arff" in message
    assert network_attempts == []


def test_partial_folder_is_reported_and_left_alone(cache: Path, network_attempts: list) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    (folder / "dataset.arff").unlink()
    kept = file_bytes(folder)
    assert openml_source.missing_cache_files(DID) == [f"dataset.arff (or dataset_{DID}.pq)"]
    with pytest.raises(OpenMLUnavailable, match=r"missing: dataset.arff \(or dataset_42.pq\)"):
        openml_source.load_openml(DID)
    (folder / "description.xml").write_text("<not xml")
    kept = file_bytes(folder)
    assert openml_source.missing_cache_files(DID)[0] == "description.xml (unreadable)"
    with pytest.raises(OpenMLUnavailable):
        openml_source.load_openml(DID)
    assert file_bytes(folder) == kept
    assert network_attempts == []


def test_parquet_file_serves_when_the_arff_is_absent(cache: Path) -> None:
    frame = sample_frame()
    folder = write_openml_cache(cache, DID, frame, "class")
    from_arff = openml_source.load_openml(DID)
    frame.to_parquet(folder / f"dataset_{DID}.pq")
    (folder / "dataset.arff").unlink()
    for derived in folder.glob("*.pkl*"):
        derived.unlink()
    assert openml_source.missing_cache_files(DID) == []
    table = openml_source.load_openml(DID)
    assert table.target_categories == ("c", "a", "b")
    assert table.feature_types == from_arff.feature_types
    pd.testing.assert_series_equal(table.X["x_real"], from_arff.X["x_real"])


def test_folder_survives_an_arff_that_does_not_parse(cache: Path) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    text = (folder / "dataset.arff").read_text()
    (folder / "dataset.arff").write_text(text.replace("@DATA", "@DATA\nnot,a,valid,row"))
    kept = file_bytes(folder)
    with pytest.raises(LiftbenchError) as caught:
        openml_source.load_openml(DID)
    assert not isinstance(caught.value, OpenMLUnavailable)
    assert "\n" not in str(caught.value) and "OpenML dataset 42" in str(caught.value)
    assert "liftbench data verify --id 42" in str(caught.value)
    assert file_bytes(folder) == kept


def _corrupt_description(folder: Path) -> None:
    (folder / "description.xml").write_text("<oml:data_set_description")


def test_failed_fetch_keeps_the_folder_and_says_so_in_one_line(cache: Path, network_attempts: list) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    _corrupt_description(folder)
    kept = file_bytes(folder)
    with pytest.raises(LiftbenchError) as caught:
        openml_source.fetch(DID, retries=1)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"could not fetch OpenML dataset {DID} into {folder}: ")
    assert "ConnectionError" in message and f"liftbench data fetch --id {DID}" in message
    assert network_attempts, "the fetch should have tried the network"
    assert file_bytes(folder) == kept
    assert list(folder.parent.iterdir()) == [folder], "the copy kept aside is cleaned up"


def test_failed_fetch_of_a_complete_folder_keeps_it_loadable(cache: Path) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    kept = file_bytes(folder)
    with pytest.raises(LiftbenchError, match="could not fetch OpenML dataset 42"):
        openml_source.fetch(DID, retries=1)  # the qualities file needs the server
    assert file_bytes(folder) == kept
    assert openml_source.load_openml(DID).name == "liftbench-fixture"


def test_failed_fetch_of_a_new_dataset_leaves_nothing_behind(cache: Path) -> None:
    with pytest.raises(LiftbenchError, match="could not fetch OpenML dataset 7 "):
        openml_source.fetch(7, retries=1)
    assert not openml_source.dataset_cache_dir(7).exists()
    assert not openml_source.manifest_path().exists()


def test_verify_passes_a_good_folder_and_detects_a_tampered_arff(cache: Path) -> None:
    folder = write_openml_cache(cache, DID, sample_frame(), "class")
    result = openml_source.verify(DID)
    assert result.ok, result.message
    assert "6 rows, 3 features" in result.message and "no liftbench fetch record" in result.message
    arff_path = folder / "dataset.arff"
    arff_path.write_text(arff_path.read_text().replace("0.5,10,", "0.6,10,"))
    result = openml_source.verify(DID)
    assert not result.ok
    assert "md5" in result.message and "liftbench data fetch --id 42" in result.message
    assert "\n" not in result.message


def test_verify_compares_the_table_checksum_with_the_fetch_record(cache: Path) -> None:
    write_openml_cache(cache, DID, sample_frame(), "class")
    sha = openml_source.load_openml(DID).sha256
    record = {"name": "liftbench-fixture", "version": 1, "fetched_at": "2024-01-01T00:00:00+00:00"}
    openml_source.manifest_path().write_text(json.dumps({str(DID): {**record, "table_sha256": sha}}))
    result = openml_source.verify(DID)
    assert result.ok and "matches the fetch record" in result.message
    openml_source.manifest_path().write_text(json.dumps({str(DID): {**record, "table_sha256": "0" * 64}}))
    result = openml_source.verify(DID)
    assert not result.ok and "differs from the one recorded at fetch" in result.message


def test_table_checksum_sees_values_and_class_order() -> None:
    frame = sample_frame()
    X, y = frame.drop(columns="class"), frame["class"]
    base = openml_source.table_sha256(X, y)
    assert openml_source.table_sha256(X.copy(), y.copy()) == base
    changed = X.copy()
    changed.loc[0, "x_real"] = 0.75
    assert openml_source.table_sha256(changed, y) != base
    assert openml_source.table_sha256(X, y.cat.reorder_categories(["a", "b", "c"])) != base


# --- fetch end to end, against a local server that answers like the OpenML API ---------------------

QUALITIES_XML = """<oml:data_qualities xmlns:oml="http://openml.org/openml">
  <oml:quality><oml:name>NumberOfInstances</oml:name><oml:value>6.0</oml:value></oml:quality>
</oml:data_qualities>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def openml_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Serve dataset 42 over HTTP on this machine, and point openml's server setting at it."""
    site = tmp_path / "site"
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    source = write_openml_cache(tmp_path / "server-files", DID, sample_frame(), "class")
    api = site / "api" / "v1" / "xml" / "data"
    (api / "features").mkdir(parents=True)
    (api / "qualities").mkdir()
    download = site / "data" / "v1" / "download" / str(DID)
    download.mkdir(parents=True)
    description = (source / "description.xml").read_text()
    description = re.sub(
        r"<oml:url>.*</oml:url>",
        f"<oml:url>{base}/data/v1/download/{DID}/fixture.arff</oml:url>",
        description,
    )
    (api / str(DID)).write_text(description)
    shutil.copy(source / "features.xml", api / "features" / str(DID))
    (api / "qualities" / str(DID)).write_text(QUALITIES_XML)
    shutil.copy(source / "dataset.arff", download / "fixture.arff")
    monkeypatch.setattr(openml.config, "server", f"{base}/api/v1/xml")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def test_fetch_downloads_through_openml_and_records_the_table(cache: Path, openml_server: str) -> None:
    folder = openml_source.fetch(DID, retries=1)
    assert folder == openml_source.dataset_cache_dir(DID) and folder.is_relative_to(cache)
    assert {"description.xml", "features.xml", "qualities.xml", "dataset.arff"} <= {
        p.name for p in folder.iterdir()
    }
    record = openml_source.read_manifest()[str(DID)]
    table = openml_source.load_openml(DID)
    assert record["table_sha256"] == table.sha256 and record["md5"] == table.md5
    assert (record["name"], record["version"], record["n_rows"], record["n_features"]) == (
        "liftbench-fixture",
        1,
        6,
        3,
    )
    result = openml_source.verify(DID)
    assert result.ok and "matches the fetch record" in result.message


def test_fetch_refuses_an_arff_that_does_not_match_its_md5(cache: Path, openml_server: str) -> None:
    folder = openml_source.dataset_cache_dir(DID)
    folder.mkdir(parents=True)
    (folder / "dataset.arff").write_text("@RELATION x\n@ATTRIBUTE a REAL\n@DATA\n1.0\n")
    with pytest.raises(LiftbenchError, match="md5 .* but its description records"):
        openml_source.fetch(DID, retries=1)
    assert (folder / "dataset.arff").read_text().startswith("@RELATION x")


# --- the `liftbench data` commands --------------------------------------------------------------------


def test_cli_where_lists_the_cache(cache: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(data_group, ["where"])
    assert result.exit_code == 0 and str(cache) in result.output and "no datasets cached" in result.output
    write_openml_cache(cache, DID, sample_frame(), "class", name="tiny", version=2)
    partial = write_openml_cache(cache, 43, sample_frame(), "class")
    (partial / "dataset.arff").unlink()
    result = runner.invoke(data_group, ["where"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"cache root: {cache}"
    assert "42  tiny v2  (complete)" in lines[1]
    assert "43  liftbench-fixture v1  (incomplete, missing dataset.arff" in lines[2]


def test_cli_verify_reports_each_dataset_and_fails_on_any(cache: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(data_group, ["verify"])
    assert result.exit_code == 0 and "no datasets in the cache" in result.output
    write_openml_cache(cache, DID, sample_frame(), "class")
    result = runner.invoke(data_group, ["verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK   42: liftbench-fixture v1, 6 rows, 3 features")
    bad = write_openml_cache(cache, 43, sample_frame(), "class")
    (bad / "dataset.arff").write_text((bad / "dataset.arff").read_text() + "0.1,1,red,a\n")
    result = runner.invoke(data_group, ["verify"])
    assert result.exit_code == 1
    assert "OK   42:" in result.output and "FAIL 43:" in result.output and "md5" in result.output
    assert "1 of 2 datasets OK" in result.output
    assert runner.invoke(data_group, ["verify", "--id", "42"]).exit_code == 0
    result = runner.invoke(data_group, ["verify", "--id", "7"])
    assert result.exit_code == 1 and "FAIL 7: missing description.xml" in result.output


def test_cli_fetch_needs_ids_and_reports_failures_per_dataset(cache: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(data_group, ["fetch"])
    assert isinstance(result.exception, LiftbenchError) and "nothing to fetch" in str(result.exception)
    result = runner.invoke(data_group, ["fetch", "--id", "7", "--id", "8", "--retries", "1"])
    assert isinstance(result.exception, LiftbenchError)
    assert "2 of 2 datasets could not be fetched (7, 8)" in str(result.exception)
    assert "[1/2] dataset 7: FAILED could not fetch OpenML dataset 7" in result.output
    assert "[2/2] dataset 8: FAILED" in result.output and f"cache: {cache}" in result.output


def test_cli_fetch_a_suite_through_the_server(
    cache: Path, openml_server: str, request: pytest.FixtureRequest
) -> None:
    for name, did in (("data-cli-test-openml", DID), ("data-cli-test-synthetic", None)):
        spec = TaskSpec(
            name=name,
            kind="classification",
            source="openml" if did else "synthetic",
            loader=lambda: None,
            openml_id=did,
            suites=("data-cli-test-suite",),
        )
        registry.register(spec)
        request.addfinalizer(lambda name=name: registry.TASKS.unregister(name))
    result = CliRunner().invoke(data_group, ["fetch", "--suite", "data-cli-test-suite", "--retries", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "[1/1] dataset 42: liftbench-fixture v1, 6 rows, 3 features",
        f"cache: {cache}",
    ]
