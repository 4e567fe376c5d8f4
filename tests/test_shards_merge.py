"""Spreading a suite over machines: `--shard I/N`, `results merge`, and the smoke options `--set` and
`--limit-rows`, through the real CLI with real SQLite stores."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.core.rows import prepare_rows, rows_for_spec
from benchmark.core.runspec import RunSpec
from benchmark.harness.merge import merge_stores
from benchmark.harness.store import ResultStore
from benchmark.harness.suites import load_suite
from benchmark.harness.suites.overrides import apply_overrides, parse_override, with_row_limit
from benchmark.harness.suites.shards import Shard, parse_shard, shard_runs
from tasks.errors import LiftbenchError

SUITE = """\
name: sharded
blocks:
  - tasks: [iris, {name: moons, params: {n: 120}}]
    methods: [majority, logreg, tree]
    split_seeds: [0, 1]
"""


def _run(*args: str) -> int:
    return main(["run", *args, "--wandb", "disabled"])


def _results(store: Path) -> dict[str, tuple]:
    """Every run of a store: its status, metrics and prediction rows (what a merge must keep)."""
    out = {}
    with ResultStore(store) as opened:
        for run_hash in opened.runs()["run_hash"]:
            record = opened.get_run(run_hash)
            rows = opened.predictions(run_hash).drop(columns=["proba"]).to_json()
            out[run_hash] = (record.status, json.dumps(record.metrics, sort_keys=True), record.spec, rows)
    return out


def test_three_shards_merged_equal_one_unsharded_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = tmp_path / "sharded.yaml"
    suite.write_text(SUITE)
    whole = tmp_path / "whole.sqlite"
    assert _run("--suite", str(suite), "--store", str(whole)) == 0
    shards = [tmp_path / f"shard{i}.sqlite" for i in (1, 2, 3)]
    for i, store in enumerate(shards, start=1):
        assert _run("--suite", str(suite), "--store", str(store), "--shard", f"{i}/3") == 0
    counts = [len(ResultStore(store).runs()) for store in shards]
    assert counts == [4, 4, 4]  # 12 runs dealt evenly, none twice
    merged = tmp_path / "merged.sqlite"
    capsys.readouterr()
    assert main(["results", "merge", *map(str, shards), "--into", str(merged)]) == 0
    assert "12 runs added" in capsys.readouterr().out
    assert _results(merged) == _results(whole)
    # Merging a shard again keeps every run once; resuming a shard against its store runs nothing.
    assert main(["results", "merge", str(shards[0]), "--into", str(merged)]) == 0
    assert "0 runs added, 4 already there with the same result" in capsys.readouterr().out
    assert _run("--suite", str(suite), "--store", str(shards[1]), "--shard", "2/3") == 0
    assert "0 runs done (0 failed), 4 were already stored" in capsys.readouterr().out


def test_a_conflicting_result_is_reported_and_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = tmp_path / "sharded.yaml"
    suite.write_text(SUITE)
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    for store in (first, second):
        assert _run("--suite", str(suite), "--store", str(store), "--filter", "task=iris") == 0
    victim = ResultStore(first).runs(method="logreg")["run_hash"].iloc[0]
    with sqlite3.connect(second) as conn:  # the same run came back with another answer for one row
        conn.execute(
            "UPDATE predictions SET y_pred = (y_pred + 1) % 3 WHERE run_hash = ? AND row_index ="
            " (SELECT MIN(row_index) FROM predictions WHERE run_hash = ?)",
            (victim, victim),
        )
    before = _results(first)
    capsys.readouterr()
    assert main(["results", "merge", str(second), "--into", str(first)]) == 2
    err = capsys.readouterr().err
    assert f"conflict {victim}: {second} holds another result (predictions)" in err
    assert "1 runs hold different results" in err
    assert _results(first) == before  # the target kept its own
    report = merge_stores([second], first)
    assert [c.run_hash for c in report.conflicts] == [victim] and report.same == 5


def test_an_ok_result_replaces_a_failed_one_and_not_the_reverse(tmp_path: Path) -> None:
    suite = tmp_path / "sharded.yaml"
    suite.write_text(SUITE)
    ok, failed = tmp_path / "ok.sqlite", tmp_path / "failed.sqlite"
    for store in (ok, failed):
        assert _run("--suite", str(suite), "--store", str(store), "--filter", "task=iris,split_seed=0") == 0
    with sqlite3.connect(failed) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM predictions")
        conn.execute("UPDATE runs SET status = 'failed', error = 'RuntimeError: out of memory'")
    kept = merge_stores([failed], ok)
    assert (kept.kept, kept.added, kept.conflicts) == (3, 0, [])
    target = tmp_path / "target.sqlite"
    merge_stores([failed], target)
    replaced = merge_stores([ok], target)
    assert replaced.replaced == 3
    assert _results(target) == _results(ok)


def test_merge_refuses_missing_stores_and_merging_into_a_source(tmp_path: Path) -> None:
    with pytest.raises(LiftbenchError, match="does not exist"):
        merge_stores([tmp_path / "nope.sqlite"], tmp_path / "c.sqlite")
    store = tmp_path / "a.sqlite"
    ResultStore(store).close()
    with pytest.raises(LiftbenchError, match="is also the target"):
        merge_stores([store], store)


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", "-1/2"])
def test_bad_shards_are_one_line_errors(text: str) -> None:
    with pytest.raises(LiftbenchError, match="is not I/N"):
        parse_shard(text)


def test_shards_deal_every_run_once_in_order() -> None:
    runs = load_suite("study-accuracy").expand()
    dealt = [shard_runs(runs, Shard(i, 4)) for i in range(1, 5)]
    assert sorted(s.hash for part in dealt for s in part) == sorted(s.hash for s in runs)
    assert max(map(len, dealt)) - min(map(len, dealt)) <= 1
    assert parse_shard(" 2 / 4 ") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"


def test_overrides_change_the_runs_of_their_method_and_their_hashes() -> None:
    runs = load_suite("paper-two-stage").expand()[:6]
    baseline = RunSpec(task="iris", method="logreg")
    defaults = {"lift": {"model": None, "epochs": 5, "serializer": "lift"}, "logreg": {"C": 1.0}}
    changed = apply_overrides(
        [*runs, baseline],
        [parse_override("lift.model=tiny-gpt2"), parse_override("lift.epochs=1")],
        defaults,
    )
    assert changed[-1] == baseline  # another method's runs are untouched
    lifted = changed[:-1]
    assert {s.model for s in lifted} == {"tiny-gpt2"}  # the models axis is replaced where the suite sets it
    assert {s.method_params["epochs"] for s in lifted} == {1}
    assert len(lifted) == 3  # the two models of each arm became one run
    assert not {s.hash for s in lifted} & {s.hash for s in runs}
    assert parse_override("lift.lr=1e-4").value == 1e-4
    assert parse_override("lift.target_modules=[q_proj, v_proj]").value == ["q_proj", "v_proj"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("epochs=1", "is not METHOD.KEY=VALUE"),
        ("lift.epochs", "is not METHOD.KEY=VALUE"),
        ("lfit.epochs=1", "unknown method 'lfit' (did you mean: lift?)"),
        ("lift.epoch=1", "has no parameter 'epoch' (did you mean: epochs?)"),
        ("lift.epochs=[1", "not valid YAML"),
    ],
)
def test_bad_overrides_are_one_line_errors(text: str, problem: str) -> None:
    with pytest.raises(
        LiftbenchError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        apply_overrides([], [parse_override(text)], {"lift": {"epochs": 5}})


def test_row_limit_caps_every_split_stratified_and_is_rebuilt_the_same() -> None:
    spec = RunSpec(task="wine", method="logreg", split_seed=1)
    (limited,) = with_row_limit([spec], 20)
    assert limited.row_limit == 20 and limited.hash != spec.hash
    rows = rows_for_spec(limited)
    sizes = rows.split.sizes()
    assert sizes == {"train": 20, "val": 20, "test": 20}
    full = rows_for_spec(spec).split
    for part in ("train", "val", "test"):
        assert set(getattr(rows.split, part)) <= set(getattr(full, part))
        assert set(rows.y[getattr(rows.split, part)]) == {0, 1, 2}  # every class kept
    again = prepare_rows("wine", {}, split_seed=1, split_protocol="default", row_limit=20)
    assert again.split == rows.split
    small = rows_for_spec(RunSpec(task="iris", method="logreg", row_limit=500))
    assert small.split.sizes() == rows_for_spec(RunSpec(task="iris", method="logreg")).split.sizes()


def test_row_limit_makes_evaluation_sets_coarser() -> None:
    spec = RunSpec(task="moons", task_params={"n": 200}, method="logreg", evaluations=["grid"], row_limit=50)
    grid = rows_for_spec(spec).evaluation_rows["grid"]
    assert len(grid.X) == 49 and grid.meta["shape"] == [7, 7]
    line = RunSpec(task="linear", task_params={"p": 1}, method="poly", evaluations=["line"], row_limit=30)
    assert len(rows_for_spec(line).evaluation_rows["line"].X) == 30


def test_cli_smoke_options_are_recorded_in_each_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "s.sqlite"
    args = ["--suite", "smoke", "--store", str(store), "--filter", "task=iris"]
    assert _run(*args, "--limit-rows", "15", "--set", "logreg.params={C: 10}") == 0
    stored = ResultStore(store).runs()
    assert len(stored) == 3
    specs = [ResultStore(store).get_run(h).spec for h in stored["run_hash"]]
    assert {s["row_limit"] for s in specs} == {15}
    assert [s["method_params"] for s in specs if s["method"] == "logreg"] == [{"params": {"C": 10}}]
    sizes = [ResultStore(store).get_run(h).provenance["split_sizes"] for h in stored["run_hash"]]
    assert sizes == [{"train": 15, "val": 15, "test": 15}] * 3
    capsys.readouterr()
    assert _run(*args, "--dry-run") == 0  # the real runs are not the smoke runs
    assert "3 runs in suite smoke: 0 stored, 3 to run" in capsys.readouterr().out
    assert np.all(stored["status"] == "ok")
