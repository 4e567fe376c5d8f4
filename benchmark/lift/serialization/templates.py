"""The paper's context-aware templates (spec §1.4 and §3.4), registered as the serializer `template`.

Each template reads the task's feature columns by position (f0, f1, ...) in the column order of the
paper's data, and writes the paper's sentences byte for byte, with two of its bugs fixed (spec §10.17):

* a coded value is read the same whether it arrives as a number (1, 1.0) or a category string ('1');
  TAE silently dropped the speaker phrase for '1'. A code outside the template's table is an error
  naming the slot, never a silently shorter sentence;
* insurance writes "She" or "He" from the sex column, and "smokes," or "does not smoke," from smoker.

The servo sentence keeps the paper's wording, although its P/V gain names may be swapped (spec §10.17).
Templates exist for cmc (OpenML 23), tae (48), vehicle (54), servo, ccpp and insurance. A task is
matched by its OpenML id, else by its name, else by its feature columns: servo, ccpp and insurance
come as files (the `file` task), whose headers are the paper's (M,S,P,V; AT,V,AP,RH;
age,sex,bmi,children,smoker,region).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.lift.serialization.base import Serializer, is_missing
from benchmark.lift.serialization.registry import register_serializer
from tasks.errors import LiftbenchError
from tasks.spec import Kind

# A template writes a row's text (without the prompt end) from its values and a float formatter
# `real(value, default_decimals)` that honours the serializer's `decimals` option.
FloatFormat = Callable[[Any, int], str]


class SlotError(ValueError):
    """A value a template cannot write; the serializer turns it into a LiftbenchError with the task."""


def _integer(value: Any, slot: str) -> int:
    """An integral number given as int, float or numeric string ('1', '1.0')."""
    if is_missing(value):
        raise SlotError(f"{slot} is missing")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SlotError(f"{slot} {value!r} is not a number") from None
    if not number.is_integer():
        raise SlotError(f"{slot} {value!r} is not a whole number")
    return int(number)


def _pick(value: Any, slot: str, table: Mapping[int, str]) -> str:
    code = _integer(value, slot)
    if code not in table:
        raise SlotError(f"{slot} {value!r} is not one of the codes {sorted(table)}")
    return table[code]


def _category(value: Any, slot: str, codes: Mapping[str, int]) -> str:
    """A category given as its name (any case) or as the paper's numeric code for it."""
    if isinstance(value, str) and value.strip().lower() in codes:
        return value.strip().lower()
    by_code = {code: name for name, code in codes.items()}
    try:
        return _pick(value, slot, by_code)
    except SlotError:
        raise SlotError(
            f"{slot} {value!r} is none of {', '.join(codes)} (or codes {sorted(by_code)})"
        ) from None


_LEVELS = {1: "very low", 2: "below-average", 3: "above-average", 4: "very high"}


def _cmc(f: Sequence[Any], real: FloatFormat) -> str:
    return (
        f"In a family, the {_integer(f[0], 'wife age')}-year-old wife "
        + _pick(f[4], "wife religion", {0: "does not believe in Islam. ", 1: "believes in Islam. "})
        + f"She has a {_pick(f[1], 'wife education', _LEVELS)} education level. "
        + _pick(f[5], "wife working", {0: "She has a job. ", 1: "She does not have a job. "})
        + f"The husband has a {_pick(f[2], 'husband education', _LEVELS)} education level. "
        + f"He has a type {_pick(f[6], 'husband occupation', {1: 'A', 2: 'B', 3: 'C', 4: 'D'})} job. "
        + f"They've had {_integer(f[3], 'number of children')} children. "
        + f"They have a {_pick(f[7], 'standard of living', _LEVELS)} standard of living. "
        + _pick(
            f[8],
            "media exposure",
            {
                0: "They are exposed to the media very often. ",
                1: "They are not exposed to the media very often. ",
            },
        )
        + "What's the contraceptive method likely being used in this family?"
    )


def _tae(f: Sequence[Any], real: FloatFormat) -> str:
    speaker = _pick(f[0], "native English speaker", {1: "an English speaker, ", 2: "a non-English speaker, "})
    session = (
        "the summer session, "
        if _integer(f[3], "summer or regular semester") == 1
        else "the regular session, "
    )
    return (
        "Knowing a Teaching Assistant who's "
        + speaker
        + f"who teaches the course {_integer(f[2], 'course')} with instructor {_integer(f[1], 'instructor')} during "
        + session
        + f"with {_integer(f[4], 'class size')} students, what is the rating for this Teaching Assistant?"
    )


VEHICLE_NAMES = (
    "compactness",
    "circularity",
    "distance circularity",
    "radius ratio",
    "pr.axis aspect ratio",
    "max.length aspect ratio",
    "scatter ratio",
    "elongatedness",
    "pr.axis rectangularity",
    "max.length rectangularity",
    "scaled variance major",
    "scaled variance minor",
    "scaled radius of gyration",
    "skewness about major",
    "skewness about minor",
    "kurtosis about major",
    "kurtosis about minor",
    "hollows ratio",
)


def _vehicle(f: Sequence[Any], real: FloatFormat) -> str:
    items = "".join(f"{name} = {real(value, 2)}, " for name, value in zip(VEHICLE_NAMES, f, strict=True))
    return f"When we have {items}What's type of this vehicle?"


_SERVO_LETTERS = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def _servo(f: Sequence[Any], real: FloatFormat) -> str:
    motor = _category(f[0], "motor", _SERVO_LETTERS).upper()
    screw = _category(f[1], "screw", _SERVO_LETTERS).upper()
    return (
        f"Given a servomechanism, with motor {motor} and screw {screw}, whose voltage gain is "
        f"{_integer(f[2], 'P')} and power gain is {_integer(f[3], 'V')}, what is its rise time?"
    )


def _ccpp(f: Sequence[Any], real: FloatFormat) -> str:
    at, v, ap, rh = (real(x, 4) for x in f)
    return (
        f"When the air temperature is {at} celsius degree, ambient pressure is {ap} millibar, relative humidity "
        f"is {rh} percent, and exhaust vacuum is {v} cm Hg, what's the net hourly electrical energy output in MW?"
    )


def _insurance(f: Sequence[Any], real: FloatFormat) -> str:
    sex = _category(f[1], "sex", {"female": 1, "male": -1})
    smoker = _category(f[4], "smoker", {"yes": 1, "no": -1})
    region = _category(f[5], "region", {"southeast": 1, "northwest": 2, "southwest": 3, "northeast": 4})
    return (
        f"A {_integer(f[0], 'age')}-year-old {sex}, who has {_integer(f[3], 'children')} children, lives in the "
        f"{region} in the U.S. {'She' if sex == 'female' else 'He'} "
        f"{'smokes,' if smoker == 'yes' else 'does not smoke,'} and has body mass index {real(f[2], 4)}. "
        "How much does this person pay for medical insurance?"
    )


@dataclass(frozen=True)
class Template:
    name: str
    kind: Kind
    columns: tuple[str, ...]  # what each feature column holds, in order (for files: their header)
    render: Callable[[Sequence[Any], FloatFormat], str]
    openml_id: int | None = None

    @property
    def label(self) -> str:
        return (
            f"{self.name} (OpenML {self.openml_id})"
            if self.openml_id
            else f"{self.name} ({','.join(self.columns)})"
        )

    def matches_columns(self, names: Sequence[str]) -> bool:
        return self.openml_id is None and [n.lower() for n in names] == [c.lower() for c in self.columns]


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "cmc",
            "classification",
            (
                "wife age",
                "wife education",
                "husband education",
                "children",
                "wife religion",
                "wife working",
                "husband occupation",
                "standard of living",
                "media exposure",
            ),
            _cmc,
            openml_id=23,
        ),
        Template(
            "tae",
            "classification",
            ("native English speaker", "instructor", "course", "summer or regular semester", "class size"),
            _tae,
            openml_id=48,
        ),
        Template("vehicle", "classification", VEHICLE_NAMES, _vehicle, openml_id=54),
        Template("servo", "regression", ("M", "S", "P", "V"), _servo),
        Template("ccpp", "regression", ("AT", "V", "AP", "RH"), _ccpp),
        Template(
            "insurance", "regression", ("age", "sex", "bmi", "children", "smoker", "region"), _insurance
        ),
    )
}


@register_serializer
class TemplateSerializer(Serializer):
    name = "template"
    description = "the paper's context-aware sentences for " + ", ".join(t.label for t in TEMPLATES.values())
    unsupported_options = ("permute_features", "shuffle_names", "separator")
    why_unsupported = "a template writes fixed sentences; use lift-names for permuted or shuffled names"

    def _prepare(self) -> None:
        context = self.context
        by_id = {t.openml_id: t for t in TEMPLATES.values() if t.openml_id is not None}
        by_columns = (t for t in TEMPLATES.values() if t.matches_columns(context.feature_names))
        template = (
            by_id.get(context.openml_id) or TEMPLATES.get(context.task_name.lower()) or next(by_columns, None)
        )
        if template is None:
            raise LiftbenchError(
                f"serializer 'template' has no template for task {context.task_name!r}; templates exist for: "
                f"{', '.join(t.label for t in TEMPLATES.values())}. Use 'lift-names' to show feature names"
            )
        if template.kind != context.kind or len(template.columns) != len(context.feature_names):
            raise LiftbenchError(
                f"task {context.task_name!r} does not fit template {template.name!r}: it expects a {template.kind} "
                f"task with {len(template.columns)} features ({', '.join(template.columns)}), the task is "
                f"{context.kind} with {len(context.feature_names)}"
            )
        self.template = template

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        if self._context is not None:
            # decimals None: each slot's own decimals, as the paper's template wrote it
            out.update(template=self.template.name, decimals=self.options.decimals)
        return out

    def _real(self, value: Any, default_decimals: int) -> str:
        if is_missing(value):
            raise SlotError("a value is missing")
        decimals = self.options.decimals if self.options.decimals is not None else default_decimals
        return f"{float(value):.{decimals}f}"

    def prompt_from_values(self, values: Sequence[Any], row_id: int) -> str:
        try:
            text = self.template.render(values, self._real)
        except SlotError as err:
            raise LiftbenchError(
                f"task {self.context.task_name!r}, row {row_id}: template {self.template.name!r} cannot write it: "
                f"{err}; check the column order ({', '.join(self.template.columns)}), load the task with "
                "missing='drop-columns', or use serializer 'lift'"
            ) from None
        return text + self.options.prompt_end
