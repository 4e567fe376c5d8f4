"""Serializers: the paper's strings byte for byte, round trips, options, templates and the registry."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.lift.serialization import (
    Example,
    SerializationContext,
    get_serializer,
    serialize_rows,
    serializer_classes,
    serializer_names,
)
from benchmark.lift.serialization.formats import display_name
from tasks.errors import LiftbenchError
from tasks.spec import TaskData, TaskSpec

CLS2 = SerializationContext(
    ("x", "z"), ("numeric", "numeric"), "classification", ("a", "b", "c"), "toy", True
)
REG1_SYNTHETIC = SerializationContext(("x",), ("numeric",), "regression", None, "linear", True)
REG1_REAL = SerializationContext(("x",), ("numeric",), "regression", None, "real", False)
MIXED = SerializationContext(
    ("age", "sex", "sepal_length", "smoker"),
    ("integer", "categorical", "numeric", "categorical"),
    "classification",
    ("setosa", "versicolor", "virginica"),
    "mixed",
)
MIXED_ROW = {"age": 42, "sex": "female", "sepal_length": 5.1, "smoker": math.nan}
KEYED_FORMATS = [
    name for name, cls in serializer_classes().items() if cls.reads_prompts and name != "lift-image"
]


def context(
    names, types, kind="classification", classes=("a", "b", "c"), name="t", synthetic=False, openml_id=None
):
    return SerializationContext(tuple(names), tuple(types), kind, classes if kind == "classification" else None,
                                name, synthetic, openml_id)  # fmt: skip


# --- the paper's strings (spec §4) --------------------------------------------------------------------


def test_lift_classification_is_the_papers_string() -> None:
    s = get_serializer("lift").bind(CLS2)
    assert s.prompt({"x": 0.52, "z": 1.2}) == "When we have x1=0.52, x2=1.20, What is this type? ###"
    assert s.completion(2) == "2@@@"
    assert s.completion(np.int64(0)) == "0@@@"


def test_lift_regression_is_the_papers_string_with_target_decimals_by_source() -> None:
    synthetic = get_serializer("lift").bind(REG1_SYNTHETIC)
    assert synthetic.prompt({"x": math.pi}) == "When we have x1=3.1416, what should be the y value?###"
    assert synthetic.completion(2.8274) == "2.827@@@"
    real = get_serializer("lift").bind(REG1_REAL)
    assert real.completion(2.82741) == "2.8274@@@"


def test_lift_writes_integers_categories_and_missing_values() -> None:
    s = get_serializer("lift").bind(MIXED)
    assert s.prompt(MIXED_ROW) == "When we have x1=42, x2=female, x3=5.10, x4=NaN, What is this type? ###"
    # an integer feature that arrives as a float is still %d; a non-integral one is not truncated
    assert s.prompt({**MIXED_ROW, "age": 42.0}).startswith("When we have x1=42, ")
    assert s.prompt({**MIXED_ROW, "age": 42.5}).startswith("When we have x1=42.50, ")


def test_lift_names_shows_pretty_names() -> None:
    s = get_serializer("lift-names").bind(MIXED)
    assert s.prompt(MIXED_ROW) == (
        "When we have age=42, sex=female, sepal length=5.10, smoker=NaN, What is this type? ###"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("PR.AXIS_ASPECT_RATIO", "pr.axis aspect ratio"), ("sepal_length", "sepal length"), ("AT", "AT"),
     ("G1", "G1"), ("Class  size", "Class size"), ("HOLLOWS_RATIO", "hollows ratio")],
)  # fmt: skip
def test_display_names(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


def test_text_list_and_json_formats() -> None:
    row = MIXED_ROW
    assert get_serializer("text").bind(MIXED).prompt(row) == (
        "The age is 42. The sex is female. The sepal length is 5.10. The smoker is NaN. What is this type?###"
    )
    assert get_serializer("list").bind(MIXED).prompt(row) == (
        "- age: 42\n- sex: female\n- sepal length: 5.10\n- smoker: NaN\nWhat is this type?###"
    )
    text = get_serializer("json").bind(MIXED).prompt(row)
    assert text == '{"age": 42, "sex": "female", "sepal length": 5.1, "smoker": null}\nWhat is this type?###'
    reg = get_serializer("text").bind(REG1_REAL).prompt({"x": 1.0})
    assert reg == "The x is 1.0000. What should be the y value?###"


def test_json_is_json_safe_for_quotes_and_backslashes() -> None:
    ctx = context(["name", "v"], ["categorical", "numeric"])
    s = get_serializer("json").bind(ctx)
    row = {"name": 'say "hi" \\ \u00e9', "v": 1.005}
    first_line = s.prompt(row).split("\n")[0]
    assert json.loads(first_line) == {"name": row["name"], "v": 1.0}
    assert s.parse_prompt(s.prompt(row)) == {"name": row["name"], "v": 1.0}


def test_lift_image_is_the_papers_mnist_string() -> None:
    ctx = context([f"p{i}" for i in range(4)], ["integer"] * 4, classes=tuple("0123456789"))
    s = get_serializer("lift-image").bind(ctx)
    prompt = s.prompt({"p0": 0, "p1": 0, "p2": 128, "p3": 255})
    assert prompt == "Given image with pixels 0 0 128 255 What is this digit?###"
    assert s.completion(7) == "7@@@"
    assert s.parse_prompt(prompt) == {"p0": 0, "p1": 0, "p2": 128, "p3": 255}
    float_pixels = get_serializer("lift-image").bind(
        context(["a", "b"], ["numeric"] * 2, classes=tuple("01"))
    )
    assert (
        float_pixels.prompt({"a": 254.6, "b": 0.0}) == "Given image with pixels 255 0 What is this digit?###"
    )


def test_lift_image_refuses_regression_and_name_options() -> None:
    with pytest.raises(LiftbenchError, match="does not write regression"):
        get_serializer("lift-image").bind(REG1_REAL)
    with pytest.raises(LiftbenchError, match="permute_features"):
        get_serializer("lift-image", permute_features=1)


# --- templates (spec §1.4, §3.4) ----------------------------------------------------------------------

TAE = context([f"f{i}" for i in range(5)], ["categorical", "integer", "integer", "categorical", "integer"],
              name="tae-anything", openml_id=48)  # fmt: skip
TAE_TEXT = (
    "Knowing a Teaching Assistant who's an English speaker, who teaches the course 3 with instructor 23 during "
    "the summer session, with 19 students, what is the rating for this Teaching Assistant?###"
)


@pytest.mark.parametrize("speaker", [1, 1.0, "1", np.int64(1)])
def test_tae_template_reads_codes_given_as_numbers_or_strings(speaker) -> None:
    s = get_serializer("template").bind(TAE)
    row = {"f0": speaker, "f1": 23, "f2": "3", "f3": "1", "f4": 19}
    assert s.prompt(row) == TAE_TEXT
    assert s.completion(1) == "1@@@"
    non_native = s.prompt({**row, "f0": "2", "f3": 2})
    assert "who's a non-English speaker, " in non_native and "during the regular session, " in non_native


def test_tae_template_refuses_an_unknown_code_instead_of_dropping_the_phrase() -> None:
    s = get_serializer("template").bind(TAE)
    with pytest.raises(LiftbenchError, match="native English speaker '3' is not one of the codes"):
        s.prompt({"f0": "3", "f1": 23, "f2": 3, "f3": 1, "f4": 19})
    with pytest.raises(LiftbenchError, match="missing"):
        s.prompt({"f0": math.nan, "f1": 23, "f2": 3, "f3": 1, "f4": 19})


def test_cmc_template() -> None:
    ctx = context([f"f{i}" for i in range(9)], ["integer"] + ["categorical"] * 8, name="cmc")
    s = get_serializer("template").bind(ctx)
    row = dict(zip(ctx.feature_names, [24, "2", "3", 3, "1", "1", "2", "3", "0"], strict=True))
    assert s.prompt(row) == (
        "In a family, the 24-year-old wife believes in Islam. She has a below-average education level. "
        "She does not have a job. The husband has a above-average education level. He has a type B job. "
        "They've had 3 children. They have a above-average standard of living. They are exposed to the media "
        "very often. What's the contraceptive method likely being used in this family?###"
    )
    assert s.completion(0) == "0@@@"


def test_vehicle_template_by_openml_id() -> None:
    names = [f"c{i}" for i in range(18)]
    s = get_serializer("template").bind(context(names, ["numeric"] * 18, classes=tuple("abcd"), openml_id=54))
    prompt = s.prompt(dict(zip(names, range(100, 118), strict=True)))
    assert prompt.startswith(
        "When we have compactness = 100.00, circularity = 101.00, distance circularity = 102.00, "
    )
    assert prompt.endswith(
        "kurtosis about minor = 116.00, hollows ratio = 117.00, What's type of this vehicle?###"
    )
    assert (
        get_serializer("template", decimals=0)
        .bind(s.context)
        .prompt(dict.fromkeys(names, 1.4))
        .startswith("When we have compactness = 1, ")
    )


def test_regression_templates() -> None:
    servo = get_serializer("template").bind(
        context("MSPV", ["categorical"] * 2 + ["integer"] * 2, "regression", name="servo")
    )
    expected = ("Given a servomechanism, with motor E and screw B, whose voltage gain is 5 and power gain is 4, "
                "what is its rise time?###")  # fmt: skip
    assert servo.prompt(dict(zip("MSPV", ["E", "B", 5, 4], strict=True))) == expected
    assert (
        servo.prompt(dict(zip("MSPV", [5, 2, 5.0, 4], strict=True))) == expected
    )  # the numeric coding A..E -> 1..5
    assert servo.completion(0.56) == "0.5600@@@"

    ccpp = get_serializer("template").bind(
        context(["AT", "V", "AP", "RH"], ["numeric"] * 4, "regression", name="CCPP")
    )
    assert ccpp.prompt({"AT": 14.96, "V": 41.76, "AP": 1024.07, "RH": 73.17}) == (
        "When the air temperature is 14.9600 celsius degree, ambient pressure is 1024.0700 millibar, relative "
        "humidity is 73.1700 percent, and exhaust vacuum is 41.7600 cm Hg, what's the net hourly electrical "
        "energy output in MW?###"
    )

    names = ["age", "sex", "bmi", "children", "smoker", "region"]
    types = ["integer", "categorical", "numeric", "integer", "categorical", "categorical"]
    insurance = get_serializer("template").bind(context(names, types, "regression", name="insurance"))
    she = dict(zip(names, [19, "female", 27.9, 0, "yes", "southwest"], strict=True))
    assert insurance.prompt(she) == (
        "A 19-year-old female, who has 0 children, lives in the southwest in the U.S. She smokes, and has body "
        "mass index 27.9000. How much does this person pay for medical insurance?###"
    )
    he = dict(zip(names, [33, -1, 22.705, 2, -1, 2], strict=True))  # the paper's numeric coding
    assert insurance.prompt(he) == (
        "A 33-year-old male, who has 2 children, lives in the northwest in the U.S. He does not smoke, and has "
        "body mass index 22.7050. How much does this person pay for medical insurance?###"
    )
    assert insurance.completion(16884.924) == "16884.9240@@@"


def test_templates_find_the_papers_files_by_their_columns() -> None:
    ccpp = get_serializer("template").bind(
        context(["AT", "V", "AP", "RH"], ["numeric"] * 4, "regression", name="file")
    )
    assert ccpp.template.name == "ccpp"
    servo = get_serializer("template").bind(context("mspv", ["categorical"] * 4, "regression", name="file"))
    assert servo.template.name == "servo"
    with pytest.raises(LiftbenchError, match=r"no template for task 'file'.*ccpp \(AT,V,AP,RH\)"):
        get_serializer("template").bind(
            context(["AT", "AP", "V", "RH"], ["numeric"] * 4, "regression", name="file")
        )


def test_template_errors_name_the_tasks_that_have_one() -> None:
    with pytest.raises(LiftbenchError, match=r"no template for task 'toy'.*tae \(OpenML 48\).*insurance"):
        get_serializer("template").bind(CLS2)
    with pytest.raises(LiftbenchError, match="expects a classification task with 5 features"):
        get_serializer("template").bind(context(["a"], ["numeric"], openml_id=48))
    with pytest.raises(LiftbenchError, match="shuffle_names"):
        get_serializer("template", shuffle_names=0)
    with pytest.raises(LiftbenchError, match="cannot read rows back"):
        get_serializer("template").bind(TAE).parse_prompt(TAE_TEXT)


# --- options ------------------------------------------------------------------------------------------

WIDE = context([f"feature_{i}" for i in range(8)], ["numeric"] * 8)
WIDE_ROW = {f"feature_{i}": float(i) for i in range(8)}


def _order(prompt: str) -> list[str]:
    return [item.split("=")[0] for item in prompt.removeprefix("When we have ").split(", ")[:-1]]


def test_permute_features_is_deterministic_per_seed_and_row() -> None:
    s = get_serializer("lift-names", permute_features=7).bind(WIDE)
    first = [_order(s.prompt(WIDE_ROW, row_id=r)) for r in range(6)]
    again = [
        _order(get_serializer("lift-names", permute_features=7).bind(WIDE).prompt(WIDE_ROW, row_id=r))
        for r in range(6)
    ]
    assert first == again
    assert len({tuple(o) for o in first}) > 1  # rows differ
    other_seed = [
        _order(get_serializer("lift-names", permute_features=8).bind(WIDE).prompt(WIDE_ROW, r))
        for r in range(6)
    ]
    assert other_seed != first
    assert all(sorted(o) == sorted(first[0]) for o in first)
    assert s.parse_prompt(s.prompt(WIDE_ROW, row_id=3)) == WIDE_ROW
    plain = get_serializer("lift-names").bind(WIDE)
    assert _order(plain.prompt(WIDE_ROW, 3)) == [f"feature {i}" for i in range(8)]


def test_lift_permutation_keeps_each_x_index_with_its_column() -> None:
    s = get_serializer("lift", permute_features=1).bind(WIDE)
    prompt = s.prompt(WIDE_ROW, row_id=5)
    assert _order(prompt) != [f"x{i + 1}" for i in range(8)]
    assert all(f"x{i + 1}={i}.00, " in prompt for i in range(8))


def test_shuffle_names_moves_every_name_and_reads_back() -> None:
    s = get_serializer("lift-names", shuffle_names=3).bind(WIDE)
    prompt = s.prompt(WIDE_ROW)
    shown = _order(prompt)
    assert sorted(shown) == sorted(f"feature {i}" for i in range(8))
    assert all(name != f"feature {i}" for i, name in enumerate(shown))  # a derangement: every name is wrong
    assert shown == _order(get_serializer("lift-names", shuffle_names=3).bind(WIDE).prompt(WIDE_ROW))
    assert shown != _order(get_serializer("lift-names", shuffle_names=4).bind(WIDE).prompt(WIDE_ROW))
    assert s.parse_prompt(prompt) == WIDE_ROW
    assert s.settings()["shuffle_names"] == 3


def test_labels_as_names() -> None:
    s = get_serializer("lift", labels="names").bind(MIXED)
    assert s.completion(1) == "versicolor@@@"
    assert s.parse("versicolor@@@").value == 1
    assert s.parse("1@@@").reason == "unknown class"
    with pytest.raises(LiftbenchError, match="regression task"):
        get_serializer("lift", labels="names").bind(REG1_REAL)
    with pytest.raises(LiftbenchError, match="labels='codes'"):
        get_serializer("lift", labels="names").bind(context(["a"], ["numeric"], classes=("yes", " yes")))


def test_decimals_markers_and_separator_options() -> None:
    s = get_serializer("lift", decimals=1, prompt_end="\n\n", completion_end="<END>", separator="; ").bind(
        CLS2
    )
    assert s.prompt({"x": 0.52, "z": 1.25}) == "When we have x1=0.5; x2=1.2; What is this type? \n\n"
    assert s.completion(1) == "1<END>"
    assert s.parse("1<END>").value == 1
    assert s.parse_prompt(s.prompt({"x": 0.52, "z": 1.25})) == {"x": 0.5, "z": 1.2}
    reg = get_serializer("lift", target_decimals=1).bind(REG1_SYNTHETIC)
    assert reg.completion(2.26) == "2.3@@@"
    listed = get_serializer("list", separator="\n\n").bind(MIXED)
    assert listed.prompt(MIXED_ROW).startswith("- age: 42\n\n- sex: female\n\n")


def test_settings_hold_every_option_and_resolved_values() -> None:
    s = get_serializer("lift", decimals="3", permute_features="5").bind(REG1_REAL)
    out = s.settings()
    assert out["serializer"] == "lift" and out["decimals"] == 3 and out["permute_features"] == 5
    assert out["target_decimals"] == 4 and out["separator"] == ", "
    assert get_serializer("text").bind(CLS2).settings() == {
        "serializer": "text", "decimals": 2, "target_decimals": None, "permute_features": None,
        "shuffle_names": None, "labels": "codes", "prompt_end": "###", "completion_end": "@@@", "separator": " ",
    }  # fmt: skip
    assert get_serializer("lift").settings()["decimals"] is None  # unbound: the options as given
    template = get_serializer("template").bind(TAE).settings()
    assert template["template"] == "tae" and template["decimals"] is None


def test_option_and_name_errors() -> None:
    with pytest.raises(LiftbenchError, match="did you mean: decimals"):
        get_serializer("lift", decimal=3)
    with pytest.raises(LiftbenchError, match="did you mean: lift-names"):
        get_serializer("lift_names")
    with pytest.raises(LiftbenchError, match="not an integer"):
        get_serializer("lift", decimals="two")
    with pytest.raises(LiftbenchError, match="labels"):
        get_serializer("lift", labels="words")
    with pytest.raises(LiftbenchError, match="overlap"):
        get_serializer("lift", prompt_end="@@", completion_end="@@@")
    with pytest.raises(LiftbenchError, match="separators"):
        get_serializer("json", separator=";")
    with pytest.raises(RuntimeError, match="not bound"):
        get_serializer("lift").prompt({"x": 1})


def test_registry_lists_every_format() -> None:
    assert serializer_names()[:2] == ["lift", "lift-names"]
    assert {"lift", "lift-names", "text", "list", "json", "lift-image", "template"} <= set(serializer_names())


def test_completion_rejects_targets_outside_the_classes() -> None:
    s = get_serializer("lift").bind(CLS2)
    with pytest.raises(ValueError, match="not a class code"):
        s.completion(3)
    with pytest.raises(ValueError, match="not a class code"):
        s.completion(1.5)


# --- frames and tasks ---------------------------------------------------------------------------------


def _task() -> TaskData:
    X = pd.DataFrame(
        {
            "age": pd.array([30, 41, None], dtype="Int64"),
            "colour": pd.Categorical(["red", "blue", "red"]),
            "size": [1.5, 2.25, np.nan],
        }
    )
    spec = TaskSpec(
        name="frame-toy", kind="classification", source="file", loader=lambda: None, openml_id=999
    )
    return TaskData(
        name="frame-toy",
        kind="classification",
        X=X,
        y=pd.Series([0, 1, 0]),
        feature_types={"age": "integer", "colour": "categorical", "size": "numeric"},
        classes=("no", "yes"),
        source="file",
        spec=spec,
    )


def test_serialize_rows_from_task_data() -> None:
    task = _task()
    s = get_serializer("lift-names").bind(task)
    assert s.context.openml_id == 999 and not s.context.synthetic
    examples = serialize_rows(s, task.X, task.y)
    assert examples[0] == Example(
        "When we have age=30, colour=red, size=1.50, What is this type? ###", "0@@@"
    )
    assert examples[2].prompt == "When we have age=NaN, colour=red, size=NaN, What is this type? ###"
    assert [e.completion for e in serialize_rows(s, task.X, None)] == [None, None, None]
    assert serialize_rows(s, task.X[["size", "colour", "age"]])[1].prompt == examples[1].prompt
    missing_target = serialize_rows(s, task.X, [0, np.nan, 1])
    assert [e.completion for e in missing_target] == ["0@@@", None, "1@@@"]
    with pytest.raises(LiftbenchError, match="lack feature column 'age'"):
        serialize_rows(s, task.X.drop(columns="age"))


def test_serialize_rows_seeds_permutations_by_index_label() -> None:
    frame = pd.DataFrame([WIDE_ROW] * 6, index=[10, 11, 12, 13, 14, 15])
    s = get_serializer("lift-names", permute_features=2).bind(WIDE)
    whole = serialize_rows(s, frame)
    part = serialize_rows(s, frame.iloc[[4, 1]])
    assert [e.prompt for e in part] == [whole[4].prompt, whole[1].prompt]
    assert whole[0].prompt == s.prompt(WIDE_ROW, row_id=10)


# --- round trips (hypothesis) -------------------------------------------------------------------------

NAMES = ("age", "income_level", "colour", "bmi")
TYPES = ("integer", "numeric", "categorical", "numeric")
floats = st.one_of(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), st.just(math.nan))
words = st.text("abcdefghijklmnopqrstuvwxyzABC -_'", min_size=1, max_size=12).filter(
    lambda w: w != "NaN" and w.strip() == w
)
rows = st.fixed_dictionaries(
    {"age": st.one_of(st.integers(-(10**6), 10**6), st.just(math.nan)), "income_level": floats,
     "colour": words, "bmi": floats}
)  # fmt: skip


def _close(got, want, decimals: int) -> bool:
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, str):
        return got == want
    return abs(got - want) <= 0.5 * 10**-decimals + 1e-9 * abs(want)


@pytest.mark.parametrize("name", KEYED_FORMATS)
@pytest.mark.parametrize("kind", ["classification", "regression"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=rows, row_id=st.integers(0, 10**6), decimals=st.sampled_from([None, 0, 3]), permute=st.booleans())
def test_prompts_round_trip(name: str, kind: str, row: dict, row_id: int, decimals, permute: bool) -> None:
    ctx = context(NAMES, TYPES, kind, classes=("a", "b"))
    s = get_serializer(name, decimals=decimals, permute_features=11 if permute else None).bind(ctx)
    back = s.parse_prompt(s.prompt(row, row_id=row_id))
    assert set(back) == set(NAMES)
    for feature in NAMES:
        assert _close(back[feature], row[feature], s.feature_decimals), (feature, row[feature], back[feature])


@pytest.mark.parametrize("name", serializer_names())
@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(-1e7, 1e7, allow_nan=False),
    synthetic=st.booleans(),
    target_decimals=st.sampled_from([None, 1, 6]),
)
def test_regression_completions_round_trip(
    name: str, target: float, synthetic: bool, target_decimals
) -> None:
    if "regression" not in serializer_classes()[name].kinds:
        return
    ctx = REG1_SYNTHETIC if synthetic else REG1_REAL
    if name == "template":
        ctx = context(["AT", "V", "AP", "RH"], ["numeric"] * 4, "regression", name="ccpp")
    s = get_serializer(name, target_decimals=target_decimals).bind(ctx)
    answer = s.parse(s.completion(target))
    assert answer.valid and answer.terminated
    assert _close(answer.value, target, s.target_decimals)


@pytest.mark.parametrize("name", [n for n in serializer_names() if n != "template"])
@settings(max_examples=30, deadline=None)
@given(n_classes=st.integers(1, 120), data=st.data(), labels=st.sampled_from(["codes", "names"]))
def test_classification_completions_round_trip(name: str, n_classes: int, data, labels: str) -> None:
    classes = tuple(f"class {i}" for i in range(n_classes))
    s = get_serializer(name, labels=labels).bind(context(["a"], ["numeric"], classes=classes))
    code = data.draw(st.integers(0, n_classes - 1))
    assert s.parse(s.completion(code)).value == code
    assert s.parse(s.completion(code).removesuffix("@@@") + "\n").value == code  # no end marker
