"""Parsing of repeated `--param key=value` (and `--option key=value`) options into a dict."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasks.errors import LiftbenchError

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def parse_key_values(pairs: Iterable[str], option: str = "--param", unescape: bool = False) -> dict[str, str]:
    """KEY=VALUE strings as a dict, values kept as typed (a separator may be ', ').

    With `unescape`, \\n, \\t and \\\\ in values become the characters they name.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise LiftbenchError(f"{option} expects KEY=VALUE, got {pair!r}; for example {option} name=value")
        if unescape:
            value = re.sub(r"\\([nt\\])", lambda m: _ESCAPES[m.group(1)], value)
        out[key.strip()] = value
    return out
