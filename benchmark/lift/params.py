"""The parameters of the LIFT methods, checked where they are declared, with no heavy imports.

`LiftParams` is the resolved configuration of `lift` (and gives the Lightning settings it trains with),
`IclParams` that of `lift-icl`; their defaults are the registered defaults of the two methods, so a
suite's parameters are validated before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark.core.metrics import HEADLINE_METRIC, METRIC_DIRECTIONS
from benchmark.lift.lm.availability import check_model_available
from benchmark.lift.lm.bundled import BUNDLED_MODEL_ID
from benchmark.lift.pretext import get_pretext
from benchmark.lift.serialization.registry import get_serializer
from tasks.errors import LiftbenchError, did_you_mean


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapters. `target_modules=None` takes peft's default for the architecture (llama and gptj:
    q_proj, v_proj; gpt2: c_attn; gpt_neox: query_key_value); "all-linear" puts adapters on every
    linear layer but the output head."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class OptimizerSettings:
    """AdamW with linear warmup then linear or cosine decay to 0 (or constant) over all steps."""

    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 6
    schedule: str = "linear"


@dataclass(frozen=True)
class TrainerSettings:
    """What goes straight to `pytorch_lightning.Trainer`. `precision=None` picks "bf16-mixed" on a CUDA
    GPU that supports it and "32-true" elsewhere; `default_root_dir=None` keeps Lightning's CSV logs in
    a temporary folder that is deleted after training."""

    epochs: int = 5
    grad_accum: int = 1
    max_grad_norm: float | None = 1.0
    precision: str | None = None
    accelerator: str = "auto"
    devices: int | str | list[int] = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    default_root_dir: str | None = None
    enable_progress_bar: bool = False


FINETUNE_MODES = ("lora", "full", "none")
SCHEDULES = ("linear", "cosine", "constant")
PREDICT_MODES = ("score", "generate", "both")
TWO_STAGE_MODES = ("none", "ift", "ft", "bl")  # benchmark.lift.two_stage
PRETEXT_MODES = ("ift", "bl")  # the modes with a stage 1 on pretext tasks
ANSWER_MARGIN_TOKENS = 4  # generated beyond the longest known completion, for longer numbers


@dataclass(frozen=True)
class LiftParams:
    """The `lift` parameters, checked. `predict=None` is "score" for classification and "generate" for
    regression; `select_metric=None` is "accuracy" or "rae"; `precision="auto"` (the default) is
    "bf16-mixed" on a GPU with bf16 and, on a CPU, bf16 only where a short probe measures it faster on
    the model's own products (`benchmark.lift.precision`); `precision=None` is the fixed rule, "32-true"
    on a CPU and "bf16-mixed" on a GPU with bf16.

    `batch_size` is the global batch, the rows of one optimizer step on any hardware: it is split over
    the devices (world size) and `grad_accum` forward passes, so it must be a multiple of
    grad_accum x world size (`benchmark.lift.data.BatchPlan`). What the hardware still decides is in
    `FitInfo.ran_with`, stored in the run's effective configuration."""

    kind: str
    model: str = BUNDLED_MODEL_ID
    init: str = "pretrained"
    serializer: str = "lift"
    serializer_options: Mapping[str, Any] = field(default_factory=dict)
    separator: str = " "
    finetune: str = "lora"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: str | tuple[str, ...] | None = None
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 8
    grad_accum: int = 1
    warmup_steps: int = 6
    schedule: str = "linear"
    weight_decay: float = 0.01
    max_grad_norm: float | None = 1.0
    precision: str | None = "auto"
    gradient_checkpointing: bool = False
    gather_loss_positions: bool = True
    predict: str | None = None
    select_metric: str | None = None
    early_stopping_patience: int = 0
    two_stage: str = "none"
    pretext: str | None = None
    pretext_rows: int = 100
    pretext_epochs: int = 3
    num_samples: int = 1
    temperature: float = 1.0
    max_new_tokens: int | None = None
    eval_batch_size: int = 16
    accelerator: str = "auto"
    devices: int | str | tuple[int, ...] = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    default_root_dir: str | None = None
    enable_progress_bar: bool = True

    def __post_init__(self) -> None:
        for name, allowed in (
            ("finetune", FINETUNE_MODES),
            ("schedule", SCHEDULES),
            ("two_stage", TWO_STAGE_MODES),
        ):
            if getattr(self, name) not in allowed:
                _bad(name, getattr(self, name), f"use one of: {', '.join(allowed)}")
        if self.predict_mode not in PREDICT_MODES:
            _bad("predict", self.predict, f"use one of: {', '.join(PREDICT_MODES)}")
        if self.kind == "regression" and self.predict_mode != "generate":
            _bad("predict", self.predict, "regression answers are generated; use predict: generate")
        if self.metric not in METRIC_DIRECTIONS:
            hint = did_you_mean(self.metric, METRIC_DIRECTIONS)
            _bad("select_metric", self.select_metric, f"use a metric with a direction{hint}")
        for name, minimum in _WHOLE_MINIMUMS.items():
            value = getattr(self, name)
            if (value is not None or name != "max_new_tokens") and not (_is_int(value) and value >= minimum):
                _bad(name, value, f"use a whole number >= {minimum}")
        for name, positive in _REAL_BOUNDS.items():
            value = getattr(self, name)
            if value is None and name == "max_grad_norm":
                continue
            if not _is_number(value) or value < 0 or (positive and value == 0):
                _bad(name, value, f"use a number {'> 0' if positive else '>= 0'}")
        if self.batch_size % self.grad_accum:
            _bad(
                "grad_accum",
                self.grad_accum,
                f"use a divisor of batch_size={self.batch_size} (the global batch)",
            )
        if self.lora_dropout >= 1:
            _bad("lora_dropout", self.lora_dropout, "use a number in [0, 1)")
        if not self.separator:
            _bad("separator", self.separator, "use a non-empty text between prompt and completion, e.g. ' '")
        if self.two_stage in PRETEXT_MODES and self.finetune == "none":
            _bad("two_stage", self.two_stage, "stage 1 fine-tunes; use finetune: lora or full")
        try:
            get_pretext(self.pretext, self.kind)
        except LiftbenchError as err:
            _bad("pretext", self.pretext, str(err))
        _check_lm_inputs(self)

    @classmethod
    def from_params(cls, kind: str, params: Mapping[str, Any]) -> LiftParams:
        values = dict(params)
        if isinstance(values.get("target_modules"), list):
            values["target_modules"] = tuple(values["target_modules"])
        if isinstance(values.get("devices"), list):
            values["devices"] = tuple(values["devices"])
        for name in _REAL_BOUNDS:
            if _is_int(values.get(name)):
                values[name] = float(values[name])
        return cls(kind=kind, serializer_options=dict(values.pop("serializer_options", None) or {}), **values)

    @property
    def predict_mode(self) -> str:
        return predict_mode(self.predict, self.kind)

    @property
    def metric(self) -> str:
        if self.select_metric is not None:
            return self.select_metric
        return HEADLINE_METRIC[self.kind]

    def lora(self) -> LoraSettings:
        return LoraSettings(self.lora_r, self.lora_alpha, self.lora_dropout, self.target_modules)

    def optimizer(self) -> OptimizerSettings:
        return OptimizerSettings(self.lr, self.weight_decay, self.warmup_steps, self.schedule)

    def trainer(self) -> TrainerSettings:
        return TrainerSettings(
            epochs=self.epochs,
            grad_accum=self.grad_accum,
            max_grad_norm=self.max_grad_norm,
            precision=self.precision,
            accelerator=self.accelerator,
            devices=list(self.devices) if isinstance(self.devices, tuple) else self.devices,
            strategy=self.strategy,
            num_nodes=self.num_nodes,
            default_root_dir=self.default_root_dir,
            enable_progress_bar=self.enable_progress_bar,
        )


_WHOLE_MINIMUMS = {  # whole-number parameters and their smallest value (max_new_tokens may be null)
    "epochs": 1,
    "batch_size": 1,
    "grad_accum": 1,
    "num_samples": 1,
    "eval_batch_size": 1,
    "num_nodes": 1,
    "lora_r": 1,
    "lora_alpha": 1,
    "max_new_tokens": 1,
    "warmup_steps": 0,
    "early_stopping_patience": 0,
    "pretext_rows": 2,
    "pretext_epochs": 1,
}
_REAL_BOUNDS = {  # number parameters: True where they must be > 0, False where >= 0 (max_grad_norm may be null)
    "lr": True,
    "temperature": True,
    "weight_decay": False,
    "max_grad_norm": False,
    "lora_dropout": False,
}


def predict_mode(predict: str | None, kind: str) -> str:
    """How a LIFT method answers: as asked, else by class scoring (classification) or generation."""
    if predict is not None:
        return predict
    return "score" if kind == "classification" else "generate"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bad(name: str, value: Any, fix: str) -> None:
    raise LiftbenchError(f"method 'lift': parameter {name}={value!r} is not valid; {fix}")


def params_defaults(params_class: type) -> dict[str, Any]:
    """A method's registered defaults: every field of its params dataclass but the task kind."""
    return {
        f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
        for f in dataclasses.fields(params_class)
        if f.name != "kind"
    }


LIFT_DEFAULTS: Mapping[str, Any] = params_defaults(LiftParams)


ICL_PREDICT_MODES = ("score", "generate")


@dataclass(frozen=True)
class IclParams:
    """The `lift-icl` parameters, checked. `predict=None` is "score" for classification and
    "generate" for regression; `max_new_tokens=None` is the longest known answer plus a margin;
    `device="auto"` is a CUDA GPU when there is one, else the CPU."""

    kind: str
    model: str = BUNDLED_MODEL_ID
    init: str = "pretrained"
    serializer: str = "lift"
    serializer_options: Mapping[str, Any] = field(default_factory=dict)
    separator: str = " "
    k: int = 16
    stratified: bool = False
    predict: str | None = None
    max_new_tokens: int | None = None
    eval_batch_size: int = 8
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.predict_mode not in ICL_PREDICT_MODES:
            _bad_icl("predict", self.predict, f"use one of: {', '.join(ICL_PREDICT_MODES)}")
        if self.kind == "regression" and self.predict_mode != "generate":
            _bad_icl("predict", self.predict, "regression answers are generated; use predict: generate")
        for name, minimum in (("k", 0), ("eval_batch_size", 1), ("max_new_tokens", 1)):
            value = getattr(self, name)
            if name == "max_new_tokens" and value is None:
                continue
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
                _bad_icl(name, value, f"use a whole number >= {minimum}")
        if not isinstance(self.stratified, bool):
            _bad_icl("stratified", self.stratified, "use true or false")
        if self.stratified and self.kind != "classification":
            _bad_icl("stratified", self.stratified, "balancing demonstrations needs classes; use false")
        if not self.separator:
            _bad_icl(
                "separator", self.separator, "use a non-empty text between prompt and completion, e.g. ' '"
            )
        _check_lm_inputs(self)

    @classmethod
    def from_params(cls, kind: str, params: Mapping[str, Any]) -> IclParams:
        values = dict(params)
        return cls(kind=kind, serializer_options=dict(values.pop("serializer_options", None) or {}), **values)

    @property
    def predict_mode(self) -> str:
        return predict_mode(self.predict, self.kind)


def _check_lm_inputs(params: LiftParams | IclParams) -> None:
    """The serializer (name and options) and the model, checked before a suite runs: found wrong
    only when a run reaches them, they would stop the suite after other runs were stored."""
    get_serializer(params.serializer, **params.serializer_options)
    check_model_available(params.model, init=params.init)


def _bad_icl(name: str, value: Any, fix: str) -> None:
    raise LiftbenchError(f"method 'lift-icl': parameter {name}={value!r} is not valid; {fix}")


ICL_DEFAULTS: Mapping[str, Any] = params_defaults(IclParams)

# Parameters that say where output goes, not what is computed: left out of the effective configuration.
OUTPUT_ONLY_PARAMS = frozenset({"enable_progress_bar", "default_root_dir"})


def effective_lm_params(params: LiftParams | IclParams) -> dict[str, Any]:
    """A LIFT-family params object as the run's effective method parameters: every field with its
    default filled in, `predict` and `select_metric` resolved for the task kind, and the serializer
    options with the serializer's own defaults (all as JSON values)."""
    out = {
        f.name: getattr(params, f.name)
        for f in dataclasses.fields(params)
        if f.name != "kind" and f.name not in OUTPUT_ONLY_PARAMS
    }
    out["predict"] = params.predict_mode
    if isinstance(params, LiftParams):
        out["select_metric"] = params.metric
    settings = get_serializer(params.serializer, **params.serializer_options).settings()
    out["serializer_options"] = {k: v for k, v in settings.items() if k != "serializer"}
    return json.loads(json.dumps(out))
