"""LIFT's language interface: rows -> prompts, targets -> completions, and model text -> answers.

serializer = get_serializer("lift", decimals=3).bind(task_data)
examples = serialize_rows(serializer, X_train, y_train)   # [Example(prompt, completion), ...]
answer = serializer.parse(generated_text)                  # ParsedAnswer(value, reason, ...)
"""

from benchmark.lift.serialization.base import (
    MISSING_TOKEN,
    Example,
    SerializationContext,
    Serializer,
    SerializerOptions,
    serialize_rows,
)
from benchmark.lift.serialization.parsing import ParsedAnswer, parse_answer
from benchmark.lift.serialization.registry import (
    get_serializer,
    register_serializer,
    serializer_classes,
    serializer_names,
)

__all__ = [
    "MISSING_TOKEN",
    "Example",
    "ParsedAnswer",
    "SerializationContext",
    "Serializer",
    "SerializerOptions",
    "get_serializer",
    "parse_answer",
    "register_serializer",
    "serialize_rows",
    "serializer_classes",
    "serializer_names",
]
