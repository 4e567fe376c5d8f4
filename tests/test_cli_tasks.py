"""`liftbench tasks list|show|check` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from tests.openml_fixture import write_openml_cache


def test_list_filters_by_suite_and_kind(capsys: pytest.CaptureFixture) -> None:
    assert main(["tasks", "list", "--suite", "lift14"]) == 0
    out = capsys.readouterr().out
    assert "14 tasks" in out and "plants-texture" in out and "moons" not in out
    assert main(["tasks", "list", "--kind", "regression"]) == 0
    out = capsys.readouterr().out
    assert "quadratic" in out and "iris" not in out


def test_list_reports_offline_availability(capsys: pytest.CaptureFixture) -> None:
    main(["tasks", "list"])
    rows = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[2:-1]}
    assert rows["moons"] == "generator"
    assert rows["iris"] == "sklearn-mirror"
    assert rows["spambase"] == "keel-mirror"
    assert rows["hill-valley"] == "no"


def test_show_loads_with_parameters(capsys: pytest.CaptureFixture) -> None:
    assert main(["tasks", "show", "moons", "--param", "n=300", "--param", "noise=0.2"]) == 0
    out = capsys.readouterr().out
    assert "300 rows x 2 features; 2 classes" in out
    assert "192/48/60" in out  # the paper's 64/16/20 split
    assert "checksum:" in out


def test_show_explains_an_unavailable_task(capsys: pytest.CaptureFixture) -> None:
    assert main(["tasks", "show", "hill-valley"]) == 0
    out = capsys.readouterr().out
    assert "unavailable" in out and "liftbench data fetch --id 1479" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tasks", "show", "mooons"], "did you mean: moons"),
        (["tasks", "show", "moons", "--param", "n=-3"], "'n'"),
        (["tasks", "show", "moons", "--param", "noise=abc"], "noise"),
        (["tasks", "show", "moons", "--param", "wiggle=1"], "no parameter 'wiggle'"),
        (["tasks", "show", "moons", "--param", "n"], "KEY=VALUE"),
        (["tasks", "list", "--suite", "lift15"], "did you mean: lift14"),
        (
            ["tasks", "show", "file", "--param", "path=/nonexistent.csv", "--param", "target=y"],
            "nonexistent.csv",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture, args: list[str], expected: str
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_check_loads_offline_tasks_and_explains_the_rest(capsys: pytest.CaptureFixture) -> None:
    assert main(["tasks", "check"]) == 0
    out = capsys.readouterr().out
    table = {line.split()[0] for line in out.split("\n\n")[0].splitlines()[2:]}
    for name in ("iris", "wine", "breast-cancer-wisconsin", "gaussian9", "blobs", "circles", "moons"):
        assert name in table
    for name in ("two-circles", "rolls", "nn-teacher", "linear", "piecewise", "rolling"):
        assert name in table
    assert "`liftbench data fetch --id 1479`" in out
    assert "tasks loaded offline, 14 of them real datasets" in out


def test_check_uses_the_openml_cache_when_it_holds_a_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("LIFTBENCH_OPENML_CACHE", str(tmp_path))
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 10, "Class": ["1", "2"] * 20})
    write_openml_cache(tmp_path, 882, frame, "Class", name="pollution")
    assert main(["tasks", "check", "--suite", "lift14"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("pollution"))
    assert "openml-cache" in row and "40" in row
