"""`lift-icl`: in-context learning with no fine-tuning, the paper's LIICL (lift-spec.md §5.4), done right.

For every query row, `k` training rows (demonstrations) are drawn for that query alone, by a generator
seeded with (seed, the query's row id); the paper drew one shuffled prefix and reused it for every
query. The model reads

    <prompt><separator><completion>\\n      one line per demonstration
    <query prompt>

and answers after the query prompt exactly as a fine-tuned LIFT model does: by scoring every class
completion (classification, `predict="score"`, the default; the softmax over classes is `proba`) or by
generating and parsing with the shared parser (`predict="generate"`; regression always generates). An
unparsable answer is `INVALID_CLASS` (classification) or the mean of the training targets (regression),
and is marked invalid either way.

Fitting the context: the paper's tokenizer truncated on the right at 1024 tokens, so a long prefix cut
the query away. Here demonstrations are dropped, the last drawn first, until the prompt and the answer
(the longest class completion when scoring, `max_new_tokens` when generating) fit the model's context;
the query is never cut. A query that does not fit even alone is a LiftbenchError naming the task, the
row's tokens and the limit.

Row ids are a frame's index labels when they are non-negative integers (as the serializers use them),
else positions. A query with the same labelled id as a training row (a training row being predicted)
never sees itself among its demonstrations. With `stratified`, demonstrations are balanced across
classes: each class's rows in a shuffled order, the classes in a shuffled order, taken in turn, so
every prefix (what remains when demonstrations are dropped) is as balanced as it can be.

fit loads the model, serializes the training rows once (the demonstration pool) and, when there are
validation rows, predicts them as a check (nothing is selected): `FitInfo.extra` records the
validation metric and how the demonstrations fitted those queries (mean demonstrations per query, the
number of queries that had some dropped).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmark.core.methods import INVALID_CLASS, FitData, FitInfo, Predictions
from benchmark.core.metrics import compute_metrics
from benchmark.lift.lm.loading import (
    LoadedLM,
    lm_identity,
    load_causal_lm,
    tokenize_completions,
    tokenize_prompts,
)
from benchmark.lift.lm.predict import class_probabilities, generate, score_classes
from benchmark.lift.params import ANSWER_MARGIN_TOKENS, IclParams
from benchmark.lift.serialization import Serializer, get_serializer, serialize_rows
from benchmark.lift.serialization.accounting import check_fits_context, prompt_hash
from benchmark.lift.serialization.parsing import sample_flags
from tasks.errors import LiftbenchError

DEMONSTRATION_END = "\n"  # ends each demonstration line


def row_ids(X: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Each row's id and whether the ids are index labels (non-negative integers) rather than positions."""
    index = X.index
    if pd.api.types.is_integer_dtype(index) and (len(index) == 0 or index.min() >= 0):
        return np.asarray(index, dtype=np.int64), True
    return np.arange(len(X), dtype=np.int64), False


@dataclass(frozen=True)
class IclPrompt:
    """One query's model input: the text, the exact ids the model is given, the demonstrations (pool
    positions, in prompt order) and how many drawn demonstrations were dropped to fit the context."""

    text: str
    input_ids: list[int]
    demonstrations: tuple[int, ...]
    dropped: int


class DemonstrationPrompts:
    """Builds every query's prompt from a pool of training rows (module docstring: drawing, fitting).

    `answer_tokens` is the room kept for the answer after the prompt; `context_length=None` means no
    limit.
    """

    def __init__(
        self,
        lm: LoadedLM,
        serializer: Serializer,
        X_pool: pd.DataFrame,
        y_pool: np.ndarray,
        *,
        k: int,
        seed: int,
        separator: str = " ",
        stratified: bool = False,
        answer_tokens: int = 0,
        task_name: str = "",
    ) -> None:

        self.lm = lm
        self.serializer = serializer
        self.k = k
        self.seed = seed
        self.stratified = stratified
        self.answer_tokens = answer_tokens
        self.task_name = task_name or serializer.context.task_name
        examples = serialize_rows(serializer, X_pool, y_pool)
        kept = np.array([e.completion is not None for e in examples], dtype=bool)
        self.examples = [e for e in examples if e.completion is not None]  # rows with a known target
        self.lines = [e.prompt + separator + e.completion + DEMONSTRATION_END for e in self.examples]
        self.line_tokens = np.array([len(ids) for ids in tokenize_completions(lm.tokenizer, self.lines)])
        ids, self.labelled = row_ids(X_pool)
        self.pool_ids = ids[kept]
        self.pool_y = np.asarray(y_pool)[kept]

    @property
    def budget(self) -> int | None:
        """Tokens the prompt may take: the context less the answer's room (None: no limit)."""
        limit = self.lm.context_length
        return None if limit is None else limit - self.answer_tokens

    def draw(self, seed_id: int, exclude_id: int | None = None) -> np.ndarray:
        """Pool positions of the demonstrations drawn for the query with id `seed_id`, in prompt order
        (at most k; none with id `exclude_id`)."""
        rng = np.random.default_rng([self.seed, seed_id])
        candidates = np.arange(len(self.lines))
        if exclude_id is not None and self.labelled:
            candidates = candidates[self.pool_ids != exclude_id]
        n = min(self.k, len(candidates))
        if not self.stratified:
            return rng.choice(candidates, size=n, replace=False)
        labels = self.pool_y[candidates]
        groups = [rng.permutation(candidates[labels == c]) for c in rng.permutation(np.unique(labels))]
        interleaved = [g[r] for r in range(max(map(len, groups), default=0)) for g in groups if r < len(g)]
        return np.array(interleaved[:n], dtype=np.int64)

    def build(self, X: pd.DataFrame) -> list[IclPrompt]:
        """The model input of every row of `X` (the query rows)."""

        queries = [e.prompt for e in serialize_rows(self.serializer, X)]
        query_ids = tokenize_prompts(self.lm.tokenizer, queries)
        budget = self.budget
        if budget is not None:
            try:
                lengths = [len(ids) + self.answer_tokens for ids in query_ids]
                check_fits_context(self.task_name, self.serializer.name, lengths, self.lm.context_length)
            except LiftbenchError as err:
                raise LiftbenchError(f"method 'lift-icl', even with no demonstrations: {err}") from None
        ids, labelled = row_ids(X)
        prompts = []
        for query, own_ids, row_id in zip(queries, query_ids, ids, strict=True):
            order = self.draw(int(row_id), int(row_id) if labelled else None)
            n = len(order)
            if budget is not None:  # the longest prefix whose token count, added up, fits
                totals = len(own_ids) + np.cumsum(self.line_tokens[order])
                n = int(np.searchsorted(totals, budget, side="right"))
            prompt = self._prompt(query, order, n)
            while budget is not None and len(prompt.input_ids) > budget:  # merges across lines differ
                n -= 1
                prompt = self._prompt(query, order, n)
            prompts.append(prompt)
        return prompts

    def _prompt(self, query: str, order: np.ndarray, n: int) -> IclPrompt:

        text = "".join(self.lines[i] for i in order[:n]) + query
        return IclPrompt(
            text=text,
            input_ids=tokenize_prompts(self.lm.tokenizer, [text])[0],
            demonstrations=tuple(int(i) for i in order[:n]),
            dropped=len(order) - n,
        )


def demonstration_stats(prompts: Sequence[IclPrompt]) -> dict[str, Any]:
    """How the demonstrations fitted a set of queries."""
    if not prompts:
        return {"queries": 0, "mean_demonstrations": None, "queries_with_dropped_demonstrations": 0}
    return {
        "queries": len(prompts),
        "mean_demonstrations": float(np.mean([len(p.demonstrations) for p in prompts])),
        "min_demonstrations": min(len(p.demonstrations) for p in prompts),
        "queries_with_dropped_demonstrations": sum(p.dropped > 0 for p in prompts),
    }


class LiftIclMethod:
    """In-context learning for one task kind (module docstring). Built by
    `make_method("lift-icl", kind, seed, params)`; demonstrations are drawn from `FitData.seed`."""

    name = "lift-icl"

    def __init__(self, kind: str, seed: int = 0, **params: Any) -> None:
        self.params = IclParams.from_params(kind, params)
        self.seed = seed
        self._lm: LoadedLM | None = None
        self._serializer: Serializer | None = None
        self._prompts: DemonstrationPrompts | None = None
        self._n_classes = 0
        self._max_new_tokens = 1
        self._fallback_mean = 0.0

    def fit(self, data: FitData) -> FitInfo:
        p = self.params
        if data.kind != p.kind:
            raise ValueError(f"this lift-icl method was built for {p.kind}, the task is {data.kind}")
        self.seed = data.seed
        self._serializer = serializer = get_serializer(p.serializer, **p.serializer_options).bind(data.task)
        self._n_classes = data.n_classes or 0
        y_train = np.asarray(data.y_train)
        lm = load_causal_lm(p.model, init=p.init, seed=data.seed)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if p.device == "auto" else p.device
        ran_with = {
            **lm_identity(lm),
            "precision": "32-true",
            "accelerator": torch.device(device).type,
            "world_size": 1,
        }
        lm.model.to(device)
        self._lm = lm
        if data.kind == "regression":
            self._fallback_mean = float(np.mean(y_train.astype(float)))
        answers = (
            [serializer.completion(c) for c in range(self._n_classes)]
            if data.kind == "classification"
            else [serializer.completion(t) for t in y_train if not pd.isna(t)]
        )
        answer_tokens = max(
            (len(ids) for ids in tokenize_completions(lm.tokenizer, [p.separator + a for a in answers])),
            default=0,
        )
        self._max_new_tokens = p.max_new_tokens or answer_tokens + ANSWER_MARGIN_TOKENS
        self._prompts = prompts = DemonstrationPrompts(
            lm,
            serializer,
            data.X_train,
            y_train,
            k=p.k,
            seed=data.seed,
            separator=p.separator,
            stratified=p.stratified,
            answer_tokens=answer_tokens if p.predict_mode == "score" else self._max_new_tokens,
            task_name=data.task.name,
        )
        extra = self._described(lm, device, prompts)
        if data.kind == "regression":
            extra["regression_fallback"] = {
                "rule": "mean of the training targets",
                "value": self._fallback_mean,
            }
        if len(data.X_val):
            extra.update(self._validate(data))
        return FitInfo(extra=extra, ran_with=ran_with)

    def _described(self, lm: LoadedLM, device: str, prompts: DemonstrationPrompts) -> dict[str, Any]:
        """What the fit used: the model, the demonstration pool and the answer rules."""
        p, serializer = self.params, self._serializer
        assert serializer is not None
        return {
            "model_id": lm.model_id,
            "model_revision": lm.revision,
            "model_parameters": lm.n_parameters,
            "context_length": lm.context_length,
            "device": device,
            "finetune": "none",
            "serializer": serializer.settings(),
            "separator": p.separator,
            "demonstration_end": DEMONSTRATION_END,
            "demonstration_pool_rows": len(prompts.lines),
            "demonstration_pool_hash": prompt_hash(serializer.settings(), prompts.examples),
            "demonstration_seeding": "numpy default_rng([seed, query row id]) per query",
            "k": p.k,
            "stratified": p.stratified,
            "predict": p.predict_mode,
            "max_new_tokens": self._max_new_tokens,
        }

    def _validate(self, data: FitData) -> dict[str, Any]:
        """The validation rows predicted as a check (nothing is selected), and how their prompts fitted."""
        assert self._prompts is not None and self._serializer is not None
        start = time.perf_counter()
        built = self._prompts.build(data.X_val)
        pred = self._answer([q.text for q in built])
        scores = compute_metrics(data.kind, np.asarray(data.y_val), pred, self._n_classes or None)
        return {
            **{f"val_{name}": value for name, value in scores.items()},
            "val_seconds": time.perf_counter() - start,
            "val_prompt_hash": prompt_hash(self._serializer.settings(), [(q.text, None) for q in built]),
            "val_demonstrations": demonstration_stats(built),
        }

    def predict(self, X: pd.DataFrame) -> Predictions:
        if self._prompts is None:
            raise RuntimeError("lift-icl: call fit before predict")
        return self._answer([q.text for q in self._prompts.build(X)])

    def _answer(self, texts: list[str]) -> Predictions:

        p = self.params
        assert self._lm is not None and self._serializer is not None
        lm, serializer = self._lm, self._serializer
        if p.predict_mode == "score":
            completions = [p.separator + serializer.completion(c) for c in range(self._n_classes)]
            proba = class_probabilities(score_classes(lm, texts, completions, batch_size=p.eval_batch_size))
            return Predictions(y_pred=proba.argmax(axis=1).astype(np.int64), proba=proba)
        generated = generate(
            lm,
            texts,
            stop=serializer.options.completion_end,
            max_new_tokens=self._max_new_tokens,
            batch_size=p.eval_batch_size,
            seed=self.seed,
        )
        raw = [samples[0] for samples in generated]
        answers = [serializer.parse(text) for text in raw]
        invalid = np.array([not a.valid for a in answers], dtype=bool)
        if p.kind == "classification":
            y_pred = np.array([INVALID_CLASS if not a.valid else a.value for a in answers], dtype=np.int64)
        else:
            y_pred = np.array([self._fallback_mean if not a.valid else a.value for a in answers], dtype=float)
        return Predictions(y_pred=y_pred, invalid=invalid, raw=raw, **sample_flags([[a] for a in answers]))
