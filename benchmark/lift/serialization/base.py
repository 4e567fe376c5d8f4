"""What every serializer shares: the task context it is bound to, its options, value formatting, the
`Serializer` contract (rows -> prompts, targets -> completions, and back), and frame-level serialization.

Number formats follow the paper (spec §4): classification features `%.2f`, regression features `%.4f`,
synthetic regression targets `%.3f`, real regression targets `%.4f`, integer-typed features `%d`,
categorical values as their strings. The paper dropped every column with a missing value; here a missing
value is written explicitly as `MISSING_TOKEN` ("NaN"; `null` in JSON), so no row or column is lost.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from benchmark.lift.serialization.parsing import ParsedAnswer, parse_answer
from tasks.errors import LiftbenchError, did_you_mean
from tasks.spec import KINDS, FeatureType, Kind, TaskData

MISSING_TOKEN = "NaN"
LABEL_MODES = ("codes", "names")
FEATURE_TYPES = ("numeric", "integer", "categorical")


@dataclass(frozen=True)
class SerializationContext:
    """What a serializer needs to know about a task: its features in column order, kind and classes."""

    feature_names: tuple[str, ...]
    feature_types: tuple[FeatureType, ...]
    kind: Kind
    classes: tuple[str, ...] | None = None
    task_name: str = ""
    synthetic: bool = False
    openml_id: int | None = None

    def __post_init__(self) -> None:
        if len(self.feature_names) != len(self.feature_types):
            raise ValueError("feature_names and feature_types differ in length")
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError(f"task {self.task_name!r}: feature names are not unique")
        bad = [t for t in self.feature_types if t not in FEATURE_TYPES]
        if bad:
            raise ValueError(f"unknown feature type {bad[0]!r}; use one of {FEATURE_TYPES}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.kind == "classification" and not self.classes:
            raise ValueError(f"classification task {self.task_name!r} has no classes")

    @classmethod
    def from_task(cls, task: TaskData) -> SerializationContext:
        names = tuple(str(c) for c in task.X.columns)
        types = {str(k): v for k, v in task.feature_types.items()}
        untyped = [n for n in names if n not in types]
        if untyped:
            raise ValueError(f"task {task.name!r}: feature {untyped[0]!r} has no type in feature_types")
        return cls(
            feature_names=names,
            feature_types=tuple(types[n] for n in names),
            kind=task.kind,
            classes=tuple(task.classes) if task.classes is not None else None,
            task_name=task.name,
            synthetic=task.source == "synthetic",
            openml_id=task.spec.openml_id if task.spec is not None else None,
        )


@dataclass(frozen=True)
class SerializerOptions:
    """Options every serializer takes; all of them enter `Serializer.settings()` and so the prompt hash.

    decimals / target_decimals: override the default decimals of float features / regression targets.
    permute_features: a seed; each row's feature order is then permuted by a generator seeded with
        (seed, row id), GReaT-style. None keeps the column order.
    shuffle_names: a seed; the feature names are then shuffled across the columns once (a derangement
        where there are two or more features): the paper's misleading-names test. None keeps them.
    labels: "codes" writes class codes as completions (the paper), "names" the class names.
    prompt_end / completion_end: the markers ending a prompt ("###") and a completion ("@@@").
    separator: between feature items; None takes the format's own (", " for lift, " " for text, ...).
    """

    decimals: int | None = None
    target_decimals: int | None = None
    permute_features: int | None = None
    shuffle_names: int | None = None
    labels: str = "codes"
    prompt_end: str = "###"
    completion_end: str = "@@@"
    separator: str | None = None

    def __post_init__(self) -> None:
        for name in ("decimals", "target_decimals"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 17:
                raise LiftbenchError(f"serializer option {name}={value} is out of range; use 0..17")
        for name in ("permute_features", "shuffle_names"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise LiftbenchError(
                    f"serializer option {name}={value} is not a seed; use a non-negative integer"
                )
        if self.labels not in LABEL_MODES:
            raise LiftbenchError(
                f"serializer option labels={self.labels!r}; use one of: {', '.join(LABEL_MODES)}"
            )
        if not self.completion_end:
            raise LiftbenchError(
                "serializer option completion_end is empty; the parser needs it to end answers"
            )
        if self.prompt_end and (
            self.prompt_end in self.completion_end or self.completion_end in self.prompt_end
        ):
            raise LiftbenchError(
                f"serializer options prompt_end={self.prompt_end!r} and completion_end={self.completion_end!r} "
                "overlap; the parser could not tell them apart"
            )
        if self.separator == "":
            raise LiftbenchError("serializer option separator is empty; prompts could not be read back")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> SerializerOptions:
        """Build options from keyword values, coercing strings (from the CLI or a YAML file) to their types."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise LiftbenchError(
                f"unknown serializer option {unknown[0]!r}{did_you_mean(unknown[0], fields)}; "
                f"options: {', '.join(fields)}"
            )
        return cls(**{key: _coerce_option(key, value) for key, value in options.items()})


_INTEGER_OPTIONS = frozenset({"decimals", "target_decimals", "permute_features", "shuffle_names"})


def _coerce_option(key: str, value: Any) -> Any:
    if key not in _INTEGER_OPTIONS:
        return value if value is None or isinstance(value, str) else str(value)
    if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
        return None
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise LiftbenchError(f"serializer option {key}={value!r} is not an integer (or none)") from None


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT. The common types are checked first: this runs once per value."""
    if isinstance(value, float | np.floating):
        return value != value
    if value is None:
        return True
    if isinstance(value, str | int | np.integer):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any, feature_type: str, decimals: int) -> str:
    """One feature value as text: `%d` for integer features, `%.{decimals}f` for numeric ones.

    An integer-typed value that is not integral (5.5) is written as a float rather than truncated.
    """
    if is_missing(value):
        return MISSING_TOKEN
    if feature_type == "categorical":
        return str(value)
    if feature_type == "integer":
        if isinstance(value, int | np.integer):
            return str(int(value))
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return f"{number:.{decimals}f}"
    return f"{float(value):.{decimals}f}"


def read_value(text: str, feature_type: str) -> Any:
    """The inverse of `format_value` (at its precision): float, int, or the category string."""
    if text == MISSING_TOKEN:
        return math.nan
    if feature_type == "categorical":
        return text
    number = float(text)
    if feature_type == "integer" and number.is_integer() and "." not in text:
        return int(text)
    return number


def derangement(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of range(n) with no fixed point (the identity when n < 2)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        if n < 2 or not np.any(order == np.arange(n)):
            return order


@dataclass(frozen=True)
class Example:
    """One serialized row: the prompt and, when the target is known, the completion."""

    prompt: str
    completion: str | None = None


class Serializer(ABC):
    """Turns rows into prompts and targets into completions for one task, and reads answers back.

    `get_serializer(name, **options)` makes an unbound serializer; `bind(task)` returns a copy bound
    to a task (a `TaskData` or a `SerializationContext`), which is what writes and parses.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = KINDS
    unsupported_options: ClassVar[tuple[str, ...]] = ()  # options that have no meaning for this format
    default_separator: ClassVar[str] = ", "
    reads_prompts: ClassVar[bool] = False  # whether parse_prompt can give a row back
    why_unsupported: ClassVar[str] = "the format has no use for it"

    def __init__(self, options: SerializerOptions | None = None) -> None:
        self.options = options or SerializerOptions()
        defaults = SerializerOptions()
        for key in self.unsupported_options:
            if getattr(self.options, key) != getattr(defaults, key):
                raise LiftbenchError(
                    f"serializer {self.name!r} does not take option {key!r}: {self.why_unsupported}"
                )
        self._context: SerializationContext | None = None

    # --- binding -------------------------------------------------------------------------------------

    def bind(self, task: TaskData | SerializationContext) -> Self:
        context = task if isinstance(task, SerializationContext) else SerializationContext.from_task(task)
        if context.kind not in self.kinds:
            raise LiftbenchError(
                f"serializer {self.name!r} does not write {context.kind} tasks (task {context.task_name!r}); "
                f"it writes: {', '.join(self.kinds)}"
            )
        if self.options.labels == "names":
            _check_class_names(context, self.options)
        bound = type(self)(self.options)
        bound._context = context
        bound._prepare()
        return bound

    def _prepare(self) -> None:
        """Per-task set-up once the context is known (names, template choice); none by default."""
        return None

    @property
    def context(self) -> SerializationContext:
        if self._context is None:
            raise RuntimeError(f"serializer {self.name!r} is not bound to a task; call .bind(task) first")
        return self._context

    # --- resolved settings ---------------------------------------------------------------------------

    def default_feature_decimals(self) -> int:
        return 2 if self.context.kind == "classification" else 4

    @property
    def feature_decimals(self) -> int:
        if self.options.decimals is not None:
            return self.options.decimals
        return self.default_feature_decimals()

    @property
    def target_decimals(self) -> int:
        if self.options.target_decimals is not None:
            return self.options.target_decimals
        return 3 if self.context.synthetic else 4

    @property
    def separator(self) -> str:
        return self.options.separator if self.options.separator is not None else self.default_separator

    def settings(self) -> dict[str, Any]:
        """Everything that determines the texts, for the prompt hash and the results record.

        Bound, it holds the values in effect (the format's default decimals and separator where the
        options leave them unset); unbound, the options as given.
        """
        out: dict[str, Any] = {"serializer": self.name, **dataclasses.asdict(self.options)}
        if self._context is not None:
            out.update(
                decimals=self.feature_decimals,
                target_decimals=self.target_decimals if self.context.kind == "regression" else None,
                separator=self.separator if "separator" not in self.unsupported_options else None,
            )
        return out

    # --- rows ----------------------------------------------------------------------------------------

    def prompt(self, row: Mapping[str, Any] | pd.Series, row_id: int = 0) -> str:
        """The prompt of one row, given by feature name. `row_id` seeds `permute_features`."""
        if isinstance(row, pd.Series):
            row = dict(zip(map(str, row.index), row.tolist(), strict=True))
        absent = [n for n in self.context.feature_names if n not in row]
        if absent:
            raise ValueError(f"task {self.context.task_name!r}: the row has no feature {absent[0]!r}")
        return self.prompt_from_values([row[n] for n in self.context.feature_names], row_id)

    @abstractmethod
    def prompt_from_values(self, values: Sequence[Any], row_id: int) -> str:
        """The prompt of one row given as values in the context's feature order."""

    def parse_prompt(self, prompt: str) -> dict[str, Any]:
        """The row back from a prompt, at the serializer's precision (formats that allow it)."""
        raise LiftbenchError(f"serializer {self.name!r} cannot read rows back from its prompts")

    def row_order(self, row_id: int) -> list[int]:
        """The order in which the row's features are written."""
        n = len(self.context.feature_names)
        if self.options.permute_features is None:
            return list(range(n))
        if row_id < 0:
            raise ValueError(f"row ids must be non-negative to seed the feature permutation, not {row_id}")
        return np.random.default_rng([self.options.permute_features, row_id]).permutation(n).tolist()

    def feature_texts(self, values: Sequence[Any]) -> list[str]:
        """The row's values as text, in the context's feature order."""
        decimals = self.feature_decimals
        return [format_value(v, t, decimals) for v, t in zip(values, self.context.feature_types, strict=True)]

    # --- targets and answers -------------------------------------------------------------------------

    def target_text(self, target: Any) -> str:
        """A target as its answer text, without the end marker."""
        if is_missing(target):
            raise ValueError(f"task {self.context.task_name!r}: a missing target has no completion")
        if self.context.kind == "regression":
            return f"{float(target):.{self.target_decimals}f}"
        classes = self.context.classes or ()
        code = float(target)
        if not code.is_integer() or not 0 <= code < len(classes):
            raise ValueError(
                f"task {self.context.task_name!r}: {target!r} is not a class code 0..{len(classes) - 1}"
            )
        return classes[int(code)] if self.options.labels == "names" else str(int(code))

    def completion(self, target: Any) -> str:
        return self.target_text(target) + self.options.completion_end

    def parse(self, text: str) -> ParsedAnswer:
        """Parse a model's answer with the shared parser (`parsing.parse_answer`)."""
        return parse_answer(
            text,
            kind=self.context.kind,
            classes=self.context.classes,
            labels="names" if self.options.labels == "names" else "codes",
            prompt_end=self.options.prompt_end,
            completion_end=self.options.completion_end,
        )


def _check_class_names(context: SerializationContext, options: SerializerOptions) -> None:
    if context.kind != "classification":
        raise LiftbenchError(f"task {context.task_name!r} is a regression task: labels='names' needs classes")
    classes = context.classes or ()
    stripped = [c.strip() for c in classes]
    markers = [m for m in (options.prompt_end, options.completion_end) if m]
    bad = [
        c for c, s in zip(classes, stripped, strict=True) if not s or s != c or any(m in c for m in markers)
    ]
    if bad or len(set(stripped)) != len(stripped):
        culprit = repr(bad[0]) if bad else "duplicates"
        raise LiftbenchError(
            f"task {context.task_name!r}: class names cannot be completions with labels='names' ({culprit}: "
            "names must be unique, non-empty, without surrounding spaces or end markers); use labels='codes'"
        )


def serialize_rows(
    serializer: Serializer, X: pd.DataFrame, y: Sequence[Any] | pd.Series | None = None
) -> list[Example]:
    """Serialize every row of a frame (columns by name, any order); completions when `y` is given
    (None for a row whose target is missing).

    Row ids (which seed `permute_features`) are the frame's index labels when they are integers, so a
    row keeps its feature order however the task is split; otherwise the row positions.
    """
    context = serializer.context
    columns = [str(c) for c in X.columns]
    absent = [n for n in context.feature_names if n not in columns]
    if absent:
        raise LiftbenchError(f"task {context.task_name!r}: the rows lack feature column {absent[0]!r}")
    values = [X.iloc[:, columns.index(n)].tolist() for n in context.feature_names]
    if pd.api.types.is_integer_dtype(X.index):
        row_ids = X.index.tolist()
    else:
        row_ids = list(range(len(X)))
    rows = list(zip(*values, strict=True)) if values else [()] * len(X)
    prompts = [serializer.prompt_from_values(row, rid) for row, rid in zip(rows, row_ids, strict=True)]
    if y is None:
        return [Example(p) for p in prompts]
    targets = y.tolist() if isinstance(y, pd.Series | np.ndarray) else list(y)
    if len(targets) != len(prompts):
        raise ValueError(f"{len(prompts)} rows but {len(targets)} targets")
    return [
        Example(p, None if is_missing(t) else serializer.completion(t))
        for p, t in zip(prompts, targets, strict=True)
    ]
