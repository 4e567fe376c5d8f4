"""The run filter: a small, safe language that selects runs by their fields, e.g. `task=iris,method=logreg|svm`.

Clauses `field=value[|value...]` or `field!=value[|value...]`, separated by commas or spaces, must all
hold. Values are shell-style patterns (`plants-*`) matched against each field's text; nothing is
evaluated. A filter is checked before anything runs: a malformed one (`task==`) and one that selects
none of the runs are errors naming the filter, with the nearest names the runs do have.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

from benchmark.core.runspec import RunSpec
from tasks.errors import LiftbenchError, did_you_mean
from tasks.local_files import task_label

# The text each field is matched as; unset values read as all / clean / none.
FILTER_FIELDS: dict[str, Callable[[RunSpec], str]] = {
    "task": lambda spec: task_label(spec.task, spec.task_params),  # a file task by its name= or file stem
    "method": lambda spec: spec.method,
    "seed": lambda spec: str(spec.seed),
    "split_seed": lambda spec: str(spec.split_seed),
    "split_protocol": lambda spec: spec.split_protocol,
    "train_size": lambda spec: "all" if spec.train_size is None else str(spec.train_size),
    "perturbation": lambda spec: "clean" if spec.perturbation is None else spec.perturbation.name,
    "serializer": lambda spec: spec.serializer or "none",
    "model": lambda spec: spec.model or "none",
    "hash": lambda spec: spec.hash,
}
_CLAUSE = re.compile(r"^(?P<field>[A-Za-z_]+)(?P<op>!=|=)(?P<values>[^=]+)$")
_LISTED_VALUES = 8  # values of a field shown when none is close to the one asked for


def _parse_filter(expr: str) -> list[tuple[str, bool, tuple[str, ...]]]:
    clauses = []
    for clause in (part for part in re.split(r"[,\s]+", expr.strip()) if part):
        match = _CLAUSE.match(clause)
        if match is None:
            raise LiftbenchError(
                f"filter {expr!r}: {clause!r} is not field=value; write e.g. task=iris,method=logreg|svm"
                " (several values of one field are joined with |)"
            )
        field = match["field"]
        if field not in FILTER_FIELDS:
            raise LiftbenchError(
                f"filter {expr!r}: unknown field {field!r}{did_you_mean(field, FILTER_FIELDS)};"
                f" fields: {', '.join(FILTER_FIELDS)}"
            )
        values = tuple(match["values"].split("|"))
        if not all(values):
            raise LiftbenchError(f"filter {expr!r}: {clause!r} has an empty value; write field=a|b")
        clauses.append((field, match["op"] == "=", values))
    return clauses


def filter_runs(runs: Sequence[RunSpec], expr: str, source: str = "the suite") -> list[RunSpec]:
    """The runs that satisfy every clause of `expr`, in their order, e.g. `task=iris,method=logreg|svm seed=0`.

    `field!=a|b` keeps runs matching none of the values. Unset values read as `all` (train_size),
    `clean` (perturbation) and `none` (serializer, model); `hash=3fa2*` selects by hash prefix.
    A filter that keeps none of the (non-empty) `runs` of `source` is a LiftbenchError with a
    did-you-mean of the values the runs have, since running nothing is never what was meant.
    """
    clauses = _parse_filter(expr)
    kept = [spec for spec in runs if all(_holds(spec, clause) for clause in clauses)]
    if runs and not kept:
        raise LiftbenchError(
            f"filter {expr!r} matches none of the {len(runs)} runs of {source}{_nearest(runs, clauses)};"
            " `liftbench run --dry-run` lists them"
        )
    return kept


def _holds(spec: RunSpec, clause: tuple[str, bool, tuple[str, ...]]) -> bool:
    field, wanted, values = clause
    return any(fnmatch.fnmatchcase(FILTER_FIELDS[field](spec), value) for value in values) == wanted


def _nearest(runs: Sequence[RunSpec], clauses: list[tuple[str, bool, tuple[str, ...]]]) -> str:
    """For the first `field=value` whose values match no run: the closest values, or those there are."""
    for field, wanted, values in clauses:
        present = sorted({FILTER_FIELDS[field](spec) for spec in runs})
        if not wanted or any(fnmatch.fnmatchcase(name, value) for name in present for value in values):
            continue
        hint = did_you_mean(values[0], present)
        if hint:
            return f"; no run has {field} {values[0]!r}{hint}"
        shown = ", ".join(present[:_LISTED_VALUES]) + (", ..." if len(present) > _LISTED_VALUES else "")
        return f"; no run has {field} {values[0]!r} ({field}s: {shown})"
    return " (each clause matches some runs, but no run matches them all)"
