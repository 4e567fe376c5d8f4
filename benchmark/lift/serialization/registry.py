"""Serializers by name. The format modules register their classes when imported; the registry imports
them on first use, so importing it stays cheap and the list is always complete."""

from __future__ import annotations

import importlib
from typing import Any

from benchmark.lift.serialization.base import Serializer, SerializerOptions
from tasks.errors import LiftbenchError, did_you_mean

_SERIALIZERS: dict[str, type[Serializer]] = {}
_FORMAT_MODULES = ("benchmark.lift.serialization.formats", "benchmark.lift.serialization.templates")
_loaded = False


def register_serializer(cls: type[Serializer]) -> type[Serializer]:
    """Class decorator: register a serializer under its `name`."""
    if cls.name in _SERIALIZERS:
        raise ValueError(f"serializer {cls.name!r} is registered twice")
    _SERIALIZERS[cls.name] = cls
    return cls


def _ensure_formats() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _FORMAT_MODULES:
            importlib.import_module(module)


def serializer_classes() -> dict[str, type[Serializer]]:
    _ensure_formats()
    return dict(_SERIALIZERS)


def serializer_names() -> list[str]:
    return list(serializer_classes())


def get_serializer(name: str, **options: Any) -> Serializer:
    """An unbound serializer with options (strings are coerced, so CLI values work); `.bind(task)` it."""
    classes = serializer_classes()
    if name not in classes:
        raise LiftbenchError(
            f"unknown serializer {name!r}{did_you_mean(name, classes)}; known: {', '.join(classes)}"
            " (`liftbench prompts list` describes them)"
        )
    return classes[name](SerializerOptions.from_mapping(options))
