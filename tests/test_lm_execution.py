"""How LIFT runs a model on a CPU: bf16 weights cast once change no number, eager attention throughout."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import benchmark.lift.lm.execution as execution
import benchmark.lift.module as module
from benchmark.lift.data import LiftDataModule
from benchmark.lift.lm.execution import causal_lm, predicting_in, weights_cast_once
from benchmark.lift.lm.loading import LoadedLM, load_causal_lm
from benchmark.lift.lm.predict import generate, score_classes
from benchmark.lift.module import (
    LoraSettings,
    OptimizerSettings,
    TrainerSettings,
    prepare_for_finetuning,
    train_lift,
)
from benchmark.lift.selection import trainable_state
from benchmark.lift.serialization import get_serializer, serialize_rows
from tests.builders import digit_task

PROMPTS = ["x1=0.12, x2=3.4###", "x1=5###", "x1=0.5, x2=1.25, x3=7###"]
COMPLETIONS = [" 0@@@", " 1@@@", " 12@@@"]


def lora_lm(arch: str) -> LoadedLM:
    """A tiny model wrapped in LoRA adapters that do something (B is drawn, not zero)."""
    lm = load_causal_lm(arch, seed=1)
    model, _ = prepare_for_finetuning(lm.model, "lora", LoraSettings(r=4))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    return dataclasses.replace(lm, model=model)


def predictions(lm: LoadedLM) -> tuple[np.ndarray, list[list[str]]]:
    return score_classes(lm, PROMPTS, COMPLETIONS), generate(lm, PROMPTS, stop="@@@", max_new_tokens=5)


@pytest.mark.parametrize("wrap", ["plain", "lora"])
def test_bf16_weights_cast_once_give_exactly_autocast_s_predictions(wrap: str) -> None:
    lm = lora_lm("tiny-llama") if wrap == "lora" else load_causal_lm("tiny-llama", seed=1)
    head, embedding = causal_lm(lm.model).lm_head, causal_lm(lm.model).get_input_embeddings()
    assert head.weight is embedding.weight  # tiny-llama ties its head to the embedding, as SmolLM2 does
    fp32_weights = {name: p for name, p in lm.model.named_parameters()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = predictions(lm)
        with weights_cast_once(lm.model, trainable_too=True) as cast:
            assert head.weight.dtype == torch.bfloat16 and embedding.weight.dtype == torch.float32
            got = predictions(lm)
    assert cast > 0
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]
    assert head.weight is embedding.weight  # tied again, to the very same fp32 parameter
    assert all(p is fp32_weights[name] for name, p in lm.model.named_parameters())


def test_frozen_only_leaves_the_weights_that_train() -> None:
    lm = lora_lm("tiny-llama")
    with weights_cast_once(lm.model, trainable_too=False):
        dtypes = {name: p.dtype for name, p in lm.model.named_parameters() if name.endswith(".weight")}
    assert {dtypes[name] for name in dtypes if "lora_" in name} == {torch.float32}
    assert torch.bfloat16 in {dtypes[name] for name in dtypes if "base_layer" in name}


def test_no_copy_where_memory_is_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "FREE_MEMORY_SHARE", 0.0)
    lm = load_causal_lm("tiny-llama")
    with weights_cast_once(lm.model, trainable_too=True) as cast:
        assert {p.dtype for p in lm.model.parameters()} == {torch.float32}
    assert cast == 0


def test_predicting_in_bf16_runs_eager_attention_under_autocast_then_puts_things_back() -> None:
    lm = load_causal_lm("tiny-llama")
    config = causal_lm(lm.model).config
    assert config._attn_implementation == "sdpa"
    with predicting_in(lm.model, "bf16-mixed"):
        assert config._attn_implementation == "eager" and torch.is_autocast_enabled("cpu")
        assert causal_lm(lm.model).lm_head.weight.dtype == torch.bfloat16
    with predicting_in(lm.model, "32-true"):
        assert config._attn_implementation == "eager" and not torch.is_autocast_enabled("cpu")
        assert {p.dtype for p in lm.model.parameters()} == {torch.float32}
    assert config._attn_implementation == "sdpa"


def _train(cast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Two LoRA epochs of tiny-llama in bf16-mixed on the CPU; with `cast` False, autocast recasts the
    frozen weights on every call as it did before `weights_cast_once`."""
    calls: list[int] = []

    @contextlib.contextmanager
    def spy(model: torch.nn.Module, *, trainable_too: bool) -> Iterator[int]:
        if not cast:
            yield 0
            return
        with weights_cast_once(model, trainable_too=trainable_too) as n:
            calls.append(n)
            yield n

    monkeypatch.setattr(module, "weights_cast_once", spy)
    torch.manual_seed(0)
    lm = load_causal_lm("tiny-llama", seed=2)
    model, _ = prepare_for_finetuning(lm.model, "lora", LoraSettings(r=4))
    task = digit_task()
    dm = LiftDataModule(
        get_serializer("lift").bind(task),
        lm.tokenizer,
        task.X.iloc[:12],
        task.y.to_numpy()[:12],
        batch_size=4,
        seed=0,
    )
    dm.setup("fit")
    train_lift(
        model,
        dm,
        evaluate=None,
        optimizer=OptimizerSettings(warmup_steps=1),
        trainer_settings=TrainerSettings(epochs=2, precision="bf16-mixed", enable_progress_bar=False),
    )
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # the fp32 weights are back
    return trainable_state(model), calls


def test_lora_training_with_frozen_weights_cast_once_is_bit_identical(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recast, _ = _train(cast=False, monkeypatch=monkeypatch)
    once, calls = _train(cast=True, monkeypatch=monkeypatch)
    assert calls and calls[0] > 0
    assert recast.keys() == once.keys() and any("lora_B" in name for name in once)
    for name, weight in recast.items():
        assert torch.equal(once[name], weight), name
    assert not all(
        torch.equal(w, torch.zeros_like(w)) for n, w in once.items() if "lora_B" in n
    )  # it trained


def test_lift_prompts_score_the_same_under_predicting_in_as_under_plain_autocast() -> None:
    """The whole of prediction's context against autocast alone: eager attention is the one change,
    so the scores agree to bf16 rounding, and the cast is exact (tested above)."""
    lm = lora_lm("tiny-llama")
    task = digit_task()
    serializer = get_serializer("lift").bind(task)
    prompts = [e.prompt for e in serialize_rows(serializer, task.X.iloc[:6])]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain = score_classes(lm, prompts, COMPLETIONS)
    with predicting_in(lm.model, "bf16-mixed"):
        ours = score_classes(lm, prompts, COMPLETIONS)
    np.testing.assert_allclose(ours, plain, rtol=0.02, atol=0.05)
