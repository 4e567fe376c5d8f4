"""The two ways LIFT reads answers from a causal LM: generate text and parse it (open vocabulary), or
score every class's completion and take the likeliest (closed vocabulary).

Both tokenise exactly as training does (`benchmark.lift.lm.loading`: prompt ids, then the completion's ids,
separator included), pad on the left, give positions counted over real tokens, sort prompts by length
into batches to minimise padding, and return results in the prompts' order. They run under
`torch.inference_mode()` with the model in eval mode, and put each module back in the mode it was in.
They do not choose a precision or an attention kernel: `lift` wraps its calls in
`benchmark.lift.lm.execution.predicting_in` (eager attention on a CPU, bf16 autocast with the weights
cast once where training ran bf16).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from scipy.special import softmax
from transformers import StoppingCriteria, StoppingCriteriaList

from benchmark.lift.lm.loading import (
    LoadedLM,
    pad_batch,
    position_ids_from_mask,
    tokenize_completions,
    tokenize_prompts,
)
from tasks.errors import LiftbenchError


def generate(
    lm: LoadedLM,
    prompts: Sequence[str],
    *,
    stop: str,
    max_new_tokens: int = 16,
    batch_size: int = 16,
    do_sample: bool = False,
    temperature: float = 1.0,
    num_samples: int = 1,
    seed: int = 0,
) -> list[list[str]]:
    """The continuation of each prompt (never the prompt), `num_samples` per prompt.

    Each continuation ends just after the first `stop` marker; one without the marker ran out of
    `max_new_tokens` or produced EOS (the parser reports it as not terminated). Generation of a batch
    ends as soon as every row has produced the marker. Greedy by default (deterministic). Sampling draws
    from the whole distribution at `temperature`, with no top-k or top-p cut, whatever the checkpoint's
    generation config says; it is reproducible for the same prompts, batch_size and seed.
    """
    if not stop:
        raise ValueError("generate needs a non-empty stop marker")
    if batch_size < 1 or num_samples < 1 or max_new_tokens < 1:
        raise ValueError("batch_size, num_samples and max_new_tokens must be at least 1")
    if num_samples > 1 and not do_sample:
        raise LiftbenchError(
            f"num_samples={num_samples} needs do_sample=True: greedy decoding has one answer"
        )
    if do_sample and not temperature > 0:
        raise LiftbenchError(f"sampling temperature {temperature} must be positive")
    tokenizer = lm.tokenizer
    ids = tokenize_prompts(tokenizer, prompts)
    _check_context(lm, ids, max_new_tokens, "new tokens")
    decoding: dict[str, object] = {
        "do_sample": do_sample,
        "num_beams": 1,
        "num_return_sequences": num_samples,
    }
    if do_sample:
        decoding.update(temperature=temperature, top_k=0, top_p=1.0)
    texts: list[list[str]] = [[] for _ in prompts]
    device = _device(lm)
    with _inference(lm.model), _seeded(seed, device):
        for batch in _length_sorted_batches(ids, batch_size):
            input_ids, mask = pad_batch([ids[i] for i in batch], tokenizer.pad_token_id, side="left")
            width = input_ids.shape[1]
            output = lm.model.generate(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                stopping_criteria=StoppingCriteriaList([_StopMarker(tokenizer, stop, width)]),
                **decoding,
            )
            decoded = tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
            for row, index in enumerate(batch):
                samples = decoded[row * num_samples : (row + 1) * num_samples]
                texts[index] = [_through_marker(text, stop) for text in samples]
    return texts


def score_classes(
    lm: LoadedLM, prompts: Sequence[str], completions: Sequence[str], *, batch_size: int = 16
) -> np.ndarray:
    """Total log-likelihood (nats) of each completion given each prompt, shape (n_prompts, K).

    `completions` are the class completions as trained, separator included (e.g. " 0@@@", " 1@@@").
    Each prompt is run once, with the tokens every completion begins with (LIFT's separator: " 0@@@"
    and " 1@@@" share "Ġ") and, in the same pass, the K rests of the completions side by side, each
    seeing only the prompt and itself (`_score_batch`): equal to a full pass per prompt and
    completion, to float rounding. (A second pass over the K rests from a repeated KV cache cost
    1.33x the prompt pass alone in bf16, this one 1.10x.)
    """
    if not completions:
        raise ValueError("score_classes needs at least one completion")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    tokenizer = lm.tokenizer
    completion_ids = tokenize_completions(tokenizer, completions)
    if not all(completion_ids):
        raise ValueError(f"a completion encodes to no tokens: {list(completions)!r}")
    prompt_ids = tokenize_prompts(tokenizer, prompts)
    _check_context(lm, prompt_ids, max(map(len, completion_ids)), "completion tokens")
    shared = shared_prefix(completion_ids)
    prompt_ids = [ids + shared for ids in prompt_ids]
    completion_ids = [ids[len(shared) :] for ids in completion_ids]
    n_classes = len(completions)
    scores = np.empty((len(prompts), n_classes), dtype=np.float64)
    device = _device(lm)
    targets, target_mask = (t.to(device) for t in pad_batch(completion_ids, tokenizer.pad_token_id))
    with _inference(lm.model):
        for batch in _length_sorted_batches(prompt_ids, batch_size):
            input_ids, mask = (
                t.to(device)
                for t in pad_batch([prompt_ids[i] for i in batch], tokenizer.pad_token_id, side="left")
            )
            scores[batch] = (
                _score_batch(lm.model, input_ids, mask, targets, target_mask, len(shared)).cpu().numpy()
            )
    return scores


def shared_prefix(completion_ids: Sequence[list[int]]) -> list[int]:
    """The tokens all completions begin with, leaving each at least one token of its own."""
    shortest = min(len(ids) for ids in completion_ids)
    shared: list[int] = []
    for position in range(shortest - 1):
        tokens = {ids[position] for ids in completion_ids}
        if len(tokens) != 1:
            break
        shared.append(tokens.pop())
    return shared


def _score_batch(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    targets: torch.Tensor,
    target_mask: torch.Tensor,
    shared: int = 0,
) -> torch.Tensor:
    """(B, K) log-likelihoods of K right-padded completions after B left-padded prompts whose last
    `shared` tokens are the completions' shared first tokens (`shared_prefix`), in one forward pass.

    Each row is its prompt followed by every class's completion tokens but the last (which predicts
    nothing), K blocks of equal width. A 4-D attention mask lets a completion token see the prompt's
    real tokens and its own class's earlier tokens only, and its position continues the prompt's, so
    each block is scored exactly as if it followed the prompt alone (a tree of K branches on one
    trunk). The head runs on the shared tokens, the prompt's last position and the completion tokens.
    """
    n_prompts, width = input_ids.shape
    n_classes, longest = targets.shape
    fed = longest - 1  # completion tokens fed per class
    device = input_ids.device
    branch = torch.arange(n_classes, device=device).repeat_interleave(fed)  # class of each fed slot
    step = torch.arange(fed, device=device).repeat(n_classes)  # its place in the completion
    fed_real = target_mask[:, :-1].reshape(-1).bool()
    ids = torch.cat([input_ids, targets[:, :-1].reshape(1, -1).expand(n_prompts, -1)], dim=1)
    positions = torch.cat([position_ids_from_mask(mask), mask.sum(-1, keepdim=True) + step], dim=1)
    size = width + n_classes * fed
    prompt_keys = mask.bool()[:, None, :]
    allowed = torch.zeros((n_prompts, size, size), dtype=torch.bool, device=device)
    allowed[:, :width, :width] = (
        torch.ones(width, width, dtype=torch.bool, device=device).tril() & prompt_keys
    )
    allowed[:, width:, :width] = prompt_keys
    allowed[:, width:, width:] = (
        (branch[:, None] == branch[None, :]) & (step[None, :] <= step[:, None]) & fed_real
    )
    allowed |= torch.eye(size, dtype=torch.bool, device=device)  # a padding query sees itself, never nothing
    bias = torch.zeros((n_prompts, 1, size, size), dtype=torch.float32, device=device)
    bias.masked_fill_(~allowed[:, None], torch.finfo(torch.float32).min)
    output = model(
        input_ids=ids,
        attention_mask=bias,  # additive: eager attention adds it, SDPA takes it as given
        position_ids=positions,
        use_cache=False,
        logits_to_keep=shared + 1 + n_classes * fed,
    )
    log_probs = torch.log_softmax(output.logits.float(), dim=-1)
    total = log_probs[:, shared][:, targets[:, 0]]  # each completion's first token, after the prompt
    if shared:
        tokens = input_ids[:, -shared:, None]
        total = total + log_probs[:, :shared].gather(-1, tokens)[..., 0].sum(-1, keepdim=True)
    if fed:
        following = targets[:, 1:].reshape(1, -1, 1).expand(n_prompts, -1, 1)
        picked = log_probs[:, shared + 1 :].gather(-1, following)[..., 0]
        picked = torch.where(target_mask[:, 1:].reshape(1, -1).bool(), picked, 0.0)
        total = total + picked.view(n_prompts, n_classes, fed).sum(-1)
    return total


def class_probabilities(logliks: np.ndarray) -> np.ndarray:
    """Softmax of each row of `score_classes` log-likelihoods.

    It normalises over the given class set only: the probability of each class completion given that the
    answer is one of them, not the model's probability of producing it among all texts.
    """
    return softmax(np.asarray(logliks, dtype=np.float64), axis=1)


class _StopMarker(StoppingCriteria):
    """Marks a row done once its generated text (after the prompt's `width` ids) holds the stop marker."""

    def __init__(self, tokenizer: object, stop: str, width: int) -> None:
        self.tokenizer = tokenizer
        self.stop = stop
        self.width = width

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object
    ) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.width :], skip_special_tokens=True)
        return torch.tensor([self.stop in text for text in texts], dtype=torch.bool, device=input_ids.device)


def _through_marker(text: str, stop: str) -> str:
    cut = text.find(stop)
    return text if cut < 0 else text[: cut + len(stop)]


def _length_sorted_batches(ids: Sequence[Sequence[int]], batch_size: int) -> Iterator[list[int]]:
    """Indices of `ids`, longest first, in batches: rows of similar length share a batch."""
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _check_context(lm: LoadedLM, ids: Sequence[Sequence[int]], extra: int, what: str) -> None:
    if not ids or lm.context_length is None:
        return
    longest = max(map(len, ids))
    if longest + extra > lm.context_length:
        raise LiftbenchError(
            f"model {lm.model_id!r}: the longest prompt has {longest} tokens, which with {extra} {what} exceeds "
            f"its context of {lm.context_length} tokens; shorten the prompts (fewer features or decimals, "
            "a more compact serializer) or use a model with a longer context"
        )


def _device(lm: LoadedLM) -> torch.device:
    return next(lm.model.parameters()).device


@contextmanager
def _inference(model: torch.nn.Module) -> Iterator[None]:
    """inference_mode with every module in eval mode, then each module back in its own previous mode."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        for module, training in modes:
            module.training = training


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's generator for this block only; the global random state is restored after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
