"""The LIFT methods as registered: `lift` and `lift-icl`, declared without importing torch.

Their parameters are declared and checked in `benchmark.lift.params`; the classes that fit and predict
(`benchmark.lift.method`, `benchmark.lift.icl`) are imported only when a method is built. This module
is the `lift` entry of the `liftbench.methods` entry-point group (pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmark.core.methods import MethodEntry, register_method
from benchmark.lift.params import (
    ICL_DEFAULTS,
    LIFT_DEFAULTS,
    PRETEXT_MODES,
    IclParams,
    LiftParams,
    effective_lm_params,
)
from tasks.spec import KINDS


def _validate_lift(kind: str, params: Mapping[str, Any]) -> None:
    LiftParams.from_params(kind, params)


def _validate_icl(kind: str, params: Mapping[str, Any]) -> None:
    IclParams.from_params(kind, params)


def _resolve_lift(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return effective_lm_params(LiftParams.from_params(kind, params))


def _resolve_icl(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return effective_lm_params(IclParams.from_params(kind, params))


register_method(
    MethodEntry(
        name="lift",
        factory="benchmark.lift.method:LiftMethod",
        kinds=KINDS,
        requires=("torch", "transformers", "peft", "pytorch_lightning"),
        defaults=LIFT_DEFAULTS,
        description="LIFT: fine-tune a causal LM (LoRA by default) on rows written as text",
        validate=_validate_lift,
        resolve=_resolve_lift,
        applies_when={
            name: ("two_stage", PRETEXT_MODES) for name in ("pretext", "pretext_rows", "pretext_epochs")
        },
    )
)
register_method(
    MethodEntry(
        name="lift-icl",
        factory="benchmark.lift.icl:LiftIclMethod",
        kinds=KINDS,
        requires=("torch", "transformers"),
        defaults=ICL_DEFAULTS,
        description="LIFT in context: k training rows per query as demonstrations, no fine-tuning",
        validate=_validate_icl,
        resolve=_resolve_icl,
    )
)
