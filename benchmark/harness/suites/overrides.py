"""`liftbench run --set METHOD.KEY=VALUE` and `--limit-rows N`: the same suite, changed for a smoke run.

Both change the RunSpecs themselves, so a changed run has its own hash and its own stored result: a
smoke run (a tiny model, one epoch, 40 rows per split) never stands in for, nor resumes as, the run
the suite names. `--set lift.epochs=1` sets the method parameter `epochs` of every `lift` run; the
value is read as YAML, as in a suite file (`1` an integer, `1e-4` a number, `[a, b]` a list). A key
that is also a RunSpec field of LM methods (`model`, `serializer`, `serializer_options`) replaces
that field where the run sets it (a suite's `models:` axis), and the method parameter otherwise.
Runs that become equal are kept once, in their order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from benchmark.core.runspec import FrozenParams, RunSpec
from benchmark.harness.effective import LM_FIELDS
from benchmark.harness.suites.suite_file import SuiteLoader
from tasks.errors import LiftbenchError, did_you_mean

_KEY = re.compile(r"^(?P<method>[A-Za-z0-9_-]+)\.(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Override:
    """One `--set METHOD.KEY=VALUE`."""

    method: str
    key: str
    value: Any
    text: str


def parse_override(text: str) -> Override:
    """`lift.epochs=1` -> Override("lift", "epochs", 1); a malformed one is a one-line LiftbenchError."""
    match = _KEY.match(text.strip())
    if match is None:
        raise LiftbenchError(
            f"--set {text!r} is not METHOD.KEY=VALUE; write e.g. --set lift.model=tiny-gpt2 --set lift.epochs=1"
        )
    try:
        value = yaml.load(match["value"], Loader=SuiteLoader) if match["value"].strip() else None
    except yaml.YAMLError as err:
        raise LiftbenchError(
            f"--set {text!r}: the value is not valid YAML ({err.__class__.__name__})"
        ) from None
    return Override(match["method"], match["key"], value, text.strip())


def apply_overrides(
    runs: Sequence[RunSpec], overrides: Sequence[Override], method_params: Mapping[str, Mapping[str, Any]]
) -> list[RunSpec]:
    """`runs` with every override applied to the runs of its method, then de-duplicated by hash.

    `method_params` maps each registered method to its parameter defaults: an unknown method or
    parameter is an error before anything runs.
    """
    for override in overrides:
        if override.method not in method_params:
            raise LiftbenchError(
                f"--set {override.text!r}: unknown method {override.method!r}"
                f"{did_you_mean(override.method, method_params)}; known: {', '.join(sorted(method_params))}"
            )
        known = method_params[override.method]
        if override.key not in known:
            raise LiftbenchError(
                f"--set {override.text!r}: method {override.method!r} has no parameter {override.key!r}"
                f"{did_you_mean(override.key, known)}; its parameters: {', '.join(sorted(known)) or 'none'}"
            )
    changed: dict[str, RunSpec] = {}
    for spec in runs:
        for override in overrides:
            if spec.method == override.method:
                spec = _overridden(spec, override)
        changed.setdefault(spec.hash, spec)
    return list(changed.values())


def _overridden(spec: RunSpec, override: Override) -> RunSpec:
    if override.key in LM_FIELDS and getattr(spec, override.key):
        return dataclasses.replace(spec, **{override.key: override.value})
    params = {**spec.method_params.to_json(), override.key: override.value}
    return dataclasses.replace(spec, method_params=FrozenParams(params, where=f"--set {override.text}"))


def with_row_limit(runs: Sequence[RunSpec], limit: int | None) -> list[RunSpec]:
    """`runs` with every split capped at `limit` rows (`RunSpec.row_limit`); None leaves them as they are."""
    if limit is None:
        return list(runs)
    return list({s.hash: s for s in (dataclasses.replace(spec, row_limit=limit) for spec in runs)}.values())
