"""LIFT training: completion-only labels, the loss, length-grouped batches, LoRA vs full fine-tuning,
and best-epoch selection, with tiny random models and a real Lightning Trainer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from benchmark.lift.data import (
    BatchPlan,
    LengthGroupedSampler,
    LiftDataModule,
    RankBatchSampler,
    collate,
    encode_examples,
)
from benchmark.lift.lm.execution import causal_lm
from benchmark.lift.lm.loading import IGNORE_INDEX, load_causal_lm
from benchmark.lift.module import (
    LoraSettings,
    OptimizerSettings,
    TrainerSettings,
    completion_loss,
    prepare_for_finetuning,
    train_lift,
)
from benchmark.lift.selection import is_better, trainable_state
from benchmark.lift.serialization import get_serializer
from tasks.errors import LiftbenchError
from tests.builders import digit_task

ARCHS = ("tiny-gpt2", "tiny-llama", "tiny-gptneox", "tiny-gptj")


def datamodule(lm, n: int = 40, batch_size: int = 8, seed: int = 0) -> LiftDataModule:
    task = digit_task()
    serializer = get_serializer("lift").bind(task)
    dm = LiftDataModule(
        serializer, lm.tokenizer, task.X.iloc[:n], task.y.to_numpy()[:n], batch_size=batch_size, seed=seed
    )
    dm.setup("fit")
    return dm


# --- labels and loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["tiny-llama", "tiny-gpt2"])  # with and without a BOS token
def test_only_completion_tokens_carry_labels(arch: str) -> None:
    lm = load_causal_lm(arch)
    tokenizer = lm.tokenizer
    dm = datamodule(lm, n=6, batch_size=3)
    for example, encoded in zip(dm.examples, dm.encoded, strict=True):
        labelled = [i for i, label in enumerate(encoded.labels) if label != IGNORE_INDEX]
        n_prompt = labelled[0]
        assert labelled == list(range(n_prompt, len(encoded)))  # the completion is one span at the end
        assert [encoded.input_ids[i] for i in labelled] == [encoded.labels[i] for i in labelled]
        assert tokenizer.decode([encoded.labels[i] for i in labelled]) == " " + example.completion
        assert tokenizer.decode(encoded.input_ids[:n_prompt], skip_special_tokens=True) == example.prompt
    assert sorted(len(b["input_ids"]) for b in dm.train_dataloader()) == [3, 3]
    batch = collate(dm.encoded, tokenizer.pad_token_id)
    padding = batch["attention_mask"] == 0
    assert padding.any()  # rows differ in length, so the batch is padded
    assert (batch["labels"][padding] == IGNORE_INDEX).all()
    assert (batch["input_ids"][padding] == tokenizer.pad_token_id).all()


def test_loss_is_the_mean_cross_entropy_of_the_completion_tokens() -> None:
    lm = load_causal_lm("tiny-llama", seed=3)
    dm = datamodule(lm, n=1)
    encoded = dm.encoded[0]
    batch = collate([encoded], lm.tokenizer.pad_token_id)
    with torch.no_grad():
        log_probs = torch.log_softmax(lm.model(input_ids=batch["input_ids"]).logits[0].double(), dim=-1)
        ids = encoded.input_ids
        terms = [
            -log_probs[t - 1, ids[t]].item() for t in range(1, len(ids)) if encoded.labels[t] != IGNORE_INDEX
        ]
        by_hand = sum(terms) / len(terms)
        assert len(terms) == sum(label != IGNORE_INDEX for label in encoded.labels)
        for gather in (True, False):
            assert completion_loss(lm.model, batch, gather).item() == pytest.approx(by_hand, rel=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_gathered_positions_give_the_plain_loss_and_gradients(arch: str, finetune: str) -> None:
    lm = load_causal_lm(arch, seed=1)
    torch.manual_seed(0)
    model, _ = prepare_for_finetuning(lm.model, finetune, LoraSettings(r=4))
    if finetune == "lora":  # LoRA's B starts at zero; make the adapters do something
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.1)
    dm = datamodule(lm, n=8, batch_size=8)
    batch = collate(dm.encoded, lm.tokenizer.pad_token_id)
    results = []
    for gather in (True, False):
        model.zero_grad()
        loss = completion_loss(model, batch, gather)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        results.append((loss.item(), grads))
    (gathered, grads_gathered), (plain, grads_plain) = results
    assert gathered == pytest.approx(plain, rel=1e-5)
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grads_gathered[name], grad, rtol=1e-4, atol=1e-6)


# --- batches ---------------------------------------------------------------------------------------


def test_ranks_share_each_global_step_as_one_device_takes_it() -> None:
    """Every optimizer step of a 3-rank run holds exactly the rows of the one-device run's step."""
    lengths = np.random.default_rng(0).integers(5, 60, size=50)
    order = LengthGroupedSampler(lengths, batch_size=6, seed=3)
    single = list(RankBatchSampler(order, micro_batch=6))
    ranks = [list(RankBatchSampler(order, micro_batch=6, rank=r, world_size=3)) for r in range(3)]
    assert [len(batches) for batches in ranks] == [len(single)] * 3 == [9] * 3
    for step, rows in enumerate(single[:-1]):
        assert sorted(i for batches in ranks for i in batches[step]) == sorted(rows)
        assert all(len(batches[step]) == 2 for batches in ranks)
    # the epoch's last step has 2 rows for 3 ranks: the third rank repeats the first rather than idle
    assert len(single[-1]) == 2
    assert [batches[-1] for batches in ranks] == [single[-1][:1], single[-1][1:], single[-1][:1]]


def test_a_global_batch_that_does_not_split_over_the_devices_is_refused() -> None:
    assert BatchPlan(8, world_size=2, grad_accum=2).per_device_batch == 2
    with pytest.raises(LiftbenchError, match=r"batch_size=8 .* 3 device\(s\)"):
        BatchPlan(8, world_size=3)


def test_length_grouped_sampler_is_a_seeded_permutation_of_similar_length_batches() -> None:
    lengths = np.random.default_rng(0).integers(5, 60, size=103)
    sampler = LengthGroupedSampler(lengths, batch_size=4, seed=7, mega_batch_factor=5)
    first = list(sampler)
    assert sorted(first) == list(range(103))
    assert list(LengthGroupedSampler(lengths, batch_size=4, seed=7, mega_batch_factor=5)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(LengthGroupedSampler(lengths, batch_size=4, seed=8, mega_batch_factor=5)) != first
    # each group of 20 rows is sorted into batches: a batch's lengths span less than random batches do
    batches = [lengths[first[i : i + 4]] for i in range(0, 100, 4)]
    spread = np.mean([b.max() - b.min() for b in batches])
    shuffled = np.random.default_rng(1).permutation(lengths)
    random_spread = np.mean([shuffled[i : i + 4].max() - shuffled[i : i + 4].min() for i in range(0, 100, 4)])
    assert spread < random_spread / 2


def test_encoded_rows_are_cached_per_texts_tokenizer_and_separator() -> None:
    lm = load_causal_lm("tiny-gpt2")
    dm = datamodule(lm, n=5)
    settings = dm.serializer.settings()
    again = encode_examples(lm.tokenizer, dm.examples, " ", settings)
    assert again is dm.encoded
    other = encode_examples(lm.tokenizer, dm.examples, "\n", settings)
    assert other is not dm.encoded and other != dm.encoded
    assert encode_examples(lm.tokenizer, dm.examples[:4], " ", settings) == dm.encoded[:4]
    # tiny-llama's tokenizer has gpt2's name and size but puts BOS first: not the same cache entry
    llama = load_causal_lm("tiny-llama").tokenizer
    with_bos = encode_examples(llama, dm.examples, " ", settings)
    assert [e.input_ids[0] for e in with_bos] == [llama.bos_token_id] * 5
    assert [e.input_ids[1:] for e in with_bos] == [e.input_ids for e in dm.encoded]


# --- what trains -------------------------------------------------------------------------------------


def test_lora_trains_only_the_adapters_and_full_fine_tuning_trains_everything() -> None:
    lm = load_causal_lm("tiny-llama")
    model, described = prepare_for_finetuning(lm.model, "lora", LoraSettings(r=8))
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in name for name in trainable)
    # 2 layers x (q_proj, v_proj) x r * (64 in + 64 out)
    assert described["trainable_parameters"] == sum(p.numel() for p in trainable.values()) == 2 * 2 * 8 * 128
    assert described["target_modules"] == ["q_proj", "v_proj"]
    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    adapters_before = trainable_state(model)
    pl.seed_everything(0)
    train_lift(
        model,
        datamodule(lm),
        evaluate=lambda: 0.0,
        direction="higher",
        optimizer=OptimizerSettings(lr=1e-2, warmup_steps=0),
        trainer_settings=TrainerSettings(epochs=1),
    )
    for name, param in model.named_parameters():
        if not param.requires_grad:
            torch.testing.assert_close(param, frozen_before[name], rtol=0, atol=0)
    assert any(not torch.equal(adapters_before[n], p) for n, p in trainable_state(model).items())

    full = load_causal_lm("tiny-llama")
    full_model, described = prepare_for_finetuning(full.model, "full")
    assert described["trainable_parameters"] == described["total_parameters"] == full.n_parameters
    none_model, described = prepare_for_finetuning(load_causal_lm("tiny-llama").model, "none")
    assert described["trainable_parameters"] == 0


def test_lora_targets_follow_the_architecture_and_all_linear() -> None:
    expected = {
        "tiny-gpt2": ["c_attn"],
        "tiny-gptneox": ["query_key_value"],
        "tiny-gptj": ["q_proj", "v_proj"],
    }
    for arch, targets in expected.items():
        _, described = prepare_for_finetuning(load_causal_lm(arch).model, "lora")
        assert described["target_modules"] == targets
    model, described = prepare_for_finetuning(
        load_causal_lm("tiny-llama").model, "lora", LoraSettings(target_modules="all-linear")
    )
    names = {n.split(".")[-4] for n, p in model.named_parameters() if p.requires_grad}
    assert names == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_training_loss_falls_on_a_learnable_task() -> None:
    lm = load_causal_lm("tiny-gpt2")
    pl.seed_everything(0)
    model, _ = prepare_for_finetuning(lm.model, "full")
    outcome = train_lift(
        model,
        datamodule(lm),
        evaluate=lambda: 0.0,
        direction="higher",
        optimizer=OptimizerSettings(lr=3e-3, warmup_steps=2),
        trainer_settings=TrainerSettings(epochs=6),
    )
    losses = outcome.module.epoch_losses
    assert len(losses) == 6
    assert losses[-1] < 0.5 * losses[0]
    assert outcome.module.samples_seen == 6 * 40
    assert outcome.precision == "32-true"


def test_gradient_accumulation_splits_the_global_batch_and_keeps_the_steps() -> None:
    """batch_size is the global batch: grad_accum=2 does each step in two forward passes of half the
    rows, so the optimizer takes as many steps as without it."""
    steps, forward_rows = [], []
    for grad_accum in (1, 2):
        lm = load_causal_lm("tiny-llama")
        model, _ = prepare_for_finetuning(lm.model, "lora")
        rows: list[int] = []
        hook = model.get_input_embeddings().register_forward_hook(
            lambda _, inputs, output, rows=rows: rows.append(inputs[0].shape[0])
        )
        outcome = train_lift(
            model,
            datamodule(lm),  # 40 rows, global batch 8: 5 steps per epoch
            evaluate=lambda: 0.0,
            direction="higher",
            trainer_settings=TrainerSettings(epochs=2, grad_accum=grad_accum, max_grad_norm=0.5),
        )
        hook.remove()
        assert outcome.module.samples_seen == 80
        assert outcome.effective["global_batch"] == 8
        assert outcome.effective["per_device_batch"] == 8 // grad_accum
        steps.append(outcome.optimizer_steps)
        forward_rows.append(sorted(set(rows)))
    assert steps == [10, 10]
    assert forward_rows == [[8], [4]]


def test_gradient_checkpointing_trains_to_the_same_weights() -> None:
    finals = []
    for checkpointing in (False, True):
        lm = load_causal_lm("tiny-llama")
        pl.seed_everything(0)
        model, _ = prepare_for_finetuning(
            lm.model, "lora", LoraSettings(), gradient_checkpointing=checkpointing
        )
        assert causal_lm(model).is_activation_checkpointing == checkpointing
        train_lift(
            model,
            datamodule(lm),
            evaluate=lambda: 0.0,
            direction="higher",
            optimizer=OptimizerSettings(lr=1e-2, warmup_steps=0),
            trainer_settings=TrainerSettings(epochs=1),
        )
        finals.append(trainable_state(model))
    for name, value in finals[0].items():
        torch.testing.assert_close(finals[1][name], value)


# --- best-epoch selection ------------------------------------------------------------------------------


def _train_with_metrics(metrics: list[float], direction: str, patience: int = 0):
    """Train for len(metrics) epochs, with `evaluate` returning the given metric after each epoch and
    recording the weights it saw; returns the model, those weights and the outcome."""
    lm = load_causal_lm("tiny-llama")
    pl.seed_everything(0)
    model, _ = prepare_for_finetuning(lm.model, "lora", LoraSettings())
    seen: list[dict[str, torch.Tensor]] = []
    sequence = iter(metrics)

    def evaluate() -> float:
        seen.append(trainable_state(model))
        return next(sequence)

    outcome = train_lift(
        model,
        datamodule(lm, n=16),
        evaluate=evaluate,
        direction=direction,
        optimizer=OptimizerSettings(lr=1e-2, warmup_steps=0),
        trainer_settings=TrainerSettings(epochs=len(metrics)),
        patience=patience,
    )
    return model, seen, outcome


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[name], b[name]) for name in a)


@pytest.mark.parametrize(
    ("metrics", "direction", "best"),
    [
        ([0.5, 0.9, 0.6], "higher", 2),  # accuracy: the paper's code would have kept epoch 1
        ([0.5, 0.2, 0.6], "lower", 2),  # RAE
        ([0.9, 0.5, 0.9], "higher", 1),  # a tie keeps the earlier epoch
    ],
)
def test_selection_restores_the_best_epoch(metrics: list[float], direction: str, best: int) -> None:
    model, seen, outcome = _train_with_metrics(metrics, direction)
    assert outcome.selection.best_epoch == best
    assert [r.metric for r in outcome.selection.history] == metrics
    final = trainable_state(model)
    assert _same(final, seen[best - 1])
    assert not any(_same(final, seen[i]) for i in range(len(metrics)) if i != best - 1)


def test_early_stopping_ends_after_patience_epochs_without_improvement() -> None:
    model, seen, outcome = _train_with_metrics([0.5, 0.9, 0.6, 0.7, 0.95, 0.99], "higher", patience=2)
    assert [r.epoch for r in outcome.selection.history] == [1, 2, 3, 4]
    assert outcome.selection.stopped_early
    assert outcome.selection.best_epoch == 2
    assert _same(trainable_state(model), seen[1])


def test_nan_never_beats_a_number() -> None:
    assert is_better(0.3, None, "lower")
    assert not is_better(math.nan, 0.3, "lower")
    assert is_better(0.9, math.nan, "lower")
    assert is_better(0.4, 0.3, "higher") and not is_better(0.4, 0.3, "lower")
