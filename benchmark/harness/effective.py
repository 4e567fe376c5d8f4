"""A run's effective configuration: everything that decides its result, with every default filled in.

A `RunSpec` names only what a suite sets; what the run actually does also depends on defaults in
code (a method's registered parameters, a task's parameters, a serializer's options) and on the data
(an edited `file` task keeps its name and path). The effective configuration spells all of it out:

* the spec's experiment fields (task, split protocol and seed, training size, perturbation,
  evaluation sets, seed) and method;
* `task_params`: the parameters the task was loaded with, defaults included;
* `method_params`: every setting the method runs with, as its registry entry resolves them
  (`MethodEntry.effective`: the defaults filled in, the baselines' grids and base estimator settings,
  LIFT's serializer options and task-kind choices), serializer and model included for LIFT;
* `data_checksum` and `split_hash` of the rows (training-size subset included, before any
  perturbation, which the spec names);
* once fitted, `ran_with`: what only fitting knows (`FitInfo.ran_with`: precision, accelerator,
  devices, strategy, world size, per-device and global batch, grad accumulation, model weights checksum).

`config_hash` hashes the part known before fitting. Resume compares it: a stored result counts only
when its hash equals the one this code computes now (`planned_config`); otherwise the run is done
again and the old result kept as superseded. Provenance (library versions, git commit, host) is
recorded beside the configuration but never compared: `results show` and the report show it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from benchmark.core.methods import resolved_params
from benchmark.core.rows import rows_for_spec
from benchmark.core.runspec import HASH_LENGTH, RunSpec, canonical_json
from tasks.spec import TaskData
from tasks.splits import Split

# RunSpec fields that LIFT-style methods take as parameters; baselines do not declare them.
LM_FIELDS = ("serializer", "serializer_options", "model")
RAN_WITH = "ran_with"  # the key of the part known only after fitting
MISSING_TEXT = "(absent)"


def method_params_for(spec: RunSpec) -> dict[str, Any]:
    """The parameters the method is built with: its own, plus the LM fields the spec sets."""
    params = spec.method_params.to_json()
    for name in LM_FIELDS:
        value = getattr(spec, name)
        if value:
            params[name] = value.to_json() if hasattr(value, "to_json") else value
    return params


def effective_config(
    spec: RunSpec, data: TaskData, split: Split, method_params: dict[str, Any]
) -> dict[str, Any]:
    """The configuration known before fitting, from the run's clean data and split (module docstring)."""
    config = {
        "task": spec.task,
        "task_params": data.params,
        "split_protocol": spec.split_protocol,
        "split_seed": spec.split_seed,
        "train_size": spec.train_size,
        "perturbation": None if spec.perturbation is None else spec.perturbation.to_json(),
        "evaluations": [e.to_json() for e in spec.evaluations],
        "seed": spec.seed,
        "method": spec.method,
        "method_params": method_params,
        "data_checksum": data.checksum,
        "split_hash": split.hash,
    }
    return json.loads(json.dumps(config, default=str))  # plain JSON values, as the store reads them back


def planned_config(spec: RunSpec) -> dict[str, Any]:
    """What this code would run for `spec`, computed without fitting or perturbing: the clean rows are
    prepared as `execute_run` prepares them, and the method's settings resolved by its registry entry."""
    rows = rows_for_spec(spec, clean=True)
    data = rows.clean_data
    params = resolved_params(spec.method, data.kind, method_params_for(spec))
    return effective_config(spec, data, rows.clean_split, params)


def config_hash(config: dict[str, Any]) -> str:
    """The hash of a configuration's part known before fitting (`ran_with` left out)."""
    planned = {key: value for key, value in config.items() if key != RAN_WITH}
    return hashlib.sha256(canonical_json(planned).encode("utf-8")).hexdigest()[:HASH_LENGTH]


def differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """`key.sub: old -> new` for every leaf that differs between two nested JSON mappings."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, MISSING_TEXT), new.get(key, MISSING_TEXT)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(differences(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key}: {_short(a)} -> {_short(b)}")
    return out


def _short(value: Any) -> str:
    return value if value is MISSING_TEXT else canonical_json(value)
