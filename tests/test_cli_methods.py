"""`liftbench methods list|show` through the real CLI entry point."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.core.methods import method_entries


def test_list_shows_every_method_with_its_kinds(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[:-1]}
    assert rows["logreg"] == "classification" and rows["gp"] == "regression"
    assert rows["knn"] == "classification/regression" and rows["lift"] == "classification/regression"
    assert f"{len(method_entries())} methods" in out


def test_verbose_list_for_a_kind_gives_defaults_and_the_papers_grids(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "list", "--kind", "regression", "-v"]) == 0
    out = capsys.readouterr().out
    assert "logreg" not in out and "grid (regression): n_neighbors [2, 5, 8]" in out
    assert "grid (classification)" not in out
    assert "lora_r=8" in out and 'serializer="lift"' in out


def test_show_gives_parameters_and_grids_per_kind(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "show", "svm"]) == 0
    out = capsys.readouterr().out
    assert 'grid (classification): kernel ["linear", "rbf"], C [1, 10, 100]' in out
    assert "parameters: grid=null, params=null, scale=null" in out


def test_unknown_method_is_one_line_with_a_suggestion(capsys: pytest.CaptureFixture) -> None:
    assert main(["methods", "show", "logre"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean: logreg" in err[0]
