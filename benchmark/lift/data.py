"""Training rows for LIFT: serialized once, tokenized once, batched by length.

Each training row becomes `prompt + separator + completion`, tokenized by the LM layer's
`encode_example`, whose labels are -100 on the prompt tokens; padding adds -100 labels too, so the
loss covers the completion tokens only (the paper's loss, spec §5.1). The token ids are cached in
memory per (texts, serializer settings, tokenizer, separator): the cache key is the prompt hash of the
exact texts, which already covers the task's data, the split's rows and the serializer settings, and
the tokenizer's key is a hash of its definition.

Batches are padded to their own longest row (not the whole data set's, as the paper did) and rows of
similar length are batched together by `LengthGroupedSampler`.

`batch_size` is the global batch: the rows of one optimizer step, whatever the hardware. `BatchPlan`
splits it over the world size (devices x nodes) and the gradient-accumulation steps; every step of
the sampler's order (a micro-batch over all ranks) is dealt out by `RankBatchSampler`, rank r taking
every world-size-th row of it, so the same spec sees the same rows in each optimizer step on one
device or on eight.
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
from tasks.errors import LiftbenchError

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


@dataclass(frozen=True)
class BatchPlan:
    """How the global batch (rows per optimizer step) is split over ranks and accumulation steps."""

    global_batch: int
    world_size: int = 1
    grad_accum: int = 1

    def __post_init__(self) -> None:
        if min(self.global_batch, self.world_size, self.grad_accum) < 1:
            raise ValueError("global_batch, world_size and grad_accum must be at least 1")
        if self.global_batch % (self.world_size * self.grad_accum):
            raise LiftbenchError(
                f"method 'lift': batch_size={self.global_batch} (the global batch) cannot be split evenly over "
                f"{self.world_size} device(s) x grad_accum={self.grad_accum}; use a batch_size that is a "
                f"multiple of {self.world_size * self.grad_accum}, or other devices/grad_accum"
            )

    @property
    def micro_batch(self) -> int:
        """Rows of one forward pass over all ranks together."""
        return self.global_batch // self.grad_accum

    @property
    def per_device_batch(self) -> int:
        return self.micro_batch // self.world_size

    def record(self) -> dict[str, int]:
        return {
            "global_batch": self.global_batch,
            "per_device_batch": self.per_device_batch,
            "grad_accum": self.grad_accum,
            "world_size": self.world_size,
        }


class RankBatchSampler(Sampler[list[int]]):
    """One rank's batches: the sampler's order cut into micro-batches of `micro_batch` rows, of which
    rank r takes rows r, r + world_size, ... A micro-batch shorter than the world size (the epoch's
    last) is repeated until every rank has a row, as DistributedSampler pads. `sampler` is kept as an
    attribute so Lightning's `set_epoch` reaches it."""

    def __init__(
        self, sampler: LengthGroupedSampler, micro_batch: int, rank: int = 0, world_size: int = 1
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside a world of {world_size}")
        self.sampler = sampler
        self.micro_batch = micro_batch
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.micro_batch)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(self.sampler)
        for start in range(0, len(order), self.micro_batch):
            chunk = order[start : start + self.micro_batch]
            if len(chunk) < self.world_size:
                chunk = list(np.resize(chunk, self.world_size))
            yield [int(i) for i in chunk[self.rank :: self.world_size]]


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
        self.plan = BatchPlan(batch_size)
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

    def distribute(self, world_size: int, grad_accum: int) -> BatchPlan:
        """Split the global batch over `world_size` ranks and `grad_accum` steps."""
        self.plan = BatchPlan(self.batch_size, world_size, grad_accum)
        return self.plan

    @property
    def lengths(self) -> list[int]:
        return [len(e) for e in self.encoded]

    def train_dataloader(self) -> DataLoader:
        self.setup()
        micro = self.plan.micro_batch
        order = LengthGroupedSampler(self.lengths, micro, self.seed, self.mega_batch_factor)
        rank = self.trainer.global_rank if self.trainer is not None else 0  # known once the ranks started
        return DataLoader(
            EncodedDataset(self.encoded),
            batch_sampler=RankBatchSampler(order, micro, rank, self.plan.world_size),
            collate_fn=functools.partial(collate, pad_id=self.tokenizer.pad_token_id),
        )
