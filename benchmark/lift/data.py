"""Training rows for LIFT: serialized once, tokenized once, batched by length.

Each training row becomes `prompt + separator + completion`, tokenized by the LM layer's
`encode_example`, whose labels are -100 on the prompt tokens; padding adds -100 labels too, so the
loss covers the completion tokens only (the paper's loss, spec §5.1). The token ids are cached in
memory per (texts, serializer settings, tokenizer, separator): the cache key is the prompt hash of the
exact texts, which already covers the task's data, the split's rows and the serializer settings, and
the tokenizer's key is a hash of its definition.

Batches are padded to their own longest row (not the whole data set's, as the paper did) and rows of
similar length are batched together by `LengthGroupedSampler`.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from benchmark.lift.lm.loading import IGNORE_INDEX, encode_example, pad_batch
from benchmark.lift.serialization import Example, Serializer, serialize_rows
from benchmark.lift.serialization.accounting import prompt_hash

MEGA_BATCH_FACTOR = 8  # batches per length-sorted group: larger pads less, smaller shuffles more
_CACHE_SIZE = 16


@dataclass(frozen=True)
class EncodedExample:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # IGNORE_INDEX on the prompt tokens, the ids on the completion tokens

    def __len__(self) -> int:
        return len(self.input_ids)


_ENCODED: OrderedDict[tuple[str, ...], tuple[EncodedExample, ...]] = OrderedDict()


def tokenizer_fingerprint(tokenizer: object) -> str | None:
    """A hash of everything that decides a fast tokenizer's ids (vocabulary, merges, normalizer,
    pre- and post-processing, BOS included); None for a tokenizer that cannot say (not cached then).
    Names are not enough: two tokenizers may share a name and a size and still differ."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    return hashlib.sha256(backend.to_str().encode()).hexdigest()[:16]


def encode_examples(
    tokenizer: object, examples: Sequence[Example], separator: str, settings: Mapping[str, Any]
) -> tuple[EncodedExample, ...]:
    """The token ids and labels of serialized rows, from the in-memory cache when they were encoded before."""
    fingerprint = tokenizer_fingerprint(tokenizer)
    key = None if fingerprint is None else (prompt_hash(settings, examples), fingerprint, separator)
    cached = _ENCODED.get(key) if key is not None else None
    if cached is not None:
        _ENCODED.move_to_end(key)
        return cached
    encoded = []
    for example in examples:
        if example.completion is None:
            raise ValueError("a training row has no target; rows with a missing target cannot be trained on")
        input_ids, labels = encode_example(tokenizer, example.prompt, example.completion, separator)
        encoded.append(EncodedExample(tuple(input_ids), tuple(labels)))
    result = tuple(encoded)
    if key is not None:
        _ENCODED[key] = result
        while len(_ENCODED) > _CACHE_SIZE:
            _ENCODED.popitem(last=False)
    return result


class LengthGroupedSampler(Sampler[int]):
    """Row order for one epoch: a seeded shuffle, cut into groups of `mega_batch_factor` batches,
    each group sorted by length (longest first) and its batches put in a seeded order.

    The indices come out batch by batch, so a DataLoader with the same `batch_size` gets batches of
    similar lengths. The order depends only on (seed, epoch); Lightning calls `set_epoch`.
    """

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int, mega_batch_factor: int = MEGA_BATCH_FACTOR
    ) -> None:
        if batch_size < 1 or mega_batch_factor < 1:
            raise ValueError("batch_size and mega_batch_factor must be positive")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.mega_batch_factor = mega_batch_factor
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        group = self.batch_size * self.mega_batch_factor
        for start in range(0, len(order), group):
            chunk = order[start : start + group]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches = [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
            for b in rng.permutation(len(batches)):
                yield from (int(i) for i in batches[b])


class EncodedDataset(Dataset[EncodedExample]):
    def __init__(self, examples: Sequence[EncodedExample]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> EncodedExample:
        return self.examples[index]


def collate(examples: Sequence[EncodedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch to its longest row: input_ids, attention_mask, and labels (-100 on padding)."""
    input_ids, attention_mask = pad_batch([e.input_ids for e in examples], pad_id, side="right")
    labels, _ = pad_batch([e.labels for e in examples], IGNORE_INDEX, side="right")
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class LiftDataModule(pl.LightningDataModule):
    """The training rows of one run as padded, length-grouped batches of completion-only labels."""

    def __init__(
        self,
        serializer: Serializer,
        tokenizer: object,
        X_train: pd.DataFrame,
        y_train: np.ndarray,
        *,
        batch_size: int,
        seed: int,
        separator: str = " ",
        mega_batch_factor: int = MEGA_BATCH_FACTOR,
    ) -> None:
        super().__init__()
        self.serializer = serializer
        self.tokenizer = tokenizer
        self.X_train = X_train
        self.y_train = y_train
        self.batch_size = batch_size
        self.seed = seed
        self.separator = separator
        self.mega_batch_factor = mega_batch_factor
        self.examples: list[Example] = []
        self.encoded: tuple[EncodedExample, ...] = ()

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        self.examples = serialize_rows(self.serializer, self.X_train, self.y_train)
        self.encoded = encode_examples(
            self.tokenizer, self.examples, self.separator, self.serializer.settings()
        )

    @property
    def lengths(self) -> list[int]:
        return [len(e) for e in self.encoded]

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(
            EncodedDataset(self.encoded),
            batch_size=self.batch_size,
            sampler=LengthGroupedSampler(self.lengths, self.batch_size, self.seed, self.mega_batch_factor),
            collate_fn=functools.partial(collate, pad_id=self.tokenizer.pad_token_id),
        )
