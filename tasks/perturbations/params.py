"""Parameters of perturbations and evaluation sets: declared once per class, checked with one-line errors."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.errors import LiftbenchError, did_you_mean

APPLIES_TO: tuple[str, ...] = ("train", "test", "all")
NUMERIC_TYPES: tuple[str, ...] = ("numeric", "integer")
MAX_PERMUTATION_DRAWS = 1000  # a non-identity permutation of p >= 2 items is found in ~e draws


# Parameters: declared once per perturbation (or evaluation set), checked with one-line errors.

REQUIRED = object()


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default (`REQUIRED` for none), a parser that returns the checked value or
    raises ValueError (its text is appended to the message), and the requirement shown to the user."""

    default: Any
    parse: Callable[[Any], Any]
    requirement: str


def number(
    default: float | None, *, low: float | None = None, high: float | None = None, above: bool = False
) -> ParamSpec:
    """A finite number >= low (> low with `above`) and <= high; an int is read as a float."""
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if above else '>='} {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    requirement = "a finite number" + (f" {' and '.join(bounds)}" if bounds else "")

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError
        out = float(value)
        if low is not None and (out <= low if above else out < low):
            raise ValueError
        if high is not None and out > high:
            raise ValueError
        return out

    return ParamSpec(default, parse, requirement)


def integer(default: int, *, low: int) -> ParamSpec:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError
        return int(value)

    return ParamSpec(default, parse, f"an integer >= {low}")


def flag(default: bool) -> ParamSpec:
    def parse(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value

    return ParamSpec(default, parse, "true or false")


def choice(default: str, options: Sequence[str]) -> ParamSpec:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(did_you_mean(str(value), options))
        return value

    return ParamSpec(default, parse, f"one of {', '.join(options)}")


def feature_names() -> ParamSpec:
    """null (the default set of features) or a non-empty list of feature names."""

    def parse(value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise ValueError
        if not all(isinstance(item, str) and item for item in value):
            raise ValueError
        return tuple(value)

    return ParamSpec(None, parse, "null or a non-empty list of feature names")


def validate_params(owner: str, specs: Mapping[str, ParamSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of `owner` (e.g. "perturbation 'outliers'"), defaults filled in, each checked."""
    unknown = sorted(set(given) - set(specs), key=str)
    if unknown:
        key = str(unknown[0])
        raise LiftbenchError(
            f"{owner} has no parameter {key!r}{did_you_mean(key, specs)}; "
            f"its parameters: {', '.join(specs) or 'none'}"
        )
    out = {}
    for key, spec in specs.items():
        if key not in given:
            if spec.default is REQUIRED:
                raise LiftbenchError(f"{owner} needs parameter {key!r}: {spec.requirement}")
            out[key] = spec.default
            continue
        value = given[key]
        try:
            out[key] = spec.parse(value)
        except ValueError as err:
            shown = value.to_json() if hasattr(value, "to_json") else value
            raise LiftbenchError(
                f"{owner}, parameter {key!r}: {shown!r} is invalid; it must be {spec.requirement}{err}"
            ) from None
    return out
