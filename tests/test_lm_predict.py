"""Generation and class scoring against hand-written references on tiny models, plus the bundled SmolLM2.

The tiny models' weights are redrawn with a larger spread than their default initialisation, so that
their greedy continuations vary from token to token (default-initialised tiny models mostly repeat one
token, which would hide padding and ordering bugs), and the output rows of tokens that do not decode to
printable ASCII are zeroed, so that different continuations are different texts (stray bytes all decode
to the same replacement character).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model

from benchmark.lift.lm.bundled import load_bundled_tokenizer
from benchmark.lift.lm.loading import LoadedLM, load_causal_lm, tokenize_completions, tokenize_prompts
from benchmark.lift.lm.predict import class_probabilities, generate, score_classes, shared_prefix
from benchmark.lift.module import library_notices_hidden
from tasks.errors import LiftbenchError

PROMPTS = [
    "When we have x1=0.52, x2=1.20, What is this type? ###",
    "x",
    "When we have x1=3.1416, what should be the y value?###",
    "The age is 42. ###",
    "Given image with pixels 0 0 12 255 128 What is this digit?###",
]
COMPLETIONS = [" 0@@@", " 12@@@", " 7", "2.827@@@"]  # 1 to several tokens each


def _lively(name: str, seed: int = 0) -> LoadedLM:
    lm = load_causal_lm(name)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in lm.model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
        unreadable = [
            token
            for token in range(len(lm.tokenizer))
            if not _readable(lm.tokenizer.decode([token], skip_special_tokens=True))
        ]
        head = lm.model.get_output_embeddings()
        head.weight[unreadable] = 0.0
        if head.bias is not None:
            head.bias[unreadable] = 0.0
    return lm


def _readable(text: str) -> bool:
    return bool(text) and text.isascii() and text.isprintable()


@pytest.fixture(scope="module", params=["tiny-llama", "tiny-gpt2"])
def lm(request: pytest.FixtureRequest) -> LoadedLM:
    return _lively(request.param)


def _greedy_reference(lm: LoadedLM, prompt: str, max_new_tokens: int) -> str:
    """Step-by-step argmax with a full forward pass per token, no cache, no padding, no batching."""
    ids = tokenize_prompts(lm.tokenizer, [prompt])[0]
    new: list[int] = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            token = int(lm.model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if token == lm.tokenizer.eos_token_id:
                break
            new.append(token)
    return lm.tokenizer.decode(new, skip_special_tokens=True)


def _naive_loglik(lm: LoadedLM, prompt: str, completion: str) -> float:
    prompt_ids = tokenize_prompts(lm.tokenizer, [prompt])[0]
    completion_ids = tokenize_completions(lm.tokenizer, [completion])[0]
    with torch.no_grad():
        logits = lm.model(torch.tensor([prompt_ids + completion_ids])).logits[0]
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    start = len(prompt_ids)
    return sum(float(log_probs[start + j - 1, t]) for j, t in enumerate(completion_ids))


def test_greedy_generation_equals_a_step_by_step_argmax_loop(lm: LoadedLM) -> None:
    never = "\x00never\x00"
    expected = [[_greedy_reference(lm, p, 10)] for p in PROMPTS]
    assert generate(lm, PROMPTS, stop=never, max_new_tokens=10, batch_size=2) == expected
    assert len({texts[0] for texts in expected}) >= 3  # the continuations really differ
    assert not any(texts[0].startswith(p) for texts, p in zip(expected, PROMPTS, strict=True))


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2", "tiny-gptneox", "tiny-gptj"])
def test_batched_generation_equals_unbatched(name: str) -> None:
    lm = _lively(name, seed=1)
    batched = generate(lm, PROMPTS, stop="@@@", max_new_tokens=8, batch_size=len(PROMPTS))
    one_by_one = [generate(lm, [p], stop="@@@", max_new_tokens=8, batch_size=1)[0] for p in PROMPTS]
    assert batched == one_by_one


def test_the_stop_marker_trims_and_stops_generation_early(lm: LoadedLM) -> None:
    prompt = PROMPTS[0]
    full = _greedy_reference(lm, prompt, 12)
    stop = full[3:5]  # a marker the model reaches after a few tokens
    assert stop and full.find(stop) + len(stop) < len(full)
    steps: list[int] = []
    hook = lm.model.register_forward_hook(lambda *_: steps.append(1))
    try:
        [[text]] = generate(lm, [prompt], stop=stop, max_new_tokens=12)
    finally:
        hook.remove()
    assert text == full[: full.find(stop) + len(stop)]
    assert len(steps) < 12  # one forward pass per generated token: it stopped at the marker


def test_sampling_is_reproducible_per_seed_and_leaves_global_rng_alone(lm: LoadedLM) -> None:
    before = torch.random.get_rng_state()
    kwargs = {"stop": "@@@", "max_new_tokens": 8, "do_sample": True, "num_samples": 3}
    first = generate(lm, PROMPTS[:3], seed=7, **kwargs)
    again = generate(lm, PROMPTS[:3], seed=7, **kwargs)
    other = generate(lm, PROMPTS[:3], seed=8, **kwargs)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert first == again != other
    assert [len(samples) for samples in first] == [3, 3, 3]
    assert len(set(first[0])) > 1  # samples of one prompt differ


def test_greedy_with_several_samples_is_refused(lm: LoadedLM) -> None:
    with pytest.raises(LiftbenchError, match="num_samples=2 needs do_sample=True"):
        generate(lm, PROMPTS, stop="@@@", num_samples=2)


def test_prediction_restores_each_module_mode(lm: LoadedLM) -> None:
    lm.model.train()
    frozen = next(m for m in lm.model.modules() if m is not lm.model)
    frozen.eval()
    try:
        generate(lm, PROMPTS[:2], stop="@@@", max_new_tokens=2)
        score_classes(lm, PROMPTS[:2], COMPLETIONS)
        assert lm.model.training and not frozen.training
    finally:
        lm.model.eval()


@pytest.mark.parametrize("attention", ["sdpa", "eager"])  # eager: how LIFT predicts on a CPU
@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2", "tiny-gptneox", "tiny-gptj"])
def test_score_classes_equals_naive_per_pair_loglikelihood(name: str, attention: str) -> None:
    lm = _lively(name, seed=2)
    lm.model.set_attn_implementation(attention)
    scores = score_classes(lm, PROMPTS, COMPLETIONS, batch_size=2)
    naive = np.array([[_naive_loglik(lm, p, c) for c in COMPLETIONS] for p in PROMPTS])
    assert scores.shape == (len(PROMPTS), len(COMPLETIONS))
    np.testing.assert_allclose(scores, naive, rtol=1e-5, atol=1e-4)
    assert len({len(ids) for ids in tokenize_completions(lm.tokenizer, COMPLETIONS)}) > 1


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2", "tiny-gptneox", "tiny-gptj"])
def test_prediction_raises_no_library_warning(name: str) -> None:
    """No deprecation warning on any forward pass (transformers renamed `past_key_values` to `cache`
    and warned on every call under the old name; a custom 4-D attention mask must pass silently),
    through a LoRA wrapper too."""
    lm = load_causal_lm(name)
    with library_notices_hidden():  # peft's own notices while wrapping, not prediction's
        lora = get_peft_model(load_causal_lm(name).model, LoraConfig(r=2, target_modules="all-linear"))
    wrapped = dataclasses.replace(lm, model=lora)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for model in (lm, wrapped):
            score_classes(model, PROMPTS[:2], COMPLETIONS)
            generate(model, PROMPTS[:2], stop="@@@", max_new_tokens=3)


def test_single_token_classes_are_scored_from_the_prompt_pass_alone(lm: LoadedLM) -> None:
    digits = [" 0", " 1", " 2"]
    assert all(len(ids) == 1 for ids in tokenize_completions(lm.tokenizer, digits))
    naive = [[_naive_loglik(lm, p, c) for c in digits] for p in PROMPTS]
    np.testing.assert_allclose(score_classes(lm, PROMPTS, digits), naive, rtol=1e-5, atol=1e-4)


def test_class_probabilities_normalise_each_row_over_the_classes() -> None:
    probabilities = class_probabilities(np.array([[0.0, math.log(3.0)], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(probabilities, [[0.25, 0.75], [0.5, 0.5]])
    lm = _lively("tiny-gpt2")
    probabilities = class_probabilities(score_classes(lm, PROMPTS, COMPLETIONS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_empty_inputs() -> None:
    lm = load_causal_lm("tiny-gpt2")
    assert generate(lm, [], stop="@@@") == []
    assert score_classes(lm, [], COMPLETIONS).shape == (0, len(COMPLETIONS))


def test_a_prompt_longer_than_the_context_is_a_clear_error() -> None:
    lm = load_causal_lm("tiny-gpt2")
    long_prompt = " ".join(["x1=0.52,"] * 200)
    with pytest.raises(LiftbenchError, match=r"model 'tiny-gpt2': the longest prompt has \d+ tokens.*512"):
        generate(lm, [long_prompt], stop="@@@")
    with pytest.raises(LiftbenchError, match=r"exceeds its context of 512 tokens"):
        score_classes(lm, [long_prompt], COMPLETIONS)


@pytest.mark.integration
def test_bundled_smollm2_completes_a_fact_greedily() -> None:
    lm = load_causal_lm("smollm2-135m")
    assert lm.context_length == 8192 and lm.tokenizer.pad_token == "<|im_end|>"
    [[text]] = generate(lm, ["The capital of France is"], stop=".", max_new_tokens=8)
    assert "Paris" in text and text.endswith(".")
    scores = score_classes(lm, ["The capital of France is"], [" Paris", " London"])
    assert scores[0, 0] > scores[0, 1]


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-gpt2"])
def test_tokens_all_completions_share_are_scored_once_with_the_prompt(name: str) -> None:
    """Tokens every class completion begins with are run with the prompt, not once per class, and
    the scores still equal the naive ones. (LIFT's completions " 0@@@", " 1@@@" share the separator
    "Ġ" under the bundled SmolLM2 tokenizer; the tiny models' tokenizer merges it, so "@@@" leads here.)"""
    lm = _lively(name, seed=3)
    completions = ["@@@ 0", "@@@ 1", "@@@ 12 x"]
    ids = tokenize_completions(lm.tokenizer, completions)
    assert shared_prefix(ids) == ids[0][:1]  # "@@@"
    naive = np.array([[_naive_loglik(lm, p, c) for c in completions] for p in PROMPTS])
    np.testing.assert_allclose(
        score_classes(lm, PROMPTS, completions, batch_size=2), naive, rtol=1e-5, atol=1e-4
    )
    bundled = tokenize_completions(load_bundled_tokenizer(), [" 0@@@", " 1@@@", " 2@@@"])
    assert len(shared_prefix(bundled)) == 1
    assert shared_prefix([[5, 6], [5, 6, 7]]) == [5]  # each keeps a token of its own
    assert shared_prefix([[5], [6]]) == []
