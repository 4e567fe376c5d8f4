"""Parsing of repeated `--param key=value` options into a dict."""

from __future__ import annotations

from collections.abc import Iterable

from tasks.errors import LiftbenchError


def parse_key_values(pairs: Iterable[str], option: str = "--param") -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise LiftbenchError(f"{option} {pair!r} is not KEY=VALUE; for example {option} n=500")
        out[key.strip()] = value.strip()
    return out
