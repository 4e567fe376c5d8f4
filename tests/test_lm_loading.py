"""Loading causal LMs (tiny, local folder, hub offline, random init) and the shared tokenisation rule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from benchmark.lift.lm import tiny
from benchmark.lift.lm.loading import (
    IGNORE_INDEX,
    encode_example,
    folder_revision,
    load_causal_lm,
    pad_batch,
    position_ids_from_mask,
    special_prefix,
    tokenize_completions,
    tokenize_prompts,
)
from tasks.errors import LiftbenchError

PROMPT = "When we have x1=0.52, x2=1.20, What is this type? ###"


def _weights_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize(
    ("name", "model_class"),
    [
        ("tiny-llama", "LlamaForCausalLM"),
        ("tiny-gpt2", "GPT2LMHeadModel"),
        ("tiny-gptneox", "GPTNeoXForCausalLM"),
        ("tiny-gptj", "GPTJForCausalLM"),
    ],
)
def test_tiny_models_load_with_a_pad_token_and_their_context(name: str, model_class: str) -> None:
    lm = load_causal_lm(name)
    assert type(lm.model).__name__ == model_class
    assert not lm.model.training
    assert lm.model_id == name
    assert lm.context_length == tiny.DEFAULT_SIZES["context_length"]
    assert lm.n_parameters == sum(p.numel() for p in lm.model.parameters()) < 200_000
    assert lm.tokenizer.pad_token == lm.tokenizer.eos_token == tiny.EOS_TOKEN  # GPT-2 style: pad = eos
    assert len(lm.tokenizer) == tiny.TOKENIZER_VOCAB
    assert lm.tokenizer.decode(lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]) == PROMPT


def test_tiny_weights_and_revision_follow_the_seed() -> None:
    a, b, c = (load_causal_lm("tiny-gpt2", seed=s) for s in (0, 0, 1))
    assert _weights_equal(a.model, b.model) and a.revision == b.revision
    assert not _weights_equal(a.model, c.model) and a.revision != c.revision


def test_tiny_tokenizer_is_deterministic_and_small() -> None:
    first, second = tiny.tiny_tokenizer(), tiny.tiny_tokenizer()
    assert first is not second  # a fresh object each time: callers may change it
    assert first.get_vocab() == second.get_vocab()
    assert "###" in first.convert_ids_to_tokens(first("###")["input_ids"])[-1]  # learnt from LIFT prompts


def test_dtype_is_applied() -> None:
    lm = load_causal_lm("tiny-llama", dtype=torch.bfloat16)
    assert {p.dtype for p in lm.model.parameters()} == {torch.bfloat16}


def test_unknown_tiny_model_suggests_the_known_ones() -> None:
    with pytest.raises(LiftbenchError, match=r"unknown tiny model 'tiny-lama' \(did you mean: tiny-llama"):
        load_causal_lm("tiny-lama")


def test_a_revision_is_refused_for_a_model_that_is_not_on_the_hub() -> None:
    with pytest.raises(
        LiftbenchError, match=r"'tiny-gpt2' is not a Hugging Face hub model; drop revision='main'"
    ):
        load_causal_lm("tiny-gpt2", revision="main")


def test_unknown_init_is_a_clear_error() -> None:
    with pytest.raises(
        LiftbenchError, match=r"model init 'scratch' is unknown; use one of: pretrained, random"
    ):
        load_causal_lm("tiny-gpt2", init="scratch")


def test_unknown_hub_model_offline_is_one_line_naming_the_cache_and_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LiftbenchError) as caught:
        load_causal_lm("nobody-here/no-such-model")
    message = str(caught.value)
    assert "\n" not in message
    assert "'nobody-here/no-such-model'" in message
    assert constants.HF_HUB_CACHE in message
    assert "run once with network access" in message and "local model folder" in message


UNREACHABLE_HUB = "http://127.0.0.1:9"  # the discard port: every connection is refused at once


def test_an_unreachable_hub_fails_fast_naming_the_model_and_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", UNREACHABLE_HUB)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(LiftbenchError) as caught:
        load_causal_lm("nobody-here/no-such-model")
    assert time.perf_counter() - start < 5  # transformers alone retried for about a minute
    message = str(caught.value)
    assert "\n" not in message and "'nobody-here/no-such-model'" in message
    assert str(tmp_path) in message and "the hub cannot be reached" in message


def _cache_tiny_model(cache: Path, commit: str) -> torch.nn.Module:
    """A tiny model saved as `someone/tiny-gpt2` in the hub cache's layout under `cache`."""
    repo = cache / "models--someone--tiny-gpt2"
    model, tokenizer = tiny.tiny_model("gpt2", seed=2)
    model.save_pretrained(repo / "snapshots" / commit)
    tokenizer.save_pretrained(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return model


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "unreachable-hub"])
def test_a_cached_hub_model_loads_from_the_cache_with_its_commit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, offline: bool
) -> None:
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    model = _cache_tiny_model(tmp_path, commit)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(constants, "ENDPOINT", UNREACHABLE_HUB)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))

    lm = load_causal_lm("someone/tiny-gpt2")
    assert lm.model_id == "someone/tiny-gpt2" and lm.revision == commit
    assert _weights_equal(lm.model, model)
    with pytest.raises(
        LiftbenchError, match=r"'someone/tiny-gpt2' at revision 'v2' is not in the Hugging Face"
    ):
        load_causal_lm("someone/tiny-gpt2", revision="v2")


def test_missing_folder_and_folder_without_config_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(LiftbenchError, match=r"model folder '\./no/such/folder' does not exist"):
        load_causal_lm("./no/such/folder")
    with pytest.raises(LiftbenchError, match=r"has no config.json; pass a folder written by save_pretrained"):
        load_causal_lm(str(tmp_path))


@pytest.fixture(scope="module")
def saved_tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llama")
    model, tokenizer = tiny.tiny_model("llama", seed=5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_local_folder_loads_its_weights_and_hashes_its_files(saved_tiny_llama: Path) -> None:
    lm = load_causal_lm(str(saved_tiny_llama))
    original, _ = tiny.tiny_model("llama", seed=5)
    assert _weights_equal(lm.model, original)
    assert lm.revision == folder_revision(saved_tiny_llama)
    assert len(lm.revision) == 16
    assert lm.tokenizer.pad_token == tiny.EOS_TOKEN
    assert special_prefix(lm.tokenizer) == [lm.tokenizer.bos_token_id]  # the saved tokenizer keeps its BOS


def test_random_init_keeps_architecture_and_tokenizer_but_not_weights(saved_tiny_llama: Path) -> None:
    pretrained = load_causal_lm(str(saved_tiny_llama))
    random_a = load_causal_lm(str(saved_tiny_llama), init="random", seed=0)
    random_b = load_causal_lm(str(saved_tiny_llama), init="random", seed=0)
    random_c = load_causal_lm(str(saved_tiny_llama), init="random", seed=1)
    assert type(random_a.model) is type(pretrained.model)
    assert random_a.model.config.to_dict() == pretrained.model.config.to_dict()
    assert random_a.n_parameters == pretrained.n_parameters
    assert random_a.tokenizer.get_vocab() == pretrained.tokenizer.get_vocab()
    assert not _weights_equal(random_a.model, pretrained.model)
    assert _weights_equal(random_a.model, random_b.model)
    assert not _weights_equal(random_a.model, random_c.model)
    assert random_a.revision == f"{pretrained.revision}+random-init-seed0"


def test_random_init_leaves_the_global_random_state_alone(saved_tiny_llama: Path) -> None:
    before = torch.random.get_rng_state()
    load_causal_lm(str(saved_tiny_llama), init="random", seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_special_prefix_is_bos_for_llama_style_and_nothing_for_gpt2_style() -> None:
    with_bos, without = tiny.tiny_tokenizer(add_bos=True), tiny.tiny_tokenizer(add_bos=False)
    assert special_prefix(with_bos) == [with_bos.bos_token_id]
    assert special_prefix(without) == []


@pytest.mark.parametrize("add_bos", [False, True])
def test_encode_example_masks_exactly_the_prompt_tokens(add_bos: bool) -> None:
    tokenizer = tiny.tiny_tokenizer(add_bos=add_bos)
    ids, labels = encode_example(tokenizer, PROMPT, "2@@@", " ")
    prompt_ids = tokenize_prompts(tokenizer, [PROMPT])[0]
    completion_ids = tokenize_completions(tokenizer, [" 2@@@"])[0]
    assert ids == prompt_ids + completion_ids  # separate tokenisation, concatenated: the one joining rule
    assert labels == [IGNORE_INDEX] * len(prompt_ids) + completion_ids
    assert tokenizer.decode(completion_ids) == " 2@@@"
    assert tokenizer.decode(prompt_ids, skip_special_tokens=True) == PROMPT
    assert (prompt_ids[0] == tokenizer.bos_token_id) == add_bos


def test_encode_example_rejects_an_empty_completion() -> None:
    with pytest.raises(ValueError, match="encodes to no tokens"):
        encode_example(tiny.tiny_tokenizer(), PROMPT, "", "")


def test_pad_batch_and_positions() -> None:
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_value=0, side="left")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert position_ids_from_mask(mask).tolist() == [[0, 1, 2], [0, 0, 0]]
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_value=-100, side="right")
    assert ids.tolist() == [[5, 6, 7], [8, -100, -100]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
