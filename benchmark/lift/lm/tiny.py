"""Tiny randomly initialised causal LMs for fast tests: "tiny-llama", "tiny-gpt2", "tiny-gptneox", "tiny-gptj".

They are made offline in milliseconds: a byte-level BPE tokenizer of a few hundred tokens is trained once
per process on LIFT-style prompts (deterministic: the corpus is fixed), and each family gets a small
config (2 layers, hidden 64, 4 heads, context 512) with weights drawn from `seed`. The "llama" tokenizer
puts a BOS token in front of every text, as Llama tokenizers do; the others add nothing, as GPT-2 and
GPT-NeoX tokenizers do. Neither defines a pad token: `load_causal_lm` sets it, as for real checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPTJConfig,
    GPTNeoXConfig,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from tasks.errors import LiftbenchError, did_you_mean

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
TOKENIZER_VOCAB = 400
DEFAULT_SIZES = {
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 128,
    "context_length": 512,
}


def _training_corpus() -> list[str]:
    """Prompts and completions in the shapes the serializers write, plus a little plain English."""
    corpus = [
        "The capital of France is Paris. One, two, three, four, five.",
        "Given image with pixels 0 0 12 255 128 What is this digit?###7@@@",
    ]
    for i in range(120):
        corpus.append(f"When we have x1={i / 7:.2f}, x2={i * 1.3 - 40:.2f}, What is this type? ###{i % 5}@@@")
        corpus.append(f"When we have x1={i / 3:.4f}, what should be the y value?###{i * 0.77 - 9:.3f}@@@")
        corpus.append(f"The age is {i}. The sex is female. What is this type?###{i % 3}@@@")
    return corpus


@lru_cache(maxsize=1)
def _trained_bpe_json() -> str:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        special_tokens=[BOS_TOKEN, EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: any text encodes losslessly
        show_progress=False,
    )
    tokenizer.train_from_iterator(_training_corpus(), trainer)
    return tokenizer.to_str()


def tiny_tokenizer(add_bos: bool = False) -> PreTrainedTokenizerFast:
    """A fresh byte-level BPE tokenizer (trained once per process); `add_bos` puts BOS before each text."""
    backend = Tokenizer.from_str(_trained_bpe_json())
    if add_bos:
        bos_id = backend.token_to_id(BOS_TOKEN)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{BOS_TOKEN} $A",
            pair=f"{BOS_TOKEN} $A {BOS_TOKEN} $B",
            special_tokens=[(BOS_TOKEN, bos_id)],
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        model_max_length=DEFAULT_SIZES["context_length"],
    )


def _llama(vocab: int, special: dict[str, int], s: dict[str, int]) -> PretrainedConfig:
    return LlamaConfig(
        vocab_size=vocab,
        hidden_size=s["hidden_size"],
        intermediate_size=s["intermediate_size"],
        num_hidden_layers=s["num_layers"],
        num_attention_heads=s["num_heads"],
        num_key_value_heads=s["num_heads"],
        max_position_embeddings=s["context_length"],
        tie_word_embeddings=True,
        **special,
    )


def _gpt2(vocab: int, special: dict[str, int], s: dict[str, int]) -> PretrainedConfig:
    return GPT2Config(
        vocab_size=vocab,
        n_embd=s["hidden_size"],
        n_inner=s["intermediate_size"],
        n_layer=s["num_layers"],
        n_head=s["num_heads"],
        n_positions=s["context_length"],
        **special,
    )


def _gptneox(vocab: int, special: dict[str, int], s: dict[str, int]) -> PretrainedConfig:
    return GPTNeoXConfig(
        vocab_size=vocab,
        hidden_size=s["hidden_size"],
        intermediate_size=s["intermediate_size"],
        num_hidden_layers=s["num_layers"],
        num_attention_heads=s["num_heads"],
        max_position_embeddings=s["context_length"],
        **special,
    )


def _gptj(vocab: int, special: dict[str, int], s: dict[str, int]) -> PretrainedConfig:
    return GPTJConfig(
        vocab_size=vocab,
        n_embd=s["hidden_size"],
        n_inner=s["intermediate_size"],
        n_layer=s["num_layers"],
        n_head=s["num_heads"],
        n_positions=s["context_length"],
        rotary_dim=s["hidden_size"] // s["num_heads"] // 2,  # GPT-J rotates part of each head
        **special,
    )


_CONFIGS: dict[str, Callable[[int, dict[str, int], dict[str, int]], PretrainedConfig]] = {
    "llama": _llama,
    "gpt2": _gpt2,
    "gptneox": _gptneox,
    "gptj": _gptj,
}
TINY_ARCHS = tuple(_CONFIGS)


def tiny_config(arch: str, tokenizer: Any, **sizes: int) -> PretrainedConfig:
    """The config of a tiny `arch` model for `tokenizer`; `sizes` override DEFAULT_SIZES."""
    if arch not in _CONFIGS:
        raise LiftbenchError(
            f"unknown tiny model architecture {arch!r}{did_you_mean(arch, TINY_ARCHS)}; "
            f"use one of: {', '.join(TINY_ARCHS)}"
        )
    unknown = sorted(set(sizes) - set(DEFAULT_SIZES))
    if unknown:
        raise TypeError(f"tiny_config got unknown sizes {unknown}; known: {sorted(DEFAULT_SIZES)}")
    special = {
        name: getattr(tokenizer, name)
        for name in ("bos_token_id", "eos_token_id")
        if getattr(tokenizer, name) is not None
    }
    return _CONFIGS[arch](len(tokenizer), special, {**DEFAULT_SIZES, **sizes})


def tiny_model(arch: str, tokenizer: Any = None, seed: int = 0, **sizes: int) -> tuple[PreTrainedModel, Any]:
    """A tiny `arch` causal LM with weights drawn from `seed`, and its tokenizer, in eval mode.

    `tokenizer` defaults to `tiny_tokenizer` (with BOS for "llama"); any other tokenizer sets the vocab.
    `sizes` (hidden_size, num_layers, num_heads, intermediate_size, context_length) override the defaults.
    """
    if tokenizer is None:
        tokenizer = tiny_tokenizer(add_bos=arch == "llama")
    config = tiny_config(arch, tokenizer, **sizes)
    with torch.random.fork_rng(devices=[]):  # the seed governs these weights and nothing else
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    return model.eval(), tokenizer
