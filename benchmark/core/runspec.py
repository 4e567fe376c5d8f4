"""`RunSpec`: one experiment, frozen, with a stable hash that keys its result in the store.

The hash is a short sha256 of the spec's canonical JSON (sorted keys, no whitespace), so it does not
depend on the process, on `PYTHONHASHSEED` or on the order a mapping was written in. Two rules make it
last across versions of liftbench:

- Fields that hold their default value are left out of the hashed JSON, so adding a new field whose
  default means "what happened before" keeps every stored hash valid. Never change a default.
- Numbers keep their JSON type: `1` and `1.0` hash differently, and so do `1` and `true`. Parameters
  exist where the difference matters (scikit-learn's `max_features=1` is one feature, `1.0` all of
  them), so they are never merged. Equality follows the hash: specs are equal exactly when their
  hashes are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tasks.errors import LiftbenchError, did_you_mean

HASH_LENGTH = 16  # hex characters of the sha256 kept as the run's key


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the one text a value hashes as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _freeze(value: Any, where: str) -> Any:
    """A hashable copy of a JSON-like value: lists become tuples, mappings `FrozenParams`."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        out = float(value)
        if not math.isfinite(out):
            raise LiftbenchError(f"{where}: {out} is not a finite number; write a finite value")
        return out
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, Mapping):
        return FrozenParams(value, where=where)
    raise LiftbenchError(
        f"{where}: {value!r} is a {type(value).__name__}; use a string (quoted), number, boolean, null, list or mapping"
    )


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenParams):
        return value.to_json()
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


class FrozenParams(Mapping[str, Any]):
    """An immutable, hashable mapping of parameter names to JSON values.

    Keys are strings, kept sorted; nested lists are stored as tuples and nested mappings as
    `FrozenParams`. Equality and hashing go through the canonical JSON, so they match `RunSpec.hash`.
    """

    __slots__ = ("_data", "_canonical")

    def __init__(self, values: Mapping[str, Any] | None = None, *, where: str = "params") -> None:
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise LiftbenchError(
                f"{where}: expected a mapping of names to values, not {type(values).__name__}"
            )
        bad = [key for key in values if not isinstance(key, str)]
        if bad:
            raise LiftbenchError(f"{where}: parameter name {bad[0]!r} is not a string; quote it")
        self._data = {key: _freeze(values[key], f"{where}[{key!r}]") for key in sorted(values)}
        self._canonical = canonical_json(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {key: _thaw(value) for key, value in self._data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenParams):
            return self._canonical == other._canonical
        if isinstance(other, Mapping):
            try:
                return self._canonical == FrozenParams(other)._canonical
            except LiftbenchError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __repr__(self) -> str:
        return f"FrozenParams({self.to_json()!r})"

    def short(self) -> str:
        """`k=v,k2=v2` for labels."""
        return ",".join(f"{key}={canonical_json(_thaw(value))}" for key, value in self._data.items())


Named = tuple[str | None, FrozenParams]  # a name (None where null is allowed) and its parameters


def _at(where: str, problem: str) -> str:
    return f"{where}: {problem}"


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise LiftbenchError(_at(where, f"{value!r} is not a name; write a non-empty string"))
    return value


def parse_named(value: Any, where: str, *, nullable: bool = False) -> Named:
    """`name`, `{name: ..., params: {...}}`, or (where `nullable`) null: the one parser of a named entry
    (task, method, perturbation, evaluation set, serializer), for suite files and RunSpecs alike."""
    if value is None and nullable:
        return None, FrozenParams()
    if isinstance(value, str) and value:
        return value, FrozenParams()
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"name", "params"}, key=str)
        if unknown:
            raise LiftbenchError(
                _at(
                    f"{where}.{unknown[0]}",
                    f"unknown key{did_you_mean(str(unknown[0]), ('name', 'params'))}; an entry has only name and params",
                )
            )
        if "name" not in value:
            raise LiftbenchError(_at(where, "entry has no name; write {name: ..., params: {...}}"))
        name = _name(value["name"], f"{where}.name")
        params = value.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise LiftbenchError(
                _at(f"{where}.params", f"{params!r} is not a mapping; write params: {{key: value}}")
            )
        return name, FrozenParams(params, where=f"{where}.params")
    allowed = (
        "null, a name or {name: ..., params: {...}}" if nullable else "a name or {name: ..., params: {...}}"
    )
    raise LiftbenchError(_at(where, f"{value!r} is not an entry; write {allowed}"))


@dataclass(frozen=True)
class Perturbation:
    """A named change to the data (noise, label corruption, outliers...) with its parameters."""

    name: str
    params: FrozenParams = field(default_factory=FrozenParams)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise LiftbenchError(f"RunSpec.perturbation.name: {self.name!r} is not a non-empty string")
        object.__setattr__(self, "params", FrozenParams(self.params, where="RunSpec.perturbation.params"))

    @classmethod
    def coerce(cls, value: Perturbation | Mapping[str, Any] | str | None) -> Perturbation | None:
        """None (clean data), a name, a `{"name": ..., "params": {...}}` mapping, or a `Perturbation`."""
        if value is None or isinstance(value, Perturbation):
            return value
        name, params = parse_named(value, "RunSpec.perturbation")
        return cls(name, params)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params.to_json()}

    def short(self) -> str:
        return f"{self.name}({self.params.short()})" if self.params else self.name


@dataclass(frozen=True)
class Evaluation:
    """A named extra evaluation set (a decision-boundary grid, an extrapolation line) with its parameters."""

    name: str
    params: FrozenParams = field(default_factory=FrozenParams)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise LiftbenchError(f"RunSpec.evaluations: {self.name!r} is not a non-empty name")
        object.__setattr__(self, "params", FrozenParams(self.params, where="RunSpec.evaluations.params"))

    @classmethod
    def coerce_all(cls, value: Any) -> tuple[Evaluation, ...]:
        """A list of names, `{"name": ..., "params": {...}}` mappings or `Evaluation`s, sorted by name."""
        if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
            raise LiftbenchError(
                f"RunSpec.evaluations: {value!r} is not a list; write a list of names, e.g. ['grid']"
            )
        items = []
        for item in value:
            if isinstance(item, Evaluation):
                items.append(item)
            else:
                items.append(cls(*parse_named(item, "RunSpec.evaluations")))
        names = [item.name for item in items]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise LiftbenchError(f"RunSpec.evaluations: {repeated[0]!r} is listed twice; give each set once")
        return tuple(sorted(items, key=lambda item: item.name))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params.to_json()}

    def short(self) -> str:
        return f"{self.name}({self.params.short()})" if self.params else self.name


_PARAM_FIELDS = ("task_params", "method_params", "serializer_options")
_INT_FIELDS = ("split_seed", "seed")


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One experiment: which rows (task, split, size, perturbation), which learner, which seed.

    Mappings may be given as plain dicts; they are stored as `FrozenParams`. `train_size=None` trains
    on the whole training split; an int takes a nested subset of that size (smaller sizes are
    prefixes of larger ones). `serializer` and `model` are used by LIFT methods and None for baselines.
    `evaluations` names extra evaluation sets (`tasks.evaluation_sets`: "grid", "line", or
    `{"name": ..., "params": {...}}`) that the run predicts and stores besides its test rows.
    `row_limit` caps every split and evaluation set at that many rows (a smoke run of a large suite,
    `liftbench run --limit-rows`); None, the default, uses every row.
    """

    task: str
    method: str
    task_params: FrozenParams = field(default_factory=FrozenParams)
    split_seed: int = 0
    split_protocol: str = "default"
    train_size: int | None = None
    perturbation: Perturbation | None = None
    method_params: FrozenParams = field(default_factory=FrozenParams)
    serializer: str | None = None
    serializer_options: FrozenParams = field(default_factory=FrozenParams)
    model: str | None = None
    seed: int = 0
    evaluations: tuple[Evaluation, ...] = ()
    row_limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("task", "method", "split_protocol"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise LiftbenchError(f"RunSpec.{name}: {value!r} is not a non-empty string")
        for name in ("serializer", "model"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise LiftbenchError(f"RunSpec.{name}: {value!r} is neither null nor a non-empty string")
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise LiftbenchError(f"RunSpec.{name}: {value!r} is not a non-negative integer")
        for name in ("train_size", "row_limit"):
            size = getattr(self, name)
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                raise LiftbenchError(
                    f"RunSpec.{name}: {size!r} is neither null (all rows) nor a positive integer"
                )
        for name in _PARAM_FIELDS:
            object.__setattr__(self, name, FrozenParams(getattr(self, name), where=f"RunSpec.{name}"))
        object.__setattr__(self, "perturbation", Perturbation.coerce(self.perturbation))
        object.__setattr__(self, "evaluations", Evaluation.coerce_all(self.evaluations))

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-safe values; `RunSpec.from_dict(spec.to_dict()) == spec`."""
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """Rebuild a spec from `to_dict()` output; missing optional fields take their defaults."""
        if not isinstance(data, Mapping):
            raise LiftbenchError(f"RunSpec: expected a mapping of fields, not {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise LiftbenchError(
                f"RunSpec: unknown field {unknown[0]!r}{did_you_mean(str(unknown[0]), names)}; fields: {', '.join(names)}"
            )
        missing = [name for name in ("task", "method") if name not in data]
        if missing:
            raise LiftbenchError(
                f"RunSpec: field {missing[0]!r} is missing; every run names its task and method"
            )
        return cls(**data)

    def _hashed_fields(self) -> dict[str, Any]:
        """`to_dict()` without the fields that hold their default value."""
        return {
            f.name: value
            for f, value in zip(dataclasses.fields(self), self.to_dict().values(), strict=True)
            if value != _default_json(f)
        }

    @cached_property
    def hash(self) -> str:
        """The stable key of this run's result (see the module docstring for what it covers)."""
        return hashlib.sha256(canonical_json(self._hashed_fields()).encode("utf-8")).hexdigest()[:HASH_LENGTH]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunSpec):
            return NotImplemented
        return self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def label(self) -> str:
        """A short one-line description, e.g. `iris/logreg seed=0 split=1 n=all`."""
        facets = self._facets()
        parts = [
            f"{self._task_text()}/{self._method_text()}",
            f"seed={self.seed}",
            f"split={self.split_seed}",
        ]
        parts.append(f"n={'all' if self.train_size is None else self.train_size}")
        parts.extend(f"{name}={value}" for name, value in facets.items())
        return " ".join(parts)

    def experiment_label(self, task_text: str | None = None) -> str:
        """The data side of the run, seeds and extra evaluation sets left out (they change no test
        score): `iris n=20 perturb=feature_noise(scale=0.1)`. `task_text` replaces the task and its
        parameters (a file task is shown by its own name)."""
        facets = self._facets()
        parts = [task_text or self._task_text()] + (
            [] if self.train_size is None else [f"n={self.train_size}"]
        )
        parts.extend(
            f"{name}={facets[name]}" for name in ("protocol", "perturb", "row_limit") if name in facets
        )
        return " ".join(parts)

    def fit_key(self) -> str:
        """The hash of the fit this run makes: runs that differ only in their evaluation sets share it."""
        return dataclasses.replace(self, evaluations=()).hash

    def method_label(self) -> str:
        """The learner side of the run: `lift(epochs=12) ser=lift(decimals=2) model=tiny-gpt2`."""
        facets = self._facets()
        return " ".join(
            [self._method_text()] + [f"{name}={facets[name]}" for name in ("ser", "model") if name in facets]
        )

    def _task_text(self) -> str:
        return f"{self.task}({self.task_params.short()})" if self.task_params else self.task

    def _method_text(self) -> str:
        return f"{self.method}({self.method_params.short()})" if self.method_params else self.method

    def _facets(self) -> dict[str, str]:
        """The fields beyond task, method, seeds and size that a run sets, in label order."""
        facets = {}
        if self.split_protocol != "default":
            facets["protocol"] = self.split_protocol
        if self.perturbation is not None:
            facets["perturb"] = self.perturbation.short()
        if self.serializer is not None:
            options = f"({self.serializer_options.short()})" if self.serializer_options else ""
            facets["ser"] = f"{self.serializer}{options}"
        if self.model is not None:
            facets["model"] = self.model
        if self.evaluations:
            facets["eval"] = ",".join(item.short() for item in self.evaluations)
        if self.row_limit is not None:
            facets["row_limit"] = str(self.row_limit)
        return facets


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    return value.to_json() if isinstance(value, FrozenParams | Perturbation | Evaluation) else value


def _default_json(f: dataclasses.Field) -> Any:
    """A field's default as JSON; a required field (no default) never counts as holding it."""
    if f.default_factory is not dataclasses.MISSING:
        return _to_json(f.default_factory())
    return dataclasses.MISSING if f.default is dataclasses.MISSING else _to_json(f.default)
