"""The one protocol every learner answers, LIFT or classical, and the registry of methods.

The runner never knows which kind of method it runs: it builds a `FitData`, calls `fit`, then
`predict` on the test rows (and any other rows an analysis needs), and stores the `Predictions`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError, did_you_mean
from tasks.lazy_registry import Registry
from tasks.spec import TaskData

INVALID_CLASS = -1  # the class code of an answer that could not be parsed


@dataclass
class FitData:
    """What a method is given to learn from. Model selection may use validation rows only.

    `task` says what the task is (name, kind, classes, feature names and types); its X and y are cut
    here to the training and validation rows, and its fixed split dropped, so that no method can read
    the test rows or their labels while it fits, whatever the caller passed.
    """

    task: TaskData
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    seed: int

    def __post_init__(self) -> None:
        X = pd.concat([self.X_train, self.X_val])
        y = pd.Series(np.concatenate([np.asarray(self.y_train), np.asarray(self.y_val)]), index=X.index)
        self.task = dataclasses.replace(self.task, X=X, y=y, fixed_split=None)

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

    A method that generates text also says, per row, whether every sample of it ended with the
    completion end marker (`terminated`: a parser reads an answer that ran out of tokens too, and the
    strict invalid rate counts it) and how many of its samples did not parse (`invalid_samples`: with
    several samples a row is `invalid` only when all of them are). Both stay None for methods that
    do not generate.
    """

    y_pred: np.ndarray
    proba: np.ndarray | None = None
    std: np.ndarray | None = None
    invalid: np.ndarray | None = None
    raw: list[str] | None = None
    terminated: np.ndarray | None = None
    invalid_samples: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.y_pred)
        if self.invalid is None:
            self.invalid = np.zeros(n, dtype=bool)
        for name in ("proba", "std", "invalid", "terminated", "invalid_samples"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Predictions.{name} has {len(value)} rows, y_pred has {n}")

    @property
    def invalid_rate(self) -> float:
        return float(np.mean(self.invalid)) if len(self.y_pred) else 0.0

    @property
    def strict_invalid(self) -> np.ndarray | None:
        """Rows whose answer is not strictly valid: some sample unterminated or unparsable (None: the
        method generates nothing)."""
        if self.terminated is None:
            return None
        strict = np.asarray(self.invalid, dtype=bool) | ~np.asarray(self.terminated, dtype=bool)
        if self.invalid_samples is not None:
            strict |= np.asarray(self.invalid_samples) > 0
        return strict


@dataclass
class FitInfo:
    """What fitting reports: the selected hyper-parameters and anything worth storing.

    `ran_with` is the part of the effective configuration that only fitting knows: what the hardware
    and the loaded model decided (precision, accelerator, devices, strategy, world size, per-device
    and global batch, grad accumulation, model id and a checksum of its weights). It is stored in the
    run's effective configuration, beside the parameters known before fitting.
    """

    selected: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    ran_with: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Method(Protocol):
    name: str

    def fit(self, data: FitData) -> FitInfo: ...

    def predict(self, X: pd.DataFrame) -> Predictions: ...


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: how to build it, for which task kinds, its parameters and their defaults.

    `factory(kind=..., seed=..., **params)` builds the method; it may be given as `"module:attr"`,
    imported only when a method is built, so declaring a method (its kinds, defaults and checks) never
    imports its heavy dependencies. `validate(kind, params)` checks parameters already filled with the
    defaults and raises a LiftbenchError for a bad one; the registry calls it before any run starts.
    `resolve(kind, params)` returns, from parameters filled with the defaults, every setting the method
    will run with (defaults it takes from elsewhere, values derived for the task kind), as JSON values:
    the method's part of a run's effective configuration. Without it, the filled parameters are that.
    """

    name: str
    factory: Callable[..., Method] | str
    kinds: tuple[str, ...]
    requires: tuple[str, ...] = ()  # importable modules the method needs
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    validate: Callable[[str, Mapping[str, Any]], None] | None = None
    resolve: Callable[[str, Mapping[str, Any]], Mapping[str, Any]] | None = None
    # parameter -> (another parameter, its values under which the first has an effect); reports leave
    # a parameter out of a run's label where it has none (lift's pretext_rows without a pretext stage)
    applies_when: Mapping[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def check(self, kind: str, params: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """`params` filled with the defaults, after every check a user's suite can fail."""
        prefix = f"{where}: " if where else ""
        if kind not in self.kinds:
            raise LiftbenchError(
                f"{prefix}method {self.name!r} does not do {kind}; it does: {', '.join(self.kinds)}"
            )
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise LiftbenchError(
                f"{prefix}method {self.name!r} has no parameter {unknown[0]!r}"
                f"{did_you_mean(unknown[0], self.defaults)}; its parameters: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        filled = {**self.defaults, **params}
        if self.validate is not None:
            try:
                self.validate(kind, filled)
            except LiftbenchError as err:
                raise LiftbenchError(f"{prefix}{err}") from None
        return filled

    def effective(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The settings the method runs with for `params` (checked first; see `resolve`)."""
        filled = self.check(kind, params)
        return dict(self.resolve(kind, filled)) if self.resolve is not None else filled

    def build(self, kind: str, seed: int, params: Mapping[str, Any] | None = None) -> Method:
        filled = self.check(kind, dict(params or {}))
        if not self.available():
            raise LiftbenchError(
                f"method {self.name!r} needs {', '.join(self.requires)}, which is not installed; `make setup` installs it"
            )
        factory = self.factory
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            factory = getattr(importlib.import_module(module), attr)
        return factory(kind=kind, seed=seed, **filled)


def _check_entry(name: str, entry: MethodEntry) -> None:
    if entry.name != name or not entry.kinds:
        raise ValueError(f"method entry {name!r} is malformed: {entry!r}")


# Method families declare the modules that register their methods under this entry-point group in
# their package metadata (liftbench's own in pyproject.toml), so the harness never names a method module.
METHOD_ENTRY_POINTS = "liftbench.methods"
METHODS: Registry[MethodEntry] = Registry(
    "method",
    entry_point_group=METHOD_ENTRY_POINTS,
    hint="`liftbench methods list` shows them all",
    check=_check_entry,
)


def register_method(entry: MethodEntry) -> MethodEntry:
    return METHODS.register(entry.name, entry)


def method_entries() -> dict[str, MethodEntry]:
    if not METHODS.sources_declared():
        raise LiftbenchError(
            f"no method families are declared (entry points {METHOD_ENTRY_POINTS!r}): liftbench is not "
            "installed in this environment; run `make setup` (or pip install -e .)"
        )
    return METHODS.items()


def get_method(name: str) -> MethodEntry:
    method_entries()
    return METHODS.get(name)


def make_method(name: str, kind: str, seed: int, params: Mapping[str, Any] | None = None) -> Method:
    """Build a registered method for a task kind; a missing optional dependency is a clear error."""
    return get_method(name).build(kind, seed, params)


def resolved_params(name: str, kind: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters method `name` runs with for `params` (`MethodEntry.effective`); nothing is built."""
    return get_method(name).effective(kind, dict(params or {}))


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
