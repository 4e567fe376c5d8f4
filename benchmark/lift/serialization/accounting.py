"""Prompt accounting: a hash of the exact texts a run used, token counts, and the context-length check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.lift.serialization.base import Example
from tasks.errors import LiftbenchError

# Hugging Face tokenizers without a known limit report a huge sentinel (1e30) as model_max_length.
_NO_LIMIT = 10**9
_BATCH = 1024


def prompt_hash(
    serializer_settings: Mapping[str, Any], examples: Iterable[Example | tuple[str, str | None]]
) -> str:
    """A short sha256 over the serializer settings and the exact prompt and completion texts, in order."""
    digest = hashlib.sha256(json.dumps(dict(serializer_settings), sort_keys=True, default=str).encode())
    for example in examples:
        prompt, completion = (example.prompt, example.completion) if isinstance(example, Example) else example
        digest.update(json.dumps([prompt, completion], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class TokenStats:
    mean: float
    max: int
    total: int

    @classmethod
    def from_lengths(cls, lengths: Sequence[int]) -> TokenStats:
        if not lengths:
            return cls(0.0, 0, 0)
        return cls(sum(lengths) / len(lengths), max(lengths), sum(lengths))


def token_lengths(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Tokens per text as a Hugging Face tokenizer encodes it (with its special tokens, if it adds any)."""
    lengths: list[int] = []
    for start in range(0, len(texts), _BATCH):
        encoded = tokenizer(list(texts[start : start + _BATCH]))["input_ids"]
        lengths.extend(len(ids) for ids in encoded)
    return lengths


def token_stats(tokenizer: Any, texts: Sequence[str]) -> TokenStats:
    return TokenStats.from_lengths(token_lengths(tokenizer, texts))


def context_limit(tokenizer: Any, config: Any = None) -> int | None:
    """The model's context in tokens: the tokenizer's model_max_length when it is a real limit, else the
    config's max_position_embeddings (or n_positions), else None."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < _NO_LIMIT:
        return limit
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_fits_context(task_name: str, serializer_name: str, lengths: Sequence[int], limit: int) -> None:
    """Raise a LiftbenchError when any row's token count exceeds the model's context."""
    if not lengths or max(lengths) <= limit:
        return
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    too_long = sum(n > limit for n in lengths)
    raise LiftbenchError(
        f"task {task_name!r} with serializer {serializer_name!r}: {too_long} of {len(lengths)} rows exceed the "
        f"model's context of {limit} tokens; the longest (row {longest}) has {lengths[longest]} tokens. "
        "Use a model with a longer context, a more compact serializer (lift, fewer decimals), or fewer features"
    )
