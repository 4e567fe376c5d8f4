"""The one parser of model output, shared by every method that generates text.

Rules, in order (the paper's code read the wrong segment at HEAD, spec §10.1; this reads the right one):

1. Keep the text before the FIRST completion end marker ("@@@"). With no end marker the whole text is
   kept and the answer is marked `terminated=False` (the generation ran out of tokens); it is still
   parsed by the rules below, so "2 and then" gives 2.
2. If that text holds the prompt end marker ("###"), the model repeated (part of) the prompt: keep what
   follows the LAST prompt end marker.
3. Strip whitespace. Nothing left: invalid, reason "empty".
4. Read the answer at the start of the text; any extra text after it is ignored when it is separated
   from the answer by whitespace or by sentence punctuation (". , ; : ! ? )") not followed by a digit.
   * Numbers: decimal or scientific notation with an optional leading "+" or "-". The unicode minus
     (U+2212) and the other dashes are read as "-". Thousands separators are NOT accepted ("1,234" is
     "not a number"): the serializers never write them, and a guess could be off by a factor of 1000.
     "inf", "nan" and values whose magnitude exceeds `MAX_ABS` are "overflow".
   * Classification with codes: the number must be an integer (written "2" or "2.0") in 0..K-1,
     otherwise "unknown class". Text that does not start with a number is "not a number".
   * Classification with names: the whole text equal to a class name (exactly, else ignoring case when
     that is unambiguous), or the longest class name followed by a boundary; otherwise "unknown class".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

INVALID_REASONS = ("empty", "not a number", "unknown class", "overflow")

# Larger answers are "overflow": squared errors and sums of them must stay finite in float64.
MAX_ABS = 1e100

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)
_ENDING_PUNCTUATION = ".,;:!?)"


@dataclass(frozen=True)
class ParsedAnswer:
    """A parsed model answer: a class code (int) or a float, or invalid with a reason.

    `text` is the answer segment the parser read (after rules 1-3); `terminated` says whether the
    completion end marker was found.
    """

    value: int | float | None
    reason: str | None = None
    text: str = ""
    terminated: bool = True

    @property
    def valid(self) -> bool:
        return self.reason is None


def answer_segment(text: str, prompt_end: str = "###", completion_end: str = "@@@") -> tuple[str, bool]:
    """The stripped answer text (rules 1-3) and whether the completion end marker was found."""
    cut = text.find(completion_end) if completion_end else -1
    terminated = cut >= 0
    segment = text[:cut] if terminated else text
    if prompt_end and prompt_end in segment:
        segment = segment[segment.rindex(prompt_end) + len(prompt_end) :]
    return segment.strip(), terminated


def _ends_cleanly(rest: str) -> bool:
    """True when the text after an answer is a boundary: nothing, whitespace, or punctuation + non-digit."""
    if not rest or rest[0].isspace():
        return True
    return rest[0] in _ENDING_PUNCTUATION and not (len(rest) > 1 and rest[1].isdigit())


def read_number(segment: str) -> tuple[float | None, str | None]:
    """The number at the start of `segment` and None, or None and the reason it is invalid."""
    segment = segment.translate(_DASHES)
    match = _NUMBER.match(segment)
    if match is None or not _ends_cleanly(segment[match.end() :]):
        return None, "not a number"
    value = float(match.group())
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        return None, "overflow"
    return value, None


def _read_class_name(segment: str, classes: Sequence[str]) -> int | None:
    if segment in classes:
        return classes.index(segment)
    folded = [c.casefold() for c in classes]
    if folded.count(segment.casefold()) == 1:
        return folded.index(segment.casefold())
    prefixed = [
        i for i, c in enumerate(classes) if segment.startswith(c) and _ends_cleanly(segment[len(c) :])
    ]
    return max(prefixed, key=lambda i: len(classes[i])) if prefixed else None


def parse_answer(
    text: str,
    *,
    kind: Literal["classification", "regression"],
    classes: Sequence[str] | None = None,
    labels: Literal["codes", "names"] = "codes",
    prompt_end: str = "###",
    completion_end: str = "@@@",
) -> ParsedAnswer:
    """Parse one generated text into a class code or a float (module docstring: the rules)."""
    segment, terminated = answer_segment(text, prompt_end, completion_end)

    def invalid(reason: str) -> ParsedAnswer:
        return ParsedAnswer(None, reason, segment, terminated)

    if not segment:
        return invalid("empty")
    if kind == "classification":
        if classes is None:
            raise ValueError("classification answers need the class names")
        if labels == "names":
            code = _read_class_name(segment, list(classes))
            return invalid("unknown class") if code is None else ParsedAnswer(code, None, segment, terminated)
    value, reason = read_number(segment)
    if reason is not None:
        return invalid(reason)
    assert value is not None
    if kind == "regression":
        return ParsedAnswer(value, None, segment, terminated)
    if not value.is_integer() or not 0 <= value < len(classes or ()):
        return invalid("unknown class")
    return ParsedAnswer(int(value), None, segment, terminated)


def sample_flags(answers: Sequence[Sequence[ParsedAnswer]]) -> dict[str, np.ndarray]:
    """`Predictions.terminated` (every sample of the row ended with the end marker) and
    `Predictions.invalid_samples` (its samples that did not parse) of parsed generations, row by row."""
    return {
        "terminated": np.array([all(a.terminated for a in row) for row in answers], dtype=bool),
        "invalid_samples": np.array([sum(not a.valid for a in row) for row in answers], dtype=np.int64),
    }
