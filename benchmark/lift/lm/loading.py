"""Loading causal LMs, and the one tokenisation rule that training, generation and scoring share.

`load_causal_lm(model)` takes:
  * "smollm2-135m": the bundled SmolLM2-135M-Instruct (materialised once by `benchmark.lift.lm.bundled`);
  * a local folder written by `save_pretrained`;
  * a Hugging Face hub id (from the local HF cache when HF_HUB_OFFLINE=1);
  * "tiny-<arch>" (llama, gpt2, gptneox, gptj): a tiny random model for tests (`benchmark.lift.lm.tiny`).
`init="random"` keeps the architecture and tokenizer and draws fresh weights from `seed` (the paper's
pretraining ablation, LIFT/Rand).

The tokenisation rule (used by `encode_example`, `benchmark.lift.lm.predict.generate` and `score_classes`):
the prompt and the completion are tokenised SEPARATELY and their ids concatenated,

    ids = special_prefix + tokens(prompt) + tokens(separator + completion)

where `special_prefix` is what the tokenizer itself puts before a text (a BOS token for Llama-style
tokenizers, nothing for GPT-2, GPT-NeoX or the bundled SmolLM2), and no EOS is appended: the completion
end marker ("@@@") ends an answer. The separator belongs to the completion, so it carries loss and is what
the model learns to emit after the prompt: the paper joined prompt + " " + completion for GPT-J, i.e.
separator " "; the parser strips it. Because the split point is fixed, the ids a model is trained on are
exactly the ids generation continues from and scoring scores, whatever merges the tokenizer would make
across the joint. Loss falls on the completion tokens only (labels -100 on the prompt), as in the paper.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from benchmark.lift.lm import bundled, tiny
from benchmark.lift.lm.availability import offline_miss
from tasks.errors import LiftbenchError, did_you_mean

BUNDLED_MODEL = "smollm2-135m"
TINY_PREFIX = "tiny-"
HUB_PROBE_TIMEOUT_S = 10.0  # how long asking the hub whether it knows a model may take
INITS = ("pretrained", "random")
IGNORE_INDEX = -100  # the label of a position that carries no loss (PyTorch's cross-entropy default)
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_PREFIX_PROBE = "0"


@dataclass
class LoadedLM:
    """A causal LM ready for LIFT, with its tokenizer (pad token set) and what identifies it.

    `revision` is the hub commit for hub models; for a local folder (the bundled model included) a hash
    of its config.json and the names and sizes of its weight files; for tiny models a hash of the config
    and seed. With init="random" it ends in "+random-init-seed<seed>". `context_length` is the config's
    max_position_embeddings (or n_positions), None when the config gives none.
    """

    model: PreTrainedModel
    tokenizer: Any
    model_id: str
    revision: str
    n_parameters: int
    context_length: int | None


def load_causal_lm(
    model: str = BUNDLED_MODEL,
    init: str = "pretrained",
    dtype: torch.dtype = torch.float32,
    revision: str | None = None,
    seed: int = 0,
) -> LoadedLM:
    """Load `model` (module docstring: what it may name) in eval mode with weights in `dtype`.

    `seed` draws the weights when init="random" and the weights of a tiny model (random either way);
    a pretrained model ignores it. `revision` picks a hub commit, branch or tag (hub models only).
    """
    if init not in INITS:
        raise LiftbenchError(f"model init {init!r} is unknown; use one of: {', '.join(INITS)}")
    kind = _source_kind(model)
    if revision is not None and kind != "hub":
        raise LiftbenchError(f"model {model!r} is not a Hugging Face hub model; drop revision={revision!r}")
    if kind == "tiny":
        return _load_tiny(model, dtype, seed)
    if kind == "bundled":
        return _load_pretrained(model, bundled.materialise_bundled_model(), {}, init, dtype, seed)
    if kind == "folder":
        folder = Path(model).expanduser()
        if not (folder / "config.json").is_file():
            raise LiftbenchError(
                f"model folder {folder} has no config.json; pass a folder written by save_pretrained"
            )
        return _load_pretrained(model, folder, {}, init, dtype, seed)
    return _load_pretrained(model, model, _hub_options(model, revision), init, dtype, seed)


def _source_kind(model: str) -> str:
    """Where `load_causal_lm` finds `model`: "tiny", "bundled", "folder" or "hub"."""
    if model.startswith(TINY_PREFIX) and "/" not in model:
        return "tiny"
    if model == BUNDLED_MODEL:
        return "bundled"
    if Path(model).expanduser().is_dir():
        return "folder"
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise LiftbenchError(
            f"model folder {model!r} does not exist; pass an existing folder, a Hugging Face model id, "
            f"{BUNDLED_MODEL!r} (bundled) or tiny-<arch> ({', '.join(tiny.TINY_ARCHS)})"
        )
    return "hub"


def _load_tiny(name: str, dtype: torch.dtype, seed: int) -> LoadedLM:
    arch = name.removeprefix(TINY_PREFIX)
    if arch not in tiny.TINY_ARCHS:
        names = [TINY_PREFIX + a for a in tiny.TINY_ARCHS]
        raise LiftbenchError(
            f"unknown tiny model {name!r}{did_you_mean(name, names)}; use one of: {', '.join(names)}"
        )
    model, tokenizer = tiny.tiny_model(arch, seed=seed)
    digest = hashlib.sha256(f"{model.config.to_json_string()}\nseed={seed}".encode()).hexdigest()[:16]
    return _loaded(model.to(dtype), tokenizer, name, digest)


def _hub_options(name: str, revision: str | None) -> dict[str, Any]:
    """How to load hub model `name`: from the hub, or from the cache alone when offline.

    Online, the hub is asked once, briefly, whether it knows the model: transformers would otherwise
    retry each of its downloads for about a minute before saying that the hub cannot be reached. An
    unknown id, or an unreachable hub with the model not cached, is one LiftbenchError naming the model
    and the cache; an unreachable hub with the model cached loads it from the cache.
    """
    from huggingface_hub import HfApi, constants, is_offline_mode, try_to_load_from_cache
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    if is_offline_mode():
        return {"revision": revision, "local_files_only": True}
    at = f" at revision {revision!r}" if revision else ""
    try:
        HfApi().model_info(name, revision=revision, timeout=HUB_PROBE_TIMEOUT_S)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise LiftbenchError(
            f"model {name!r}{at} is not on the Hugging Face hub (or is gated) and not in its cache "
            f"({constants.HF_HUB_CACHE}); check the id, or pass a local model folder"
        ) from None
    except Exception as error:  # any transport failure: the hub cannot be reached from here
        if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
            return {"revision": revision, "local_files_only": True}
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise LiftbenchError(
            f"model {name!r}{at} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and the hub "
            f"cannot be reached ({reason}); connect to the network once to cache it, pass a local model "
            f"folder, or use the bundled {BUNDLED_MODEL!r}"
        ) from None
    return {"revision": revision, "local_files_only": False}


@contextlib.contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """transformers draws a progress bar per load; a suite loads the model once per run, and the
    runner's own progress is what a user follows."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_pretrained(
    name: str, source: str | Path, options: dict[str, Any], init: str, dtype: torch.dtype, seed: int
) -> LoadedLM:
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **options)
        config = AutoConfig.from_pretrained(source, **options)
        if init == "pretrained":
            with _quiet_weight_loading():
                model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **options)
        else:
            with torch.random.fork_rng(devices=[]):  # the seed governs these weights and nothing else
                torch.manual_seed(seed)
                model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    except OSError as error:
        raise _unavailable(name, source, options, error) from None
    except ValueError as error:  # e.g. an encoder-only or unknown architecture
        first_line = str(error).strip().splitlines()[0]
        raise LiftbenchError(f"model {name!r} cannot be loaded as a causal LM: {first_line}") from None
    revision = _source_revision(source, options)
    if init == "random":
        revision = f"{revision}+random-init-seed{seed}"
    return _loaded(model.eval(), tokenizer, name, revision)


def _unavailable(name: str, source: str | Path, options: dict[str, Any], error: OSError) -> LiftbenchError:
    if isinstance(source, Path):
        return LiftbenchError(f"model folder {source} cannot be loaded: {' '.join(str(error).split())}")
    from huggingface_hub import constants

    at = f" at revision {options['revision']!r}" if options.get("revision") else ""
    if options.get("local_files_only"):
        return offline_miss(name, options.get("revision"))
    return LiftbenchError(
        f"model {name!r}{at} could not be loaded from the Hugging Face hub or its cache "
        f"({constants.HF_HUB_CACHE}): {' '.join(str(error).split())}; check the id and the network, "
        f"or pass a local model folder"
    )


def _source_revision(source: str | Path, options: dict[str, Any]) -> str:
    if isinstance(source, Path):
        return folder_revision(source)
    from huggingface_hub import hf_hub_download

    # The hub cache keeps each commit's files under snapshots/<commit hash>/.
    return Path(hf_hub_download(source, "config.json", **options)).parent.name


def folder_revision(folder: Path) -> str:
    """A short hash of a model folder: its config.json and the names and sizes of its weight files."""
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    digest.update(json.dumps([[p.name, p.stat().st_size] for p in weights]).encode())
    return digest.hexdigest()[:16]


def _loaded(model: PreTrainedModel, tokenizer: Any, name: str, revision: str) -> LoadedLM:
    return LoadedLM(
        model=model,
        tokenizer=prepare_tokenizer(tokenizer, name),
        model_id=name,
        revision=revision,
        n_parameters=sum(p.numel() for p in model.parameters()),
        context_length=config_context_length(model.config),
    )


def weights_checksum(model: torch.nn.Module) -> str:
    """A sha256 of the model's parameters and buffers (names, dtypes, shapes and bytes, in name order):
    what identifies the weights a run started from, whatever folder or hub revision they came from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{value.dtype}:{tuple(tensor.shape)}\n".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()[:16]


def lm_identity(lm: LoadedLM) -> dict[str, Any]:
    """What identifies the weights a run starts from: model id, revision and a checksum of the weights."""
    return {
        "model_id": lm.model_id,
        "model_revision": lm.revision,
        "weights_checksum": weights_checksum(lm.model),
    }


def config_context_length(config: Any) -> int | None:
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def prepare_tokenizer(tokenizer: Any, name: str = "") -> Any:
    """Give `tokenizer` a pad token (its EOS when it has none, as GPT-2 and GPT-J need) and return it.

    Its padding side stays as loaded: liftbench never relies on it and pads with `pad_batch`, on the
    left for generation and scoring, on whichever side the trainer asks.
    """
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise LiftbenchError(
                f"the tokenizer of model {name!r} has neither a pad nor an EOS token; "
                "save the model with a tokenizer that defines one of them"
            )
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def special_prefix(tokenizer: Any) -> list[int]:
    """The ids the tokenizer itself puts before a text: [BOS] for Llama-style tokenizers, else []."""
    with_special = tokenizer(_PREFIX_PROBE)["input_ids"]
    plain = tokenizer(_PREFIX_PROBE, add_special_tokens=False)["input_ids"]
    for start in range(len(with_special) - len(plain) + 1):
        if with_special[start : start + len(plain)] == plain:
            return list(with_special[:start])
    raise ValueError(
        f"tokenizer {type(tokenizer).__name__} changes a text's tokens when adding special tokens"
    )


def tokenize_prompts(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Prompt ids as training and prediction see them: the special prefix (BOS), then the prompt's tokens."""
    if not prompts:
        return []
    prefix = special_prefix(tokenizer)
    encoded = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    return [prefix + list(ids) for ids in encoded]


def tokenize_completions(tokenizer: Any, completions: Sequence[str]) -> list[list[int]]:
    """Completion ids (each text already starting with its separator): plain tokens, no special tokens."""
    if not completions:
        return []
    return [list(ids) for ids in tokenizer(list(completions), add_special_tokens=False)["input_ids"]]


def encode_example(
    tokenizer: Any, prompt: str, completion: str, separator: str
) -> tuple[list[int], list[int]]:
    """Training ids and labels of one example: labels are IGNORE_INDEX on the prompt, the ids on the
    completion (`separator + completion`), so only the completion carries loss (module docstring)."""
    prompt_ids = tokenize_prompts(tokenizer, [prompt])[0]
    completion_ids = tokenize_completions(tokenizer, [separator + completion])[0]
    if not completion_ids:
        raise ValueError(f"completion {separator + completion!r} encodes to no tokens; it cannot carry loss")
    return prompt_ids + completion_ids, [IGNORE_INDEX] * len(prompt_ids) + completion_ids


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_value: int, side: str = "right"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists into a (batch, longest) LongTensor and its attention mask (1 on real tokens)."""
    if side not in ("left", "right"):
        raise ValueError(f"padding side {side!r}; use 'left' or 'right'")
    width = max((len(s) for s in sequences), default=0)
    ids = torch.full((len(sequences), width), pad_value, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        span = slice(width - len(sequence), width) if side == "left" else slice(0, len(sequence))
        ids[row, span] = torch.as_tensor(list(sequence), dtype=torch.long)
        mask[row, span] = 1
    return ids, mask


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only, so a left-padded row starts at 0 (padding gets 0)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
