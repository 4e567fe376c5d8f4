"""The task catalogue: register `TaskSpec`s, look them up by name or suite, load them.

Catalogue modules (`tasks.openml_tasks`, `tasks.synthetic_classification`, ...) register their specs
when imported; `_ensure_catalogue()` imports them on first use so the registry stays lazy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tasks.errors import LiftbenchError, did_you_mean
from tasks.lazy_registry import Registry
from tasks.preprocessing import drop_missing_columns
from tasks.spec import KINDS, TaskData, TaskSpec


def _check_spec(name: str, spec: TaskSpec) -> None:
    if spec.kind not in KINDS:
        raise ValueError(f"task {name!r}: kind must be one of {KINDS}, not {spec.kind!r}")


TASKS: Registry[TaskSpec] = Registry(
    "task",
    sources=(
        "tasks.synthetic_classification",
        "tasks.synthetic_regression",
        "tasks.openml_tasks",
        "tasks.images",
        "tasks.local_files",
        "tasks.real_regression",
    ),
    hint="`liftbench tasks list` shows them all",
    check=_check_spec,
)

# Options every task accepts on top of its own parameters.
MISSING_POLICIES = ("keep", "drop-columns")


def register(spec: TaskSpec) -> TaskSpec:
    return TASKS.register(spec.name, spec)


def all_specs() -> list[TaskSpec]:
    return list(TASKS.items().values())


def suites() -> dict[str, list[str]]:
    """Suite name -> task names, in registration order."""
    out: dict[str, list[str]] = {}
    for spec in all_specs():
        for suite in spec.suites:
            out.setdefault(suite, []).append(spec.name)
    return out


def get_spec(name: str) -> TaskSpec:
    return TASKS.get(name)


def list_specs(suite: str | None = None, kind: str | None = None) -> list[TaskSpec]:
    specs = all_specs()
    if suite is not None:
        known = suites()
        if suite not in known:
            raise LiftbenchError(
                f"unknown suite {suite!r}{did_you_mean(suite, known)}; known: {', '.join(known)}"
            )
        specs = [s for s in specs if suite in s.suites]
    if kind is not None:
        if kind not in KINDS:
            raise LiftbenchError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        specs = [s for s in specs if s.kind == kind]
    return specs


def coerce_param(task: str, key: str, value: Any, default: Any) -> Any:
    """Convert a user-given value (often a CLI string) to the type of the parameter's default."""
    where = f"task {task!r}, parameter {key!r}"
    if default is None or value is None:
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
            return out
        if isinstance(default, tuple):
            if isinstance(value, str):
                value = [v for v in value.strip("()[] ").split(",") if v.strip()]
            items = tuple(value)
            if default and len(items) != len(default):
                raise ValueError
            return tuple(coerce_param(task, key, v, d) for v, d in zip(items, default or items, strict=False))
        if isinstance(default, str):
            return str(value)
    except (TypeError, ValueError):
        raise LiftbenchError(
            f"{where}: {value!r} is not a valid {type(default).__name__} (default {default!r})"
        ) from None
    return value


def resolve_params(spec: TaskSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        allowed = ", ".join(sorted(spec.defaults)) or "none"
        raise LiftbenchError(
            f"task {spec.name!r} has no parameter {unknown[0]!r}"
            f"{did_you_mean(unknown[0], spec.defaults)}; its parameters: {allowed}"
        )
    resolved = dict(spec.defaults)
    for key, value in params.items():
        resolved[key] = coerce_param(spec.name, key, value, spec.defaults[key])
    return resolved


def load_task(name: str, /, *, missing: str = "keep", **params: Any) -> TaskData:
    """Load a registered task with its parameters.

    `missing="keep"` (default) keeps missing values as NaN for the model's preprocessing to handle;
    `missing="drop-columns"` reproduces the paper: drop every feature column with a missing value,
    then rows whose target is missing.
    """
    spec = get_spec(name)
    if missing not in MISSING_POLICIES:
        raise LiftbenchError(
            f"missing={missing!r} is not a policy; use one of: {', '.join(MISSING_POLICIES)}"
        )
    resolved = resolve_params(spec, params)
    data = spec.loader(**resolved)
    data.spec = spec
    # A loader may add what it found (a file's content checksum) to the parameters it was given.
    data.params = {**resolved, **data.params, **({"missing": missing} if missing != "keep" else {})}
    if missing == "drop-columns":
        _drop_missing_columns(data)
    return data


def _drop_missing_columns(data: TaskData) -> None:
    keep_rows = data.y.notna().to_numpy()
    if not keep_rows.all():
        if data.fixed_split is not None:
            raise LiftbenchError(f"task {data.name!r}: cannot drop rows from a task with a fixed split")
        data.X = data.X.loc[keep_rows].reset_index(drop=True)
        data.y = data.y.loc[keep_rows].reset_index(drop=True)
    data.X, dropped = drop_missing_columns(data.X)
    data.feature_types = {c: t for c, t in data.feature_types.items() if c not in dropped}
