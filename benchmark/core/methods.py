"""The one protocol every learner answers, LIFT or classical, and the registry of methods.

The runner never knows which kind of method it runs: it builds a `FitData`, calls `fit`, then
`predict` on the test rows (and any other rows an analysis needs), and stores the `Predictions`.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.spec import TaskData

INVALID_CLASS = -1  # the class code of an answer that could not be parsed


@dataclass
class FitData:
    """What a method is given to learn from. Model selection may use validation rows only."""

    task: TaskData  # kind, classes, feature types and names; its X/y are the whole task, do not fit on them
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    seed: int

    @property
    def kind(self) -> str:
        return self.task.kind

    @property
    def n_classes(self) -> int | None:
        return None if self.task.classes is None else len(self.task.classes)


@dataclass
class Predictions:
    """Per-row answers of a method.

    Classification: `y_pred` holds class codes, `INVALID_CLASS` for an unparsable answer, and
    `proba` (n, K) where the method gives probabilities. Regression: `y_pred` holds floats (already
    with the method's declared fallback where an answer was invalid) and `std` a predictive spread
    where the method gives one. `invalid` marks unparsable answers; `raw` keeps an LM's text.
    """

    y_pred: np.ndarray
    proba: np.ndarray | None = None
    std: np.ndarray | None = None
    invalid: np.ndarray | None = None
    raw: list[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.y_pred)
        if self.invalid is None:
            self.invalid = np.zeros(n, dtype=bool)
        for name in ("proba", "std", "invalid"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Predictions.{name} has {len(value)} rows, y_pred has {n}")

    @property
    def invalid_rate(self) -> float:
        return float(np.mean(self.invalid)) if len(self.y_pred) else 0.0


@dataclass
class FitInfo:
    """What fitting reports: the selected hyper-parameters and anything worth storing."""

    selected: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Method(Protocol):
    name: str

    def fit(self, data: FitData) -> FitInfo: ...

    def predict(self, X: pd.DataFrame) -> Predictions: ...


@dataclass(frozen=True)
class MethodEntry:
    name: str
    factory: Callable[..., Method]  # factory(kind=..., seed=..., **params)
    kinds: tuple[str, ...]
    requires: tuple[str, ...] = ()  # importable modules the method needs
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)


_METHODS: dict[str, MethodEntry] = {}
_METHOD_MODULES = ("baselines.classification", "baselines.regression", "benchmark.lift")
_loaded = False


def register_method(entry: MethodEntry) -> MethodEntry:
    if entry.name in _METHODS:
        raise ValueError(f"method {entry.name!r} is registered twice")
    _METHODS[entry.name] = entry
    return entry


def _ensure_methods() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _METHOD_MODULES:
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)


def method_entries() -> dict[str, MethodEntry]:
    _ensure_methods()
    return dict(_METHODS)


def make_method(name: str, kind: str, seed: int, params: Mapping[str, Any] | None = None) -> Method:
    """Build a registered method for a task kind; a missing optional dependency is a clear error."""
    entries = method_entries()
    if name not in entries:
        raise LiftbenchError(
            f"unknown method {name!r}{did_you_mean(name, entries)}; known: {', '.join(sorted(entries))}"
        )
    entry = entries[name]
    if kind not in entry.kinds:
        raise LiftbenchError(f"method {name!r} does not do {kind}; it does: {', '.join(entry.kinds)}")
    if not entry.available():
        raise LiftbenchError(
            f"method {name!r} needs {', '.join(entry.requires)}, which is not installed; `make setup` installs it"
        )
    params = dict(params or {})
    unknown = sorted(set(params) - set(entry.defaults))
    if unknown:
        raise LiftbenchError(
            f"method {name!r} has no parameter {unknown[0]!r}{did_you_mean(unknown[0], entry.defaults)};"
            f" its parameters: {', '.join(sorted(entry.defaults)) or 'none'}"
        )
    return entry.factory(kind=kind, seed=seed, **{**entry.defaults, **params})


def available_methods(kind: str) -> list[str]:
    """Registered methods for `kind` whose dependencies are installed; others are skipped with a warning."""
    out = []
    for name, entry in method_entries().items():
        if kind not in entry.kinds:
            continue
        if entry.available():
            out.append(name)
        else:
            warnings.warn(f"skipping method {name!r}: needs {', '.join(entry.requires)}", stacklevel=2)
    return out
