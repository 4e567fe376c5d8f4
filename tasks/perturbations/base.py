"""The perturbation protocol (`TablePerturbation`, `Perturbed`) and its registry."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.errors import LiftbenchError
from tasks.lazy_registry import Registry
from tasks.perturbations.params import APPLIES_TO, ParamSpec, validate_params
from tasks.spec import KINDS, TaskData
from tasks.splits import Split


@dataclass(frozen=True)
class Perturbed:
    """What a perturbation gives back: new data, the split to use with it, and what was done."""

    data: TaskData
    split: Split
    report: dict[str, Any]


class TablePerturbation(ABC):
    """A named, parameterised change to a task's rows; subclasses set the class attributes below."""

    name: str
    description: str
    applies_to: str  # "train", "test" or "all"
    kinds: tuple[str, ...] = KINDS  # task kinds it applies to
    changes_features = False  # True when the feature columns themselves change (names, order, number)
    param_specs: Mapping[str, ParamSpec] = {}

    def __init__(self, **params: Any) -> None:
        self.params = validate_params(f"perturbation {self.name!r}", self.param_specs, params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def check(self, data: TaskData) -> None:
        """Raise a LiftbenchError if this perturbation cannot apply to `data` (its kind, its columns)."""
        if data.kind not in self.kinds:
            raise LiftbenchError(
                f"perturbation {self.name!r} applies to {' and '.join(self.kinds)} tasks; "
                f"task {data.name!r} is {data.kind}"
            )

    def apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        """The perturbed copy of `data` and `split`; every random draw comes from `seed`."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise LiftbenchError(f"perturbation {self.name!r}: seed {seed!r} is not an integer >= 0")
        self.check(data)
        return self._apply(data, split, int(seed))

    @abstractmethod
    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed: ...


def _check_perturbation(name: str, cls: type[TablePerturbation]) -> None:
    if cls.applies_to not in APPLIES_TO:
        raise ValueError(f"perturbation {name!r}: applies_to must be one of {APPLIES_TO}")


# One module per perturbation, imported on the first lookup.
PERTURBATIONS: Registry[type[TablePerturbation]] = Registry(
    "perturbation",
    sources=tuple(
        f"tasks.perturbations.{module}"
        for module in (
            "feature_noise",
            "label_corruption",
            "outliers",
            "irrelevant_features",
            "column_shuffles",
            "adversarial",
            "compose",
        )
    ),
    check=_check_perturbation,
)
register_perturbation = PERTURBATIONS.register_class


def make_perturbation(name: str, params: Mapping[str, Any] | None = None) -> TablePerturbation:
    """The registered perturbation `name` with `params` checked (unknown names and values are errors)."""
    return PERTURBATIONS.get(name)(**dict(params or {}))
