"""Serializers by name. The format modules register their classes when imported; the registry imports
them on first lookup (its `sources`), so importing it stays cheap and the list is always complete."""

from __future__ import annotations

from typing import Any

from benchmark.lift.serialization.base import Serializer, SerializerOptions
from tasks.lazy_registry import Registry

SERIALIZERS: Registry[type[Serializer]] = Registry(
    "serializer",
    sources=("benchmark.lift.serialization.formats", "benchmark.lift.serialization.templates"),
    hint="`liftbench prompts list` describes them",
)
register_serializer = SERIALIZERS.register_class


def serializer_classes() -> dict[str, type[Serializer]]:
    return SERIALIZERS.items()


def serializer_names() -> list[str]:
    return SERIALIZERS.names()


def get_serializer(name: str, **options: Any) -> Serializer:
    """An unbound serializer with options (strings are coerced, so CLI values work); `.bind(task)` it."""
    return SERIALIZERS.get(name)(SerializerOptions.from_mapping(options))
