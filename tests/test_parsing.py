"""The shared parser of model output: which segment it reads, what it accepts, and why it refuses."""

from __future__ import annotations

import math

import pytest

from benchmark.lift.serialization import SerializationContext, get_serializer, parse_answer
from benchmark.lift.serialization.parsing import MAX_ABS, answer_segment


def cls(text: str, classes=("a", "b", "c"), labels="codes"):
    return parse_answer(text, kind="classification", classes=classes, labels=labels)


def reg(text: str):
    return parse_answer(text, kind="regression")


def test_reads_the_first_completion_not_the_last() -> None:
    # The paper's code read the text after the LAST "@@@" (spec §10.1).
    assert cls("1@@@2@@@").value == 1
    assert cls("1@@@When we have x1=0.52, What is this type? ###2@@@").value == 1
    assert reg("0.5@@@ 7.25@@@").value == 0.5


def test_repeated_prompt_takes_what_follows_the_last_prompt_marker() -> None:
    echoed = "When we have x1=0.52, x2=1.20, What is this type? ###2@@@"
    assert cls(echoed).value == 2
    assert reg("When we have x1=3.1416, what should be the y value?### 2.827@@@").value == 2.827
    assert answer_segment("a###b###  c @@@ d###e") == ("c", True)


def test_missing_end_marker_still_parses_the_leading_answer() -> None:
    answer = cls("2\nWhen we have")
    assert answer.value == 2 and not answer.terminated and answer.valid
    assert reg("  -1.5 and more").value == -1.5
    assert cls("2").terminated is False


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2@@@", 2.0),
        (" 2.50 @@@", 2.5),
        ("+3@@@", 3.0),
        ("\u22121.25@@@", -1.25),  # unicode minus sign
        ("\u20131.25@@@", -1.25),  # en dash
        ("\u20141.25@@@", -1.25),  # em dash
        ("\uff0d7@@@", -7.0),  # fullwidth hyphen-minus
        ("1.5e3@@@", 1500.0),
        ("1.5E\u22122@@@", 0.015),
        (".5@@@", 0.5),
        ("5.@@@", 5.0),
        ("12.5 is my guess@@@", 12.5),
        ("12.5.@@@", 12.5),
        ("7, final@@@", 7.0),
    ],
)
def test_numbers_accepted(text: str, value: float) -> None:
    answer = reg(text)
    assert answer.valid, answer
    assert answer.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("@@@", "empty"),
        ("   \n @@@", "empty"),
        ("When we have x1=1, what should be the y value?###@@@", "empty"),
        ("", "empty"),
        ("abc@@@", "not a number"),
        ("1,234.5@@@", "not a number"),  # thousands separators are refused, not misread as 1
        ("2.5.3@@@", "not a number"),
        ("12abc@@@", "not a number"),
        ("12%@@@", "not a number"),
        ("$5@@@", "not a number"),
        ("1e400@@@", "overflow"),
        ("inf@@@", "overflow"),
        ("-Infinity@@@", "overflow"),
        ("nan@@@", "overflow"),
        (f"{MAX_ABS * 10:.0f}@@@", "overflow"),
    ],
)
def test_regression_invalid_reasons(text: str, reason: str) -> None:
    answer = reg(text)
    assert not answer.valid and answer.value is None
    assert answer.reason == reason


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("0@@@", 0),
        ("2@@@", 2),
        ("2.0@@@", 2),
        ("02@@@", 2),
        ("1 because x1 is large@@@", 1),
        ("3@@@", "unknown class"),
        ("-1@@@", "unknown class"),
        ("1.5@@@", "unknown class"),
        ("99999999999999999999@@@", "unknown class"),
        ("b@@@", "not a number"),
        ("@@@", "empty"),
    ],
)
def test_classification_codes(text: str, result) -> None:
    answer = cls(text)
    if isinstance(result, int):
        assert answer.value == result and isinstance(answer.value, int)
    else:
        assert answer.reason == result and answer.value is None


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("Iris-setosa@@@", 0),
        ("iris-VIRGINICA@@@", 2),  # case ignored when unambiguous
        ("Iris-versicolor, I think@@@", 1),
        ("Iris-versicolour@@@", "unknown class"),
        ("Iris@@@", "unknown class"),
        ("0@@@", "unknown class"),
        ("  @@@", "empty"),
    ],
)
def test_classification_names(text: str, result) -> None:
    answer = cls(text, classes=("Iris-setosa", "Iris-versicolor", "Iris-virginica"), labels="names")
    if isinstance(result, int):
        assert answer.value == result
    else:
        assert answer.reason == result


def test_class_names_prefer_the_longest_match_and_exact_case() -> None:
    classes = ("good", "good enough", "Good")
    assert cls("good enough@@@", classes, "names").value == 1
    assert cls("good enough. yes@@@", classes, "names").value == 1
    assert cls("Good@@@", classes, "names").value == 2
    assert cls("GOOD@@@", classes, "names").reason == "unknown class"  # ambiguous without case


def test_classification_needs_classes() -> None:
    with pytest.raises(ValueError, match="class names"):
        parse_answer("1@@@", kind="classification")


def test_serializer_parse_uses_its_markers() -> None:
    ctx = SerializationContext(("x",), ("numeric",), "regression", task_name="t")
    s = get_serializer("lift", prompt_end=">>", completion_end="</a>").bind(ctx)
    assert s.parse("When we have x1=1.0000, what should be the y value?>> 4.5</a> junk</a>").value == 4.5
    assert s.parse("4.5@@@").reason == "not a number"
    assert math.isclose(s.parse("\u22124.5").value, -4.5)
