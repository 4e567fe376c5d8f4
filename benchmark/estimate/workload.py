"""What one run does, counted before it runs: its rows, and for an LM method its tokens.

Rows: the run's own split and evaluation sets (`rows_for_spec`, clean: the shapes a perturbation
leaves alone) wherever the task loads here (synthetic, bundled and mirrored tasks, a filled OpenML
cache); otherwise the published size split as the protocol splits it (`harness.cost.run_shape`).

Tokens: where the rows load and the model's tokenizer is here, every serialized row is tokenized
as training and prediction tokenize it (the tokenizer's prefix, the prompt, the separator and the
completion); otherwise `harness.cost`'s tokens per feature, and `Workload.counted` says so.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from benchmark.core.rows import evaluation_set_of, rows_for_spec
from benchmark.core.runspec import RunSpec
from benchmark.harness.cost import constant_tokens, run_shape
from benchmark.lift.lm.bundled import load_bundled_tokenizer
from benchmark.lift.lm.loading import (
    BUNDLED_MODEL,
    TINY_PREFIX,
    load_causal_lm,
    prepare_tokenizer,
    tokenize_completions,
    tokenize_prompts,
)
from benchmark.lift.serialization import get_serializer, serialize_rows
from tasks.errors import LiftbenchError
from tasks.spec import TaskData

COUNTED = "tokenizer"
CONSTANTS = "per-feature constants"


@dataclass(frozen=True)
class Tokens:
    """Mean tokens per row as an LM run sees them, and how they were counted."""

    train_row: float  # a training row: prompt and completion
    train_row_max: int  # the longest one (a batch's width, which keys `precision: auto`)
    prompt: float  # a validation or test prompt
    eval_prompts: tuple[float, ...]  # each evaluation set's prompts
    answers: float  # every class completion together (what scoring feeds after the prompt)
    generated: int  # decoding steps of a batch: the longest answer, its end marker included
    counted: str  # COUNTED or CONSTANTS


@dataclass(frozen=True)
class Workload:
    kind: str
    n_train: int
    n_features: int
    n_val: int
    n_test: int
    eval_rows: tuple[int, ...]
    tokens: Tokens | None = None  # LM methods only

    @property
    def predicted_rows(self) -> int:
        return self.n_test + sum(self.eval_rows)


def workload(spec: RunSpec, params: Mapping[str, Any]) -> Workload:
    """The rows (and, when `params` names a model, the tokens) of one run (module docstring)."""
    try:
        rows = rows_for_spec(spec, clean=True)
    except LiftbenchError:
        return _published(spec, params)
    data, split = rows.clean_data, rows.clean_split
    evaluations = [evaluation_set_of(e, spec.row_limit).rows(data, split).X for e in spec.evaluations]
    n_train, n_val, n_test = (len(split.train), len(split.val), len(split.test))
    shape = Workload(data.kind, n_train, data.n_features, n_val, n_test, tuple(len(x) for x in evaluations))
    if not isinstance(params.get("model"), str):
        return shape
    try:
        tokenizer = model_tokenizer(params["model"])
    except (LiftbenchError, OSError, ValueError):
        return _published(spec, params)
    y = rows.y
    counted = _counted_tokens(tokenizer, data, params, rows.X_train, y[split.train], data.X.iloc[split.val])
    eval_prompts = tuple(_mean_prompt(tokenizer, data, params, x) for x in evaluations)
    return Workload(**{**shape.__dict__, "tokens": Tokens(**{**counted, "eval_prompts": eval_prompts})})


def _published(spec: RunSpec, params: Mapping[str, Any]) -> Workload:
    shape = run_shape(spec)
    evals = (shape.n_eval,) if shape.n_eval else ()
    work = Workload(shape.kind, shape.n_train, shape.n_features, shape.n_val, shape.n_test, evals)
    if not isinstance(params.get("model"), str):
        return work
    prompt, completion = constant_tokens(params.get("serializer"), shape.n_features, shape.kind)
    tokens = Tokens(
        train_row=prompt + completion,
        train_row_max=round(prompt + completion),
        prompt=prompt,
        eval_prompts=tuple(prompt for _ in evals),
        answers=completion * max(shape.n_classes, 1),
        generated=completion,
        counted=CONSTANTS,
    )
    return Workload(**{**work.__dict__, "tokens": tokens})


@functools.cache
def model_tokenizer(model: str) -> Any:
    """The tokenizer `load_causal_lm(model)` would give, without the weights where that is possible."""
    if model == BUNDLED_MODEL:
        return prepare_tokenizer(load_bundled_tokenizer(), model)
    if model.startswith(TINY_PREFIX) and "/" not in model:
        return load_causal_lm(model).tokenizer  # a tiny model is built in milliseconds
    from_disk = Path(model).expanduser()
    source = str(from_disk) if from_disk.is_dir() else model
    # the folder's or the Hugging Face cache's tokenizer, never the network (OSError when absent)
    return prepare_tokenizer(AutoTokenizer.from_pretrained(source, local_files_only=True), model)


def _serializer(data: TaskData, params: Mapping[str, Any]) -> Any:
    return get_serializer(params["serializer"], **dict(params.get("serializer_options") or {})).bind(data)


def _mean_prompt(tokenizer: Any, data: TaskData, params: Mapping[str, Any], X: Any) -> float:
    if len(X) == 0:
        return 0.0
    prompts = [e.prompt for e in serialize_rows(_serializer(data, params), X)]
    return float(np.mean([len(ids) for ids in tokenize_prompts(tokenizer, prompts)]))


def _counted_tokens(
    tokenizer: Any, data: TaskData, params: Mapping[str, Any], X_train: Any, y_train: Any, X_val: Any
) -> dict[str, Any]:
    serializer = _serializer(data, params)
    separator = str(params.get("separator", " "))
    examples = [e for e in serialize_rows(serializer, X_train, y_train) if e.completion is not None]
    prompts = [len(ids) for ids in tokenize_prompts(tokenizer, [e.prompt for e in examples])]
    completions = [
        len(ids) for ids in tokenize_completions(tokenizer, [separator + e.completion for e in examples])
    ]
    if data.kind == "classification":
        classes = [separator + serializer.completion(k) for k in range(len(data.classes or ()))]
        class_tokens = [len(ids) for ids in tokenize_completions(tokenizer, classes)]
        answers, generated = float(sum(class_tokens)), max(class_tokens)
    else:
        answers, generated = 0.0, max(completions, default=1)
    return {
        "train_row": float(np.mean(prompts) + np.mean(completions)) if examples else 0.0,
        "train_row_max": max((p + c for p, c in zip(prompts, completions, strict=True)), default=0),
        "prompt": _mean_prompt(tokenizer, data, params, X_val if len(X_val) else X_train),
        "answers": answers,
        "generated": int(generated),
        "counted": COUNTED,
    }
