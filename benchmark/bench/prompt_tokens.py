"""Tokens per row of each serializer on each task, counted as training counts them: the prompt with the
tokenizer's special prefix, then the separator and completion (`benchmark.lift.lm.loading`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchmark.lift.lm.loading import tokenize_completions, tokenize_prompts
from benchmark.lift.serialization import get_serializer, serialize_rows
from tasks.registry import load_task

SEPARATOR = " "


def tokens_per_row(
    tokenizer: Any, tasks: Mapping[str, Mapping[str, Any]], serializers: Sequence[str]
) -> list[dict[str, Any]]:
    """One entry per (task, serializer): rows, and the mean and largest tokens of prompt, completion
    and both together per row. `tasks` maps a task name to its parameters."""
    entries = []
    for task_name, params in tasks.items():
        data = load_task(task_name, **params)
        y = data.y.to_numpy()
        for name in serializers:
            rows = serialize_rows(get_serializer(name).bind(data), data.X, y)
            examples = [e for e in rows if e.completion is not None]  # a row with no target is not trained on
            prompt = np.array([len(ids) for ids in tokenize_prompts(tokenizer, [e.prompt for e in examples])])
            completion = np.array(
                [
                    len(ids)
                    for ids in tokenize_completions(tokenizer, [SEPARATOR + e.completion for e in examples])
                ]
            )
            total = prompt + completion
            entries.append(
                {
                    "task": task_name,
                    "task_params": dict(params),
                    "serializer": name,
                    "rows": len(examples),
                    "prompt_mean": float(prompt.mean()),
                    "completion_mean": float(completion.mean()),
                    "total_mean": float(total.mean()),
                    "total_max": int(total.max()),
                }
            )
    return entries
