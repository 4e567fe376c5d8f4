"""RunSpec: validation, JSON round trip, and a hash that stays the same across processes and versions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.core.runspec import FrozenParams, Perturbation, RunSpec
from tasks.errors import LiftbenchError


def full_spec(**changes: object) -> RunSpec:
    fields = dict(
        task="moons",
        task_params={"n": 200, "noise": 0.1},
        split_seed=1,
        split_protocol="default",
        train_size=64,
        perturbation={"name": "label-noise", "params": {"rate": 0.1}},
        method="lift",
        method_params={"epochs": 5, "lr": 0.001},
        serializer="plain",
        serializer_options={"decimals": 2},
        model="smollm2-135m",
        seed=3,
    )
    fields.update(changes)
    return RunSpec(**fields)


def test_known_hashes_do_not_change() -> None:
    # Literal values: if this fails, every stored result would lose its key. Change only on purpose.
    assert full_spec().hash == "3b96e13aaacc1667"
    assert RunSpec(task="iris", method="logreg").hash == "78cc441e4dd037b8"


def test_hash_is_sha256_of_canonical_json_without_defaults() -> None:
    spec = RunSpec(task="iris", method="logreg", seed=2)
    canonical = b'{"method":"logreg","seed":2,"task":"iris"}'
    assert spec.hash == hashlib.sha256(canonical).hexdigest()[:16]
    # Writing a default explicitly is the same run.
    explicit = RunSpec(task="iris", method="logreg", seed=2, split_seed=0, train_size=None, serializer=None)
    assert explicit.hash == spec.hash


def test_hash_ignores_mapping_order() -> None:
    a = full_spec(task_params={"n": 200, "noise": 0.1, "opts": {"x": 1, "y": [1, 2]}})
    b = full_spec(task_params={"opts": {"y": (1, 2), "x": 1}, "noise": 0.1, "n": 200})
    assert a.hash == b.hash
    assert a == b
    assert len({a, b}) == 1


def test_hash_is_the_same_in_other_processes() -> None:
    code = (
        "from benchmark.core.runspec import RunSpec;"
        "print(RunSpec(task='t', method='m', task_params={'b': 1, 'a': 'x', 'c': [1.5, None]}).hash)"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("0", "1", "12345")
    }
    assert len(hashes) == 1
    assert hashes == {RunSpec(task="t", method="m", task_params={"a": "x", "c": [1.5, None], "b": 1}).hash}


@pytest.mark.parametrize(
    "change",
    [
        {"task": "circles"},
        {"task_params": {"n": 201, "noise": 0.1}},
        {"split_seed": 2},
        {"split_protocol": "paper"},
        {"train_size": 65},
        {"train_size": None},
        {"perturbation": {"name": "label-noise", "params": {"rate": 0.2}}},
        {"perturbation": None},
        {"method": "lift-score"},
        {"method_params": {"epochs": 5, "lr": 0.01}},
        {"serializer": "kv"},
        {"serializer": None},
        {"serializer_options": {"decimals": 3}},
        {"model": "gpt2"},
        {"model": None},
        {"seed": 4},
        {"evaluations": ("grid",)},
        {"row_limit": 40},
    ],
)
def test_hash_changes_with_every_field(change: dict[str, object]) -> None:
    assert full_spec(**change).hash != full_spec().hash
    assert full_spec(**change) != full_spec()


def test_every_field_is_covered_by_the_hash_test() -> None:
    names = {f.name for f in dataclasses.fields(RunSpec)}
    covered = {"task", "task_params", "split_seed", "split_protocol", "train_size", "perturbation", "method"}
    covered |= {"method_params", "serializer", "serializer_options", "model", "seed", "evaluations"}
    covered |= {"row_limit"}
    assert names == covered


def test_numbers_keep_their_json_type() -> None:
    """1, 1.0 and true are different parameter values (max_features=1 is not max_features=1.0)."""
    specs = [RunSpec(task="t", method="rf", method_params={"max_features": v}) for v in (1, 1.0, True)]
    assert len({s.hash for s in specs}) == 3
    assert specs[0] != specs[1]


def test_round_trip_through_json() -> None:
    spec = full_spec(task_params={"n": 200, "grid": [[1, 2], [3.5, None]], "nested": {"k": "v"}})
    data = json.loads(json.dumps(spec.to_dict()))
    assert data == spec.to_dict()
    back = RunSpec.from_dict(data)
    assert back == spec and back.hash == spec.hash
    assert back.to_dict() == spec.to_dict()
    assert back.perturbation == Perturbation("label-noise", {"rate": 0.1})
    assert back.task_params["grid"] == ((1, 2), (3.5, None))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(params=st.dictionaries(st.text(max_size=8), json_values, max_size=4), seed=st.integers(0, 2**40))
def test_round_trip_any_json_params(params: dict[str, object], seed: int) -> None:
    spec = RunSpec(task="t", method="m", method_params=params, seed=seed)
    back = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and back.hash == spec.hash
    assert back.to_dict() == spec.to_dict()


def test_pickles_for_worker_processes() -> None:
    spec = full_spec(task_params={"n": 200, "nested": {"k": [1, 2]}})
    back = pickle.loads(pickle.dumps(spec))
    assert back == spec and back.hash == spec.hash and back.task_params["nested"] == {"k": [1, 2]}


def test_label() -> None:
    assert RunSpec(task="iris", method="logreg", split_seed=1).label() == "iris/logreg seed=0 split=1 n=all"
    assert full_spec().label() == (
        "moons(n=200,noise=0.1)/lift(epochs=5,lr=0.001) seed=3 split=1 n=64"
        " perturb=label-noise(rate=0.1) ser=plain(decimals=2) model=smollm2-135m"
    )


def test_spec_is_frozen_and_its_params_immutable() -> None:
    spec = full_spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 5  # type: ignore[misc]
    assert isinstance(spec.task_params, FrozenParams)
    with pytest.raises(TypeError):
        spec.task_params["n"] = 5  # type: ignore[index]
    assert spec.task_params == {"noise": 0.1, "n": 200}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task": ""}, "RunSpec.task"),
        ({"task": 3}, "RunSpec.task"),
        ({"method": None}, "RunSpec.method"),
        ({"seed": "0"}, "RunSpec.seed"),
        ({"seed": True}, "RunSpec.seed"),
        ({"seed": -1}, "RunSpec.seed"),
        ({"split_seed": 1.0}, "RunSpec.split_seed"),
        ({"train_size": 0}, "RunSpec.train_size"),
        ({"train_size": "all"}, "RunSpec.train_size"),
        ({"split_protocol": None}, "RunSpec.split_protocol"),
        ({"serializer": 3}, "RunSpec.serializer"),
        ({"model": ""}, "RunSpec.model"),
        ({"task_params": [("n", 1)]}, "RunSpec.task_params"),
        ({"method_params": {"lr": float("nan")}}, "RunSpec.method_params['lr']"),
        ({"method_params": {"f": object()}}, "RunSpec.method_params['f']"),
        ({"serializer_options": {1: "x"}}, "RunSpec.serializer_options"),
        ({"perturbation": 5}, "RunSpec.perturbation"),
        ({"perturbation": {"params": {}}}, "RunSpec.perturbation"),
    ],
)
def test_bad_fields_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(LiftbenchError) as err:
        full_spec(**changes)
    assert field in str(err.value)
    assert "\n" not in str(err.value)


def test_from_dict_rejects_unknown_and_missing_fields() -> None:
    data = full_spec().to_dict()
    with pytest.raises(LiftbenchError, match="unknown field 'sed'.*did you mean: seed"):
        RunSpec.from_dict({**data, "sed": 1})
    del data["task"]
    with pytest.raises(LiftbenchError, match="'task' is missing"):
        RunSpec.from_dict(data)
