"""`compose`: several perturbations applied in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tasks.errors import LiftbenchError
from tasks.perturbations.base import (
    Perturbed,
    TablePerturbation,
    make_perturbation,
    register_perturbation,
)
from tasks.perturbations.params import (
    REQUIRED,
    ParamSpec,
)
from tasks.spec import KINDS, TaskData
from tasks.splits import Split


@register_perturbation
class Compose(TablePerturbation):
    name = "compose"
    description = "several perturbations applied in order: steps [{name, params}, ...]"
    applies_to = "all"

    @staticmethod
    def _parse_steps(value: Any) -> tuple[dict[str, Any], ...]:
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise ValueError
        steps = []
        for entry in value:
            if isinstance(entry, str) and entry:
                steps.append({"name": entry, "params": {}})
            elif (
                isinstance(entry, Mapping)
                and set(entry) <= {"name", "params"}
                and isinstance(entry.get("name"), str)
            ):
                params = entry.get("params") or {}
                if not isinstance(params, Mapping):
                    raise ValueError
                steps.append({"name": entry["name"], "params": dict(params)})
            else:
                raise ValueError
        return tuple(steps)

    param_specs = {
        "steps": ParamSpec(REQUIRED, _parse_steps, "a non-empty list of names or {name, params} entries"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.steps: list[TablePerturbation] = []
        for i, step in enumerate(self.params["steps"]):
            try:
                self.steps.append(make_perturbation(step["name"], step["params"]))
            except LiftbenchError as err:
                raise LiftbenchError(f"perturbation 'compose', steps[{i}]: {err}") from None
        targets = {step.applies_to for step in self.steps}
        self.applies_to = targets.pop() if len(targets) == 1 else "all"
        self.kinds = tuple(k for k in KINDS if all(k in step.kinds for step in self.steps))
        self.changes_features = any(step.changes_features for step in self.steps)

    def check(self, data: TaskData) -> None:
        """Each step is checked against the task's own data (a step cannot name columns an earlier one adds)."""
        for i, step in enumerate(self.steps):
            try:
                step.check(data)
            except LiftbenchError as err:
                raise LiftbenchError(f"perturbation 'compose', steps[{i}]: {err}") from None

    def _apply(self, data: TaskData, split: Split, seed: int) -> Perturbed:
        reports = []
        children = np.random.SeedSequence(seed).spawn(len(self.steps))
        for step, child in zip(self.steps, children, strict=True):
            done = step.apply(data, split, int(child.generate_state(1)[0]))
            data, split = done.data, done.split
            reports.append({"name": step.name, **done.report})
        return Perturbed(data, split, {"steps": reports})
