"""`lift`: Language-Interfaced Fine-Tuning behind the one Method protocol.

fit: serialize the training rows (`serializer`, `serializer_options`), fine-tune `model` on them with
the causal-LM loss on completion tokens (LoRA, full fine-tuning, or none), predict the validation rows
for real after every epoch and keep the best epoch (`select_metric`: accuracy for classification,
RAE for regression, each in its own direction).

predict: classification scores every class completion ("k@@@") by its log-likelihood and returns
the softmax over classes as `proba`, so it never gives an invalid answer (`predict="score"`, the
default); or it generates and parses the answer with the shared parser (`predict="generate"`), an
unparsable answer being `INVALID_CLASS` and `invalid=True`. `predict="both"` stores the scored
answers, keeps each row's generated text in `Predictions.raw`, and records the validation accuracy and
invalid rates of generation in `FitInfo.extra` (`val_generate_accuracy`, `val_generate_invalid_rate`,
`val_generate_strict_invalid_rate`), so the test rows' generation accuracy can be recomputed from the
stored texts. Regression always generates; an unparsable answer takes the declared fallback, the mean of the training targets.

Sampling (`num_samples > 1`, at `temperature`) draws several answers per row: classification takes
the majority of the valid ones (ties: the smallest class code), regression their mean, with their
standard deviation as `std` (rows with no valid sample: the training mean and the training targets'
standard deviation). With one sample decoding is greedy. `Predictions.raw` holds the generated text,
or a JSON list of the texts with several samples. Generated predictions also say per row whether
every sample ended with the end marker (`terminated`) and how many samples did not parse
(`invalid_samples`); the metrics report the strict invalid rate from them beside the lenient one.

Two-stage fine-tuning (`two_stage`: "none", "ift", "ft", "bl"; `pretext`, `pretext_rows`,
`pretext_epochs`): synthetic pretext tasks shaped like the target before (or instead of) the target,
`benchmark.lift.two_stage`; `FitInfo.extra["two_stage"]` records the stage-1 passes and their losses.

Learning rates: the default 1e-3 is for LoRA; full fine-tuning wants about 1e-5 to 1e-4.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch

from benchmark.core.methods import INVALID_CLASS, FitData, FitInfo, Predictions
from benchmark.core.metrics import METRIC_DIRECTIONS, compute_metrics
from benchmark.lift.data import LiftDataModule
from benchmark.lift.lm.execution import attention_on, predicting_in
from benchmark.lift.lm.loading import (
    LoadedLM,
    lm_identity,
    load_causal_lm,
    tokenize_completions,
    tokenize_prompts,
)
from benchmark.lift.lm.predict import class_probabilities, generate, score_classes
from benchmark.lift.module import prepare_for_finetuning, quiet_lightning, train_lift
from benchmark.lift.params import ANSWER_MARGIN_TOKENS, PRETEXT_MODES, LiftParams
from benchmark.lift.precision import FP32, PrecisionChoice, choose_precision
from benchmark.lift.serialization import Serializer, get_serializer, serialize_rows
from benchmark.lift.serialization.accounting import check_fits_context, prompt_hash
from benchmark.lift.serialization.parsing import sample_flags
from benchmark.lift.two_stage import train_pretext_stage
from tasks.errors import LiftbenchError


def untrained_effective(precision: str, device: torch.device) -> dict[str, Any]:
    """What the hardware decided (`FitInfo.ran_with`) in a fit that trains nothing on the target (finetune none, two-stage
    "bl"): the keys of `benchmark.lift.module.effective_training`, with no batch split."""
    return {
        "precision": precision,
        "accelerator": device.type,
        "devices": 1,
        "num_nodes": 1,
        "strategy": "none",
        "global_batch": None,
        "per_device_batch": None,
        "grad_accum": None,
        "world_size": 1,
    }


class LiftMethod:
    """LIFT for one task kind (module docstring). Built by `make_method("lift", kind, seed, params)`;
    every random draw in `fit` and `predict` takes its seed from `FitData.seed`."""

    name = "lift"

    def __init__(self, kind: str, seed: int = 0, **params: Any) -> None:
        self.params = LiftParams.from_params(kind, params)
        self.seed = seed
        self._lm: LoadedLM | None = None
        self._serializer: Serializer | None = None
        self._task_name = ""
        self._precision = FP32
        self._precision_choice = PrecisionChoice(precision=FP32, requested="auto", reason="not fitted")
        self._max_new_tokens = 1
        self._fallback_mean = 0.0
        self._fallback_std = 0.0
        self._n_classes = 0
        self._val_rows = 0
        self._val_seconds = 0.0
        self._described_model: dict[str, Any] = {}
        self._ran_with: dict[str, Any] = {}  # FitInfo.ran_with: the weights loaded, what the hardware decided

    # --- fit -----------------------------------------------------------------------------------------

    def fit(self, data: FitData) -> FitInfo:
        with quiet_lightning():
            return self._fit(data)

    def _fit(self, data: FitData) -> FitInfo:
        """Prepare the model and rows, run two-stage's stage 1 if asked, fine-tune with epoch selection,
        then record what was run."""
        p = self.params
        self._check_fit_data(data)
        datamodule, lm = self._prepare(data)
        model = self._lm.model
        val_prompts = self._prompts(data.X_val)
        y_val = np.asarray(data.y_val)

        def evaluate() -> float:
            return self._score_rows(val_prompts, y_val)

        extra = self._described(lm, datamodule)
        if p.two_stage != "none":
            extra["two_stage"] = {"mode": p.two_stage}
        if p.two_stage in PRETEXT_MODES:
            chosen = dataclasses.replace(p, precision=self._precision)  # stage 1 in the precision chosen
            stage = train_pretext_stage(model, lm, self._serializer, data.task, chosen, data.seed)
            model.to(stage.device)
            extra["two_stage"].update(stage.record())
        if p.finetune == "none" or p.two_stage == "bl":
            metric = evaluate()
            extra.update(best_epoch=0, epochs_run=0, history=[{"epoch": 0, f"val_{p.metric}": metric}])
            extra.update(precision=self._precision, device=str(self._device()))
            self._ran_with.update(untrained_effective(self._precision, self._device()))
        else:
            extra.update(self._train(model, datamodule, evaluate))
        model.eval()
        extra["val_predict_samples_per_s"] = self._val_rows / self._val_seconds if self._val_seconds else None
        if p.predict_mode == "both":
            generated = self._generate(val_prompts)
            scores = compute_metrics(data.kind, y_val, generated, self._n_classes or None)
            extra.update(
                val_generate_accuracy=scores["accuracy"],
                val_generate_invalid_rate=scores["invalid_rate"],
                val_generate_strict_invalid_rate=scores["strict_invalid_rate"],
            )
        if data.kind == "regression":
            extra["regression_fallback"] = {
                "rule": "mean of the training targets (std: their standard deviation)",
                "value": self._fallback_mean,
                "std": self._fallback_std,
            }
        self._ran_with["attention"] = attention_on(model, self._device())  # training's and prediction's
        return FitInfo(selected={"epoch": extra["best_epoch"]}, extra=extra, ran_with=dict(self._ran_with))

    def _check_fit_data(self, data: FitData) -> None:
        if data.kind != self.params.kind:
            raise ValueError(f"this lift method was built for {self.params.kind}, the task is {data.kind}")
        if len(data.X_val) == 0:
            raise LiftbenchError(
                f"task {data.task.name!r}: lift selects its epoch on validation rows and the split has none; "
                "use a split protocol with a validation split"
            )

    def _prepare(self, data: FitData) -> tuple[LiftDataModule, LoadedLM]:
        """Seed, bind the serializer, load the model and tokenize the training rows; the model ends
        ready to fine-tune in `self._lm` (the returned `LoadedLM` is the model as loaded)."""
        p = self.params
        self.seed = data.seed
        pl.seed_everything(data.seed, workers=True)
        self._task_name = data.task.name
        self._serializer = serializer = get_serializer(p.serializer, **p.serializer_options).bind(data.task)
        self._n_classes = data.n_classes or 0
        y_train = np.asarray(data.y_train)
        if data.kind == "regression":
            self._fallback_mean = float(np.mean(y_train.astype(float)))
            self._fallback_std = float(np.std(y_train.astype(float)))
        lm = load_causal_lm(p.model, init=p.init, seed=data.seed)
        self._ran_with = lm_identity(lm)  # before fine-tuning wraps or changes the weights
        datamodule = LiftDataModule(
            serializer,
            lm.tokenizer,
            data.X_train,
            y_train,
            batch_size=p.batch_size,
            seed=data.seed,
            separator=p.separator,
        )
        datamodule.setup("fit")
        self._check_fits(lm, datamodule.lengths)
        known_answers = (
            [serializer.completion(k) for k in range(self._n_classes)]
            if data.kind == "classification"
            else [e.completion for e in datamodule.examples if e.completion is not None]
        )
        self._max_new_tokens = (
            p.max_new_tokens or self._answer_tokens(lm, known_answers) + ANSWER_MARGIN_TOKENS
        )
        model, self._described_model = prepare_for_finetuning(
            lm.model, p.finetune, p.lora(), p.gradient_checkpointing
        )
        self._lm = dataclasses.replace(lm, model=model)
        if p.finetune == "none":
            choice = PrecisionChoice(precision=FP32, requested=str(p.precision), reason="nothing trains")
        else:  # the probe's rows: a batch of the longest rows
            rows = p.batch_size * max(datamodule.lengths)
            choice = choose_precision(p.precision, p.accelerator, model, rows)
        self._precision, self._precision_choice = choice.precision, choice
        self._val_rows, self._val_seconds = 0, 0.0
        return datamodule, lm

    def _described(self, lm: LoadedLM, datamodule: LiftDataModule) -> dict[str, Any]:
        """What the fit used: the model, its fine-tuning, the prompts and the answer rules."""
        p, serializer = self.params, self._serializer
        assert serializer is not None
        return {
            "model_id": lm.model_id,
            "model_revision": lm.revision,
            "model_parameters": lm.n_parameters,
            "context_length": lm.context_length,
            **self._described_model,
            "serializer": serializer.settings(),
            "separator": p.separator,
            "train_prompt_hash": prompt_hash(serializer.settings(), datamodule.examples),
            "predict": p.predict_mode,
            "max_new_tokens": self._max_new_tokens,
            "select_metric": p.metric,
            "select_direction": METRIC_DIRECTIONS[p.metric],
            "precision_choice": self._precision_choice.record(),
        }

    def _train(self, model: torch.nn.Module, datamodule: LiftDataModule, evaluate: Any) -> dict[str, Any]:
        """Fine-tune with the best epoch on validation kept in place; what the training did."""
        p = self.params
        outcome = train_lift(
            model,
            datamodule,
            evaluate=evaluate,
            direction=METRIC_DIRECTIONS[p.metric],
            optimizer=p.optimizer(),
            trainer_settings=dataclasses.replace(p.trainer(), precision=self._precision),
            patience=p.early_stopping_patience,
            gather_loss_positions=p.gather_loss_positions,
        )
        model.to(outcome.device)
        module, selection = outcome.module, outcome.selection
        self._ran_with.update(outcome.effective)
        out: dict[str, Any] = {
            "precision": outcome.precision,
            "device": str(outcome.device),
            "best_epoch": selection.best_epoch,
            "epochs_run": len(selection.history),
            "stopped_early": selection.stopped_early,
            "history": [
                {"epoch": r.epoch, f"val_{p.metric}": r.metric, "train_loss": r.train_loss}
                for r in selection.history
            ],
            "samples_seen": module.samples_seen,
            "optimizer_steps": outcome.optimizer_steps,
            "tokens_seen": module.tokens_seen,
            "train_seconds": module.train_seconds,
            "train_samples_per_s": module.samples_seen / module.train_seconds
            if module.train_seconds
            else None,
        }
        if outcome.log_dir is not None:
            out["log_dir"] = outcome.log_dir
        return out

    def _score_rows(self, prompts: list[str], y_true: np.ndarray) -> float:
        """The selection metric of the model as it is now, on rows with known targets."""
        start = time.perf_counter()
        pred = self._predict_prompts(prompts, with_generation=False)
        self._val_seconds += time.perf_counter() - start
        self._val_rows += len(prompts)
        scores = compute_metrics(self.params.kind, y_true, pred, self._n_classes or None)
        if self.params.metric not in scores:
            raise LiftbenchError(
                f"method 'lift': select_metric={self.params.metric!r} is not computed when predicting by "
                f"{self.params.predict_mode!r}; computed: {', '.join(scores)}"
            )
        return scores[self.params.metric]

    # --- predict -------------------------------------------------------------------------------------

    def predict(self, X: pd.DataFrame) -> Predictions:
        if self._lm is None:
            raise RuntimeError("lift: call fit before predict")
        return self._predict_prompts(self._prompts(X), with_generation=True)

    def _prompts(self, X: pd.DataFrame) -> list[str]:

        assert self._serializer is not None
        return [example.prompt for example in serialize_rows(self._serializer, X)]

    def _predict_prompts(self, prompts: list[str], with_generation: bool) -> Predictions:
        """Scored or generated answers (module docstring); `with_generation` adds the texts of "both"."""
        mode = self.params.predict_mode
        if mode == "generate":
            return self._generate(prompts)
        scored = self._score(prompts)
        if mode == "both" and with_generation:
            scored.raw = self._generate(prompts).raw
        return scored

    def _score(self, prompts: list[str]) -> Predictions:

        lm, serializer = self._ready()
        answers = [serializer.completion(k) for k in range(self._n_classes)]
        completions = [self.params.separator + answer for answer in answers]
        self._check_fits(lm, self._prompt_lengths(lm, prompts, self._answer_tokens(lm, answers)))
        with self._predicting():
            logliks = score_classes(lm, prompts, completions, batch_size=self.params.eval_batch_size)
        proba = class_probabilities(logliks)
        return Predictions(y_pred=proba.argmax(axis=1).astype(np.int64), proba=proba)

    def _generate(self, prompts: list[str]) -> Predictions:

        p = self.params
        lm, serializer = self._ready()
        self._check_fits(lm, self._prompt_lengths(lm, prompts, self._max_new_tokens))
        with self._predicting():
            texts = generate(
                lm,
                prompts,
                stop=serializer.options.completion_end,
                max_new_tokens=self._max_new_tokens,
                batch_size=p.eval_batch_size,
                do_sample=p.num_samples > 1,
                temperature=p.temperature,
                num_samples=p.num_samples,
                seed=self.seed,
            )
        raw = [samples[0] if len(samples) == 1 else json.dumps(samples) for samples in texts]
        answers = [[serializer.parse(t) for t in samples] for samples in texts]
        values = [[a.value for a in row if a.valid] for row in answers]
        invalid = np.array([not row for row in values], dtype=bool)
        flags = sample_flags(answers)
        if p.kind == "classification":
            y_pred = np.array(
                [
                    np.bincount(row, minlength=self._n_classes).argmax() if row else INVALID_CLASS
                    for row in values
                ],
                dtype=np.int64,
            )
            return Predictions(y_pred=y_pred, invalid=invalid, raw=raw, **flags)
        y_pred = np.array([np.mean(row) if row else self._fallback_mean for row in values], dtype=float)
        std = None
        if p.num_samples > 1:
            std = np.array([np.std(row) if row else self._fallback_std for row in values], dtype=float)
        return Predictions(y_pred=y_pred, std=std, invalid=invalid, raw=raw, **flags)

    # --- helpers -------------------------------------------------------------------------------------

    def _ready(self) -> tuple[LoadedLM, Serializer]:
        if self._lm is None or self._serializer is None:
            raise RuntimeError("lift: call fit before predict")
        return self._lm, self._serializer

    def _answer_tokens(self, lm: LoadedLM, completions: Sequence[str]) -> int:
        """Tokens of the longest of `completions` ("2@@@") written after the separator."""

        texts = [self.params.separator + c for c in completions]
        return max((len(ids) for ids in tokenize_completions(lm.tokenizer, texts)), default=0)

    @staticmethod
    def _prompt_lengths(lm: LoadedLM, prompts: list[str], answer_tokens: int) -> list[int]:

        return [len(ids) + answer_tokens for ids in tokenize_prompts(lm.tokenizer, prompts)]

    def _check_fits(self, lm: LoadedLM, lengths: list[int]) -> None:
        """A LiftbenchError naming the task, the longest row's tokens (answer included) and the limit."""

        if lm.context_length is not None:
            assert self._serializer is not None
            check_fits_context(self._task_name, self._serializer.name, lengths, lm.context_length)

    def _device(self) -> Any:
        assert self._lm is not None
        return next(self._lm.model.parameters()).device

    def _predicting(self) -> Any:
        """How prediction runs the trained model (`benchmark.lift.lm.execution.predicting_in`)."""
        assert self._lm is not None
        return predicting_in(self._lm.model, self._precision)
