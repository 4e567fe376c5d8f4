"""Whether a model a suite names can be loaded, checked without torch before any run starts.

`load_causal_lm` would fail on the same models, but only once a run reaches them, after other runs of
the suite were fitted and stored. Checked here: a local folder must hold a config and a weight file
(unless the weights are drawn at random). A Hugging Face id is not checked here: whether this machine
has it cached says nothing about the suite, which may be meant for another machine. The bundled and
tiny models need no check.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import constants, is_offline_mode, try_to_load_from_cache

from benchmark.lift.lm.bundled import BUNDLED_MODEL_ID
from tasks.errors import LiftbenchError

# The files `from_pretrained` reads weights from (single or sharded).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def check_model_available(model: str, init: str = "pretrained") -> None:
    """Raise the LiftbenchError loading `model` would raise, where that can be known offline and cheaply."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise LiftbenchError(
                f"model folder {folder} has no config.json; pass a folder written by save_pretrained"
            )
        if init == "pretrained" and not any((folder / name).is_file() for name in WEIGHT_FILES):
            raise LiftbenchError(
                f"model folder {folder} has no weights ({', '.join(WEIGHT_FILES)}); pass a folder written"
                " by save_pretrained, or init: random to draw the weights"
            )
        return


def check_model_here(model: str) -> None:
    """What `check_model_available` leaves out: on this machine, with downloads forbidden
    (HF_HUB_OFFLINE), a Hugging Face id must be in the cache. `liftbench run` asks this before its first
    run; suite checks do not, since a suite may be meant for another machine."""
    if model == BUNDLED_MODEL_ID or model.startswith("tiny-") or Path(model).expanduser().is_dir():
        return
    if is_offline_mode() and not isinstance(try_to_load_from_cache(model, "config.json"), str):
        raise offline_miss(model, None)


def offline_miss(model: str, revision: str | None) -> LiftbenchError:
    """The error for a hub model that is not cached while downloads are forbidden."""
    at = f" at revision {revision!r}" if revision else ""
    return LiftbenchError(
        f"model {model!r}{at} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE=1 "
        "forbids downloading it; run once with network access (HF_HUB_OFFLINE unset) to cache it, "
        f"pass a local model folder, or use the bundled {BUNDLED_MODEL_ID!r}"
    )
