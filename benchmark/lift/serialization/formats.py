"""The general serializations: the paper's `lift` and `lift-image` formats byte for byte, `lift-names`,
and the `text`, `list` and `json` serializations that TabLLM and TabuLa-8B compare.

lift        "When we have x1=0.52, x2=1.20, What is this type? ###" -> "2@@@"
            "When we have x1=3.1416, what should be the y value?###" -> "2.827@@@"
lift-names  "When we have sepal length=5.10, ..., What is this type? ###"
text        "The age is 42. The sex is female. What is this type?###"
list        "- age: 42\\n- sex: female\\nWhat is this type?###"
json        '{"age": 42, "sex": "female"}\\nWhat is this type?###'
lift-image  "Given image with pixels 0 0 ... 255 What is this digit?###" -> "7@@@"

The space before "###" in lift classification is the paper's (spec §10.17); the other formats have none.
Named formats show `display_name(column)`: underscores become spaces and SCREAMING_CASE names of four or
more letters are lower-cased (the paper's treatment of vehicle), while short acronyms (AT, RH, G1) stay.
"""

from __future__ import annotations

import json
import math
import re
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from benchmark.lift.serialization.base import Serializer, derangement, is_missing, read_value
from benchmark.lift.serialization.registry import register_serializer
from tasks.errors import LiftbenchError

CLASSIFICATION_QUESTION = "What is this type?"
REGRESSION_QUESTION = "What should be the y value?"


def display_name(name: str) -> str:
    """A column name as a prompt shows it: "PR.AXIS_ASPECT_RATIO" -> "pr.axis aspect ratio"."""
    spaced = " ".join(name.replace("_", " ").split())
    letters = [c for c in spaced if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        return spaced.lower()
    return spaced


class NamedFeatures(Serializer):
    """A serializer that labels each value with a feature name, optionally shuffled across columns."""

    def base_names(self) -> list[str]:
        return [display_name(n) for n in self.context.feature_names]

    def _prepare(self) -> None:
        names = self.base_names()
        if self.options.shuffle_names is not None:
            names = [names[i] for i in derangement(len(names), self.options.shuffle_names)]
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise LiftbenchError(
                f"task {self.context.task_name!r}: two features are both shown as {duplicate!r} by serializer "
                f"{self.name!r}; rename the columns or use serializer 'lift'"
            )
        self.names = names


class KeyedSerializer(NamedFeatures):
    """head + (prefix(name) + value + suffix + separator) per feature + question + prompt end."""

    head: ClassVar[str] = ""
    suffix: ClassVar[str] = ""
    questions: ClassVar[dict[str, str]] = {
        "classification": CLASSIFICATION_QUESTION,
        "regression": REGRESSION_QUESTION,
    }
    reads_prompts = True

    @abstractmethod
    def item_prefix(self, name: str) -> str:
        """The text before a feature's value, e.g. "x1=" or "The age is "."""

    def _prepare(self) -> None:
        super()._prepare()
        self._prefixes = [self.item_prefix(n) for n in self.names]
        keys = sorted(map(re.escape, self._prefixes), key=len, reverse=True)
        self._item_start = re.compile(f"(?:^|(?<={re.escape(self.separator)}))(?:{'|'.join(keys)})")
        self._prefix_to_position = {prefix: i for i, prefix in enumerate(self._prefixes)}

    @property
    def question(self) -> str:
        return self.questions[self.context.kind]

    def prompt_from_values(self, values: Sequence[Any], row_id: int) -> str:
        texts = self.feature_texts(values)
        closing = self.suffix + self.separator
        items = "".join(f"{self._prefixes[i]}{texts[i]}{closing}" for i in self.row_order(row_id))
        return f"{self.head}{items}{self.question}{self.options.prompt_end}"

    def parse_prompt(self, prompt: str) -> dict[str, Any]:
        """The row back, features found by their prefixes in any order. A categorical value that itself
        holds separator + another feature's prefix (", x2=") cannot be read back unambiguously."""
        tail = self.question + self.options.prompt_end
        if not (prompt.startswith(self.head) and prompt.endswith(tail)):
            raise ValueError(
                f"not a {self.name!r} prompt of task {self.context.task_name!r}: {prompt[:80]!r}"
            )
        body = prompt[len(self.head) : len(prompt) - len(tail)]
        starts = list(self._item_start.finditer(body))
        ends = [m.start() for m in starts[1:]] + [len(body)]
        closing = self.suffix + self.separator
        row: dict[str, Any] = {}
        for match, end in zip(starts, ends, strict=True):
            position = self._prefix_to_position[match.group()]
            item = body[match.end() : end]
            if not item.endswith(closing):
                raise ValueError(f"malformed item {body[match.start() : end]!r} in a {self.name!r} prompt")
            name = self.context.feature_names[position]
            row[name] = read_value(item[: len(item) - len(closing)], self.context.feature_types[position])
        if len(row) != len(self.names) or (starts and starts[0].start() != 0):
            raise ValueError(f"a {self.name!r} prompt of task {self.context.task_name!r} lacks features")
        return row


@register_serializer
class LiftSerializer(KeyedSerializer):
    name = "lift"
    description = 'the paper\'s format: "When we have x1=0.52, x2=1.20, What is this type? ###" -> "2@@@"'
    head = "When we have "
    questions = {"classification": CLASSIFICATION_QUESTION + " ", "regression": "what should be the y value?"}

    def base_names(self) -> list[str]:
        return [f"x{i + 1}" for i in range(len(self.context.feature_names))]

    def item_prefix(self, name: str) -> str:
        return f"{name}="


@register_serializer
class LiftNamesSerializer(LiftSerializer):
    name = "lift-names"
    description = 'lift with the feature names: "When we have sepal length=5.10, ..., What is this type? ###"'

    def base_names(self) -> list[str]:
        return NamedFeatures.base_names(self)


@register_serializer
class TextSerializer(KeyedSerializer):
    name = "text"
    description = 'sentences (TabLLM): "The age is 42. The sex is female. What is this type?###"'
    suffix = "."
    default_separator = " "

    def item_prefix(self, name: str) -> str:
        return f"The {name} is "


@register_serializer
class ListSerializer(KeyedSerializer):
    name = "list"
    description = 'one "- name: value" line per feature, then the question line'
    default_separator = "\n"

    def item_prefix(self, name: str) -> str:
        return f"- {name}: "


@register_serializer
class JsonSerializer(NamedFeatures):
    name = "json"
    description = "the row as one JSON object (json.dumps; missing values null), then the question line"
    unsupported_options = ("separator",)
    why_unsupported = "JSON has its own separators"
    reads_prompts = True

    def prompt_from_values(self, values: Sequence[Any], row_id: int) -> str:
        texts = self.feature_texts(values)  # rounded as the other formats round, then as JSON values
        types = self.context.feature_types
        row = {
            self.names[i]: None if is_missing(values[i]) else read_value(texts[i], types[i])
            for i in self.row_order(row_id)
        }
        question = KeyedSerializer.questions[self.context.kind]
        return f"{json.dumps(row, ensure_ascii=False, allow_nan=False)}\n{question}{self.options.prompt_end}"

    def parse_prompt(self, prompt: str) -> dict[str, Any]:
        line, _, _ = prompt.partition("\n")
        shown = json.loads(line)
        positions = {n: i for i, n in enumerate(self.names)}
        if set(shown) != set(positions):
            raise ValueError(f"a {self.name!r} prompt of task {self.context.task_name!r} has other features")
        row = {}
        for name, value in shown.items():
            position = positions[name]
            kind = self.context.feature_types[position]
            if value is None:
                value = math.nan
            elif kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            row[self.context.feature_names[position]] = value
        return row


@register_serializer
class LiftImageSerializer(Serializer):
    name = "lift-image"
    description = 'the paper\'s MNIST format: "Given image with pixels 0 0 ... 255 What is this digit?###"'
    kinds = ("classification",)
    unsupported_options = ("permute_features", "shuffle_names")
    why_unsupported = "pixels are written by position, without names"
    default_separator = " "
    reads_prompts = True
    head = "Given image with pixels "
    question = "What is this digit?"

    def default_feature_decimals(self) -> int:
        return 0

    def prompt_from_values(self, values: Sequence[Any], row_id: int) -> str:
        pixels = "".join(text + self.separator for text in self.feature_texts(values))
        return f"{self.head}{pixels}{self.question}{self.options.prompt_end}"

    def parse_prompt(self, prompt: str) -> dict[str, Any]:
        tail = self.question + self.options.prompt_end
        if not (prompt.startswith(self.head) and prompt.endswith(tail)):
            raise ValueError(f"not a {self.name!r} prompt: {prompt[:80]!r}")
        body = prompt[len(self.head) : len(prompt) - len(tail)]
        texts = body.split(self.separator)[:-1]
        if len(texts) != len(self.context.feature_names) or not body.endswith(self.separator):
            raise ValueError(
                f"a {self.name!r} prompt holds {len(texts)} pixels, not {len(self.context.feature_names)}"
            )
        return {
            name: read_value(text, kind)
            for name, kind, text in zip(
                self.context.feature_names, self.context.feature_types, texts, strict=True
            )
        }
