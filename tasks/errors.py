"""The one exception type for problems a user can cause and fix.

Anything raised as `LiftbenchError` reaches the user as one line (no traceback) and the CLI exits
with code 2. Messages name the input, say what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LiftbenchError(Exception):
    """A user-fixable problem: bad input, a missing dataset or model, a malformed file."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean: a, b?)' suffix with the closest candidates, or '' when none is close."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""
