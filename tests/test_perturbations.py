"""Perturbations: each changes exactly the rows it should, reproducibly, and never the cached input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from benchmark.cli import main
from benchmark.core.runspec import RunSpec
from benchmark.harness.checks import check_runs
from benchmark.harness.execute import execute_run
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError
from tasks.perturbations import PERTURBATIONS, make_perturbation
from tasks.registry import load_task
from tasks.spec import TaskData
from tasks.splits import Split, make_split


@pytest.fixture(scope="module")
def moons() -> tuple[TaskData, Split]:
    data = load_task("moons", n=200, seed=0)
    return data, make_split(data, seed=0)


@pytest.fixture(scope="module")
def linear() -> tuple[TaskData, Split]:
    data = load_task("linear", n_train=60, n_val=20, n_test=20, seed=0)
    return data, make_split(data)


@pytest.fixture
def mixed() -> tuple[TaskData, Split]:
    """A hand-made table with a numeric, an integer and a categorical feature (one value missing)."""
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame(
        {
            "height": rng.normal(170.0, 10.0, n),
            "count": rng.integers(0, 20, n),
            "colour": pd.Series(rng.choice(["red", "blue"], n), dtype="category"),
        }
    )
    X.loc[5, "height"] = np.nan
    data = TaskData(
        name="mixed",
        kind="classification",
        X=X,
        y=pd.Series(rng.integers(0, 3, n), name="y"),
        feature_types={"height": "numeric", "count": "integer", "colour": "categorical"},
        classes=("a", "b", "c"),
        source="synthetic",
    )
    return data, Split(np.arange(0, 40), np.arange(40, 50), np.arange(50, 60), "default", 0)


def _snapshot(data: TaskData) -> tuple[pd.DataFrame, pd.Series, dict, str]:
    return data.X.copy(), data.y.copy(), dict(data.feature_types), data.checksum


def _assert_unchanged(data: TaskData, snapshot: tuple[pd.DataFrame, pd.Series, dict, str]) -> None:
    X, y, types, checksum = snapshot
    pd.testing.assert_frame_equal(data.X, X)
    pd.testing.assert_series_equal(data.y, y)
    assert data.feature_types == types and data.checksum == checksum


def _rows_equal(a: TaskData, b: TaskData, rows: np.ndarray) -> bool:
    return a.X.iloc[rows].equals(b.X.iloc[rows]) and np.array_equal(
        a.y.to_numpy()[rows], b.y.to_numpy()[rows]
    )


def test_registry_holds_the_papers_perturbations() -> None:
    expected = {"feature-noise", "label-corruption", "outliers", "irrelevant-features"}
    expected |= {"permute-feature-order", "shuffle-feature-names", "adversarial", "compose"}
    assert expected <= set(PERTURBATIONS)
    applies = {name: cls.applies_to for name, cls in PERTURBATIONS.items().items() if name != "compose"}
    assert applies["feature-noise"] == applies["adversarial"] == "test"
    assert applies["label-corruption"] == applies["outliers"] == "train"
    assert applies["irrelevant-features"] == applies["shuffle-feature-names"] == "all"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("feature-nois", {}, "unknown perturbation 'feature-nois' (did you mean: feature-noise"),
        ("feature-noise", {"scal": 0.5}, "has no parameter 'scal' (did you mean: scale"),
        ("feature-noise", {"kind": "gausian"}, "one of gaussian, uniform, sign (did you mean: gaussian"),
        ("feature-noise", {"scale": -1}, "'scale': -1 is invalid"),
        ("feature-noise", {"scale": True}, "'scale': True is invalid"),
        ("label-corruption", {"fraction": 1.5}, "<= 1"),
        ("outliers", {"mode": "insert"}, "one of append, replace"),
        ("irrelevant-features", {"n": 0}, "an integer >= 1"),
        ("adversarial", {"step_size": 0}, "a number > 0"),
        ("compose", {}, "needs parameter 'steps'"),
        ("compose", {"steps": [{"name": "outlier"}]}, "steps[0]: unknown perturbation 'outlier'"),
        ("compose", {"steps": "outliers"}, "'steps': 'outliers' is invalid"),
    ],
)
def test_bad_names_and_params_are_one_line_errors(name: str, params: dict, message: str) -> None:
    with pytest.raises(LiftbenchError) as err:
        make_perturbation(name, params)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "sign"])
def test_feature_noise_changes_only_test_features(moons: tuple[TaskData, Split], kind: str) -> None:
    data, split = moons
    before = _snapshot(data)
    out = make_perturbation("feature-noise", {"kind": kind, "scale": 0.5}).apply(data, split, seed=1)
    _assert_unchanged(data, before)
    assert out.split is split
    assert _rows_equal(out.data, data, np.concatenate([split.train, split.val]))
    pd.testing.assert_series_equal(out.data.y, data.y)
    change = (out.data.X.iloc[split.test] - data.X.iloc[split.test]).to_numpy()
    std = data.X.iloc[split.train].to_numpy().std(axis=0)
    relative = change / std
    assert (np.abs(relative) > 0).all()
    if kind == "sign":
        np.testing.assert_allclose(np.abs(relative), 0.5)
    if kind == "uniform":
        assert np.abs(relative).max() <= 0.5
    assert out.report["rows"] == split.test.size
    assert out.report["realised_noise_std"] == pytest.approx(np.std(relative))


def test_feature_noise_scale_is_relative_to_training_std(moons: tuple[TaskData, Split]) -> None:
    data, split = moons
    out = make_perturbation("feature-noise", {"scale": 2.0, "features": ["x2"]}).apply(data, split, seed=0)
    assert out.data.X["x1"].equals(data.X["x1"])
    realised = out.report["realised_noise_std"]
    assert 1.4 < realised < 2.6  # 40 draws of N(0, 2^2), in units of x2's training std


def test_feature_noise_keeps_integers_skips_categories_and_missing(mixed: tuple[TaskData, Split]) -> None:
    data, split = mixed
    before = _snapshot(data)
    out = make_perturbation("feature-noise", {"kind": "sign", "scale": 0.3, "clip": True}).apply(
        data, split, 4
    )
    _assert_unchanged(data, before)
    X = out.data.X
    assert X["count"].dtype == data.X["count"].dtype
    assert X["colour"].equals(data.X["colour"])
    assert not X["height"].iloc[split.test].equals(data.X["height"].iloc[split.test])
    train = data.X.iloc[split.train]
    assert X["count"].iloc[split.test].between(train["count"].min(), train["count"].max()).all()
    assert np.isnan(X.loc[5, "height"])  # a training row: untouched


def test_feature_noise_errors_name_the_feature(mixed: tuple[TaskData, Split]) -> None:
    data, split = mixed
    with pytest.raises(LiftbenchError, match="feature 'colour' .* is categorical"):
        make_perturbation("feature-noise", {"features": ["colour"]}).apply(data, split, 0)
    with pytest.raises(LiftbenchError, match="no feature 'heigth' \\(did you mean: height"):
        make_perturbation("feature-noise", {"features": ["heigth"]}).check(data)


@pytest.mark.parametrize("mode", ["random", "systematic"])
def test_label_corruption_flips_exactly_the_requested_training_labels(
    moons: tuple[TaskData, Split], mode: str
) -> None:
    data, split = moons
    before = _snapshot(data)
    out = make_perturbation("label-corruption", {"fraction": 0.15, "mode": mode}).apply(data, split, 2)
    _assert_unchanged(data, before)
    y0, y1 = data.y.to_numpy(), out.data.y.to_numpy()
    flipped = np.flatnonzero(y0 != y1)
    assert flipped.size == round(0.15 * split.train.size) == out.report["flipped"]
    assert np.isin(flipped, split.train).all()  # never validation or test labels
    pd.testing.assert_frame_equal(out.data.X, data.X)
    if mode == "systematic":
        np.testing.assert_array_equal(y1[flipped], (y0[flipped] + 1) % 2)


def test_label_corruption_can_flip_the_first_row_and_spreads_over_other_classes() -> None:
    data = load_task("gaussian9", n=450, seed=1)
    split = make_split(data, seed=0)
    y0 = data.y.to_numpy()
    everything = make_perturbation("label-corruption", {"fraction": 1.0}).apply(data, split, 0)
    y1 = everything.data.y.to_numpy()
    assert (y1[split.train] != y0[split.train]).all()  # the first training row too (the paper skipped it)
    shift = (y1[split.train] - y0[split.train]) % 9
    assert set(shift) == set(range(1, 9))  # uniform over the 8 other classes
    systematic = make_perturbation("label-corruption", {"fraction": 1.0, "mode": "systematic"})
    y2 = systematic.apply(data, split, 0).data.y.to_numpy()
    np.testing.assert_array_equal(y2[split.train], (y0[split.train] + 1) % 9)
    first = [
        make_perturbation("label-corruption", {"fraction": 0.1}).apply(data, split, s) for s in range(40)
    ]
    assert any(p.data.y.iloc[split.train[0]] != y0[split.train[0]] for p in first)


def test_label_corruption_needs_classification(linear: tuple[TaskData, Split]) -> None:
    with pytest.raises(LiftbenchError, match="applies to classification tasks; task 'linear' is regression"):
        make_perturbation("label-corruption").check(linear[0])


def test_outliers_append_to_train_only(linear: tuple[TaskData, Split]) -> None:
    data, split = linear
    before = _snapshot(data)
    out = make_perturbation("outliers", {"fraction": 0.1}).apply(data, split, 3)
    _assert_unchanged(data, before)
    n_out = round(0.1 * split.train.size)
    assert out.report["outliers"] == n_out and out.data.n_rows == data.n_rows + n_out
    new_rows = np.arange(data.n_rows, data.n_rows + n_out)
    np.testing.assert_array_equal(out.split.train, np.concatenate([split.train, new_rows]))
    np.testing.assert_array_equal(out.split.val, split.val)
    np.testing.assert_array_equal(out.split.test, split.test)
    assert _rows_equal(out.data, data, np.arange(data.n_rows))
    train = data.X.iloc[split.train]["x1"]
    assert out.data.X["x1"].iloc[new_rows].between(train.min(), train.max()).all()
    assert (out.data.y.iloc[new_rows] >= 0).all()


def test_outliers_follow_the_papers_scale_and_can_replace(linear: tuple[TaskData, Split]) -> None:
    data, split = linear
    many = make_perturbation("outliers", {"fraction": 1.0}).apply(data, split, 0)
    y_out = many.data.y.iloc[data.n_rows :].to_numpy()
    assert abs(y_out.mean() - 20 * np.sqrt(2 / np.pi)) < 5  # |N(0, 20^2)|: mean 15.96, sd of mean 1.6
    replaced = make_perturbation("outliers", {"fraction": 0.25, "mode": "replace"}).apply(data, split, 0)
    assert replaced.split.train.size == split.train.size
    gone = np.setdiff1d(split.train, replaced.split.train)
    assert gone.size == round(0.25 * split.train.size)
    assert (replaced.split.train >= data.n_rows).sum() == gone.size


def test_irrelevant_features_add_noise_columns(mixed: tuple[TaskData, Split]) -> None:
    data, split = mixed
    before = _snapshot(data)
    out = make_perturbation("irrelevant-features", {"n": 3, "distribution": "uniform"}).apply(data, split, 0)
    _assert_unchanged(data, before)
    assert list(out.data.X.columns) == ["height", "count", "colour", "noise1", "noise2", "noise3"]
    pd.testing.assert_frame_equal(out.data.X[list(data.X.columns)], data.X)
    assert out.data.X[["noise1", "noise2", "noise3"]].stack().between(0, 1).all()
    assert out.data.feature_types["noise2"] == "numeric"
    with pytest.raises(LiftbenchError, match="already has a column named 'noise1'"):
        make_perturbation("irrelevant-features").apply(out.data, split, 0)


def test_permute_feature_order_moves_columns_with_their_values(mixed: tuple[TaskData, Split]) -> None:
    data, split = mixed
    before = _snapshot(data)
    out = make_perturbation("permute-feature-order").apply(data, split, 5)
    _assert_unchanged(data, before)
    columns = list(out.data.X.columns)
    assert sorted(columns) == sorted(data.X.columns) and columns != list(data.X.columns)
    pd.testing.assert_frame_equal(out.data.X[list(data.X.columns)], data.X)
    assert list(out.data.feature_types) == columns
    assert all(out.data.feature_types[c] == data.feature_types[c] for c in columns)


def test_shuffle_feature_names_keeps_values_and_misnames_every_column(mixed: tuple[TaskData, Split]) -> None:
    data, split = mixed
    before = _snapshot(data)
    for seed in range(5):
        out = make_perturbation("shuffle-feature-names").apply(data, split, seed)
        _assert_unchanged(data, before)
        names = list(out.data.X.columns)
        assert sorted(names) == sorted(data.X.columns)
        assert all(new != old for new, old in zip(names, data.X.columns, strict=True))
        for position, name in enumerate(names):
            assert out.data.X[name].equals(data.X.iloc[:, position].rename(name))
            assert out.data.feature_types[name] == data.feature_types[data.X.columns[position]]
        assert out.report["values_of"] == dict(zip(names, data.X.columns, strict=True))


def test_column_perturbations_need_two_features(linear: tuple[TaskData, Split]) -> None:
    with pytest.raises(LiftbenchError, match="has 1 feature; it needs 2 or more"):
        make_perturbation("shuffle-feature-names").check(linear[0])


def test_adversarial_raises_the_surrogate_loss_within_the_budget(moons: tuple[TaskData, Split]) -> None:
    data, split = moons
    before = _snapshot(data)
    epsilon = 0.4
    out = make_perturbation("adversarial", {"epsilon": epsilon}).apply(data, split, 0)
    _assert_unchanged(data, before)
    report = out.report
    assert report["surrogate_loss_adversarial"] > 10 * report["surrogate_loss_clean"]
    assert _rows_equal(out.data, data, np.concatenate([split.train, split.val]))
    pd.testing.assert_series_equal(out.data.y, data.y)
    std = data.X.iloc[split.train].to_numpy().std(axis=0)
    relative = np.abs((out.data.X.iloc[split.test] - data.X.iloc[split.test]).to_numpy()) / std
    assert relative.max() <= epsilon * (1 + 1e-6)
    assert relative.max() > 0.9 * epsilon
    # The attack transfers: a classifier the attack never saw does worse on the attacked rows.
    model = LogisticRegression().fit(data.X.iloc[split.train], data.y.iloc[split.train])
    y_test = data.y.iloc[split.test]
    clean = model.score(data.X.iloc[split.test], y_test)
    attacked = model.score(out.data.X.iloc[split.test], y_test)
    assert attacked < clean


def test_adversarial_on_integer_and_regression_features_keeps_the_budget(
    mixed: tuple[TaskData, Split], linear: tuple[TaskData, Split]
) -> None:
    data, split = mixed
    params = {"epsilon": 0.5, "surrogate_steps": 50, "clip": True}
    out = make_perturbation("adversarial", params).apply(data, split, 1)
    X = out.data.X
    assert X["count"].dtype == data.X["count"].dtype and X["colour"].equals(data.X["colour"])
    std = data.X["count"].iloc[split.train].std(ddof=0)
    assert (np.abs(X["count"] - data.X["count"]) <= 0.5 * std).all()
    data, split = linear
    out = make_perturbation("adversarial", {"epsilon": 0.3, "surrogate_steps": 100}).apply(data, split, 1)
    assert out.report["surrogate_loss_adversarial"] > out.report["surrogate_loss_clean"]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("feature-noise", {}),
        ("label-corruption", {"fraction": 0.3}),
        ("irrelevant-features", {}),
        ("permute-feature-order", {}),
        ("shuffle-feature-names", {}),
        ("adversarial", {"surrogate_steps": 30, "steps": 5}),
    ],
)
def test_same_seed_same_rows_other_seed_other_rows(
    moons: tuple[TaskData, Split], name: str, params: dict
) -> None:
    data, split = moons
    first, second = (make_perturbation(name, params).apply(data, split, 7) for _ in range(2))
    assert first.data.checksum == second.data.checksum and first.report == second.report
    if name not in ("permute-feature-order", "shuffle-feature-names"):  # 2 columns: one other order
        assert make_perturbation(name, params).apply(data, split, 8).data.checksum != first.data.checksum


def test_compose_applies_steps_in_order(moons: tuple[TaskData, Split]) -> None:
    data, split = moons
    before = _snapshot(data)
    steps = [
        {"name": "label-corruption", "params": {"fraction": 0.2, "mode": "systematic"}},
        "feature-noise",
    ]
    composed = make_perturbation("compose", {"steps": steps})
    assert composed.applies_to == "all" and composed.kinds == ("classification",)
    out = composed.apply(data, split, 3)
    _assert_unchanged(data, before)
    assert [step["name"] for step in out.report["steps"]] == ["label-corruption", "feature-noise"]
    assert (out.data.y != data.y).sum() == out.report["steps"][0]["flipped"] == round(0.2 * split.train.size)
    assert not out.data.X.iloc[split.test].equals(data.X.iloc[split.test])
    assert out.data.X.iloc[split.train].equals(data.X.iloc[split.train])


def test_runner_applies_the_perturbation_and_records_it() -> None:
    clean = RunSpec(task="moons", task_params={"n": 200}, method="logreg")
    corrupted = RunSpec(
        task="moons",
        task_params={"n": 200},
        method="logreg",
        perturbation={"name": "label-corruption", "params": {"fraction": 0.4, "mode": "systematic"}},
    )
    check_runs([clean, corrupted])
    a, b = execute_run(clean), execute_run(corrupted)
    prov = b.record.provenance
    n_train = a.record.provenance["split_sizes"]["train"]
    assert prov["perturbation"]["report"]["flipped"] == round(0.4 * n_train)
    assert (
        prov["perturbation"]["name"] == "label-corruption" and prov["perturbation"]["applies_to"] == "train"
    )
    assert prov["data_checksum"] == a.record.provenance["data_checksum"]
    assert prov["perturbation"]["data_checksum"] != prov["data_checksum"]
    assert "perturbation" not in a.record.provenance
    # 40 % of the training labels systematically swapped: logistic regression learns much less.
    assert b.record.metrics["accuracy"] < a.record.metrics["accuracy"] - 0.1
    assert execute_run(corrupted).record.metrics == b.record.metrics


def test_outlier_runs_fit_on_the_appended_rows() -> None:
    spec = RunSpec(
        task="linear",
        task_params={"n_train": 60, "n_val": 20, "n_test": 20},
        method="knn",
        perturbation={"name": "outliers", "params": {"fraction": 0.2}},
    )
    check_runs([spec])
    result = execute_run(spec)
    sizes = result.record.provenance["perturbation"]["split_sizes"]
    assert sizes["train"] == 60 + 12 and result.record.provenance["split_sizes"]["train"] == 60
    assert len(result.predictions) == 20


@pytest.mark.parametrize(
    ("perturbation", "message"),
    [
        ("{name: label-corruption, params: {fraction: 0.1}}", "applies to classification tasks"),
        ("{name: feature-noise, params: {features: [x9]}}", "no feature 'x9' (did you mean: x1"),
    ],
)
def test_check_runs_validates_against_the_task(perturbation: str, message: str) -> None:
    import yaml

    spec = RunSpec(task="linear", method="knn", perturbation=yaml.safe_load(perturbation))
    with pytest.raises(LiftbenchError) as err:
        check_runs([spec], where="suite file s.yaml")
    assert str(err.value).startswith("suite file s.yaml: run linear/knn") and message in str(err.value)


def _write_suite(tmp_path: Path, perturbations: str) -> Path:
    path = tmp_path / "robust.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: robust
            grid:
              tasks: [{{name: moons, params: {{n: 120}}}}]
              methods: [logreg]
              perturbations: {perturbations}
              evaluations: [{{name: grid, params: {{resolution: 20}}}}]
            """
        )
    )
    return path


def test_suite_with_perturbations_and_evaluations_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = _write_suite(
        tmp_path,
        "[clean, {name: label-corruption, params: {fraction: 0.25}}, {name: feature-noise, params: {scale: 0.3}}]",
    )
    store_path = tmp_path / "store.sqlite"
    assert main(["run", "--suite", str(suite), "--store", str(store_path), "--wandb", "disabled"]) == 0
    assert "3 runs done (0 failed)" in capsys.readouterr().out
    store = ResultStore(store_path)
    runs = store.runs()
    assert len(runs) == 3 and set(runs["status"]) == {"ok"}
    grids = []
    for run_hash in runs["run_hash"]:
        record = store.get_run(run_hash)
        grid = store.predictions(run_hash, split="eval:grid")
        assert list(grid["row_index"]) == list(range(400))
        assert record.provenance["evaluations"]["grid"]["shape"] == [20, 20]
        grids.append((record.spec["perturbation"], grid["y_pred"].to_numpy()))
    by_name = {None if p is None else p["name"]: y for p, y in grids}
    np.testing.assert_array_equal(by_name[None], by_name["feature-noise"])  # test noise leaves the fit alone
    assert main(["run", "--suite", str(suite), "--store", str(store_path), "--wandb", "disabled"]) == 0
    assert "0 runs done (0 failed), 3 were already stored" in capsys.readouterr().out


def test_suite_with_an_unknown_perturbation_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = _write_suite(tmp_path, "[clean, feature-nois]")
    store_path = tmp_path / "store.sqlite"
    assert main(["run", "--suite", str(suite), "--store", str(store_path), "--wandb", "disabled"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("liftbench: error:")
    assert "unknown perturbation 'feature-nois' (did you mean: feature-noise" in err
    assert str(suite) in err
    assert ResultStore(store_path).runs().empty
