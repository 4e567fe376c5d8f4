"""Prompt hashes, token counts, the context check, and the `liftbench prompts` command."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from benchmark.commands.prompts import group
from benchmark.lift.serialization import Example, SerializationContext, get_serializer, serialize_rows
from benchmark.lift.serialization.accounting import (
    TokenStats,
    check_fits_context,
    context_limit,
    prompt_hash,
    token_lengths,
    token_stats,
)
from tasks.errors import LiftbenchError
from tasks.registry import load_task, register
from tasks.spec import TaskData, TaskSpec

TASK = "test-prompts-command-toy"


def _load_toy(n_rows: int = 20, n_features: int = 2, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.normal(size=(n_rows, n_features)).round(3), columns=[f"f_{i}" for i in range(n_features)]
    )
    y = pd.Series(rng.integers(0, 3, size=n_rows))
    return TaskData(
        TASK, "classification", X, y, dict.fromkeys(X.columns, "numeric"), ("a", "b", "c"), "synthetic"
    )


register(
    TaskSpec(
        name=TASK,
        kind="classification",
        source="synthetic",
        loader=_load_toy,
        defaults={"n_rows": 20, "n_features": 2, "seed": 0},
        description="a tiny task for the prompts command tests",
    )
)


@pytest.fixture(scope="module")
def word_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Hugging Face tokenizer whose tokens are whitespace-separated words; context 12."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab={"[UNK]": 0}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    folder = tmp_path_factory.mktemp("word-tokenizer")
    PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", model_max_length=12).save_pretrained(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def word_tokenizer(word_tokenizer_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(word_tokenizer_dir)


# --- hashes --------------------------------------------------------------------------------------------

EXAMPLES = [Example("When we have x1=0.52, What is this type? ###", "2@@@"), Example("p", "1@@@")]
SETTINGS = {"serializer": "lift", "decimals": None}


def test_prompt_hash_is_stable_and_short() -> None:
    first = prompt_hash(SETTINGS, EXAMPLES)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert prompt_hash(dict(reversed(SETTINGS.items())), list(EXAMPLES)) == first
    assert prompt_hash(SETTINGS, [(e.prompt, e.completion) for e in EXAMPLES]) == first


@pytest.mark.parametrize(
    "changed",
    [
        ({**SETTINGS, "decimals": 3}, EXAMPLES),
        (SETTINGS, [EXAMPLES[0], Example("p", "2@@@")]),
        (SETTINGS, [EXAMPLES[0], Example("p ", "1@@@")]),
        (SETTINGS, EXAMPLES[::-1]),
        (SETTINGS, EXAMPLES[:1]),
        (SETTINGS, [EXAMPLES[0], Example("p", None)]),
    ],
)
def test_prompt_hash_changes_with_settings_or_text(changed) -> None:
    assert prompt_hash(*changed) != prompt_hash(SETTINGS, EXAMPLES)


def test_prompt_hash_keeps_prompt_and_completion_apart() -> None:
    assert prompt_hash(SETTINGS, [Example("ab", "c")]) != prompt_hash(SETTINGS, [Example("a", "bc")])
    assert prompt_hash(SETTINGS, [Example("a", "b"), Example("c", "d")]) != prompt_hash(
        SETTINGS, [Example("a", "bc")]
    )


def test_prompt_hash_of_serializers_differs_by_option() -> None:
    ctx = SerializationContext(("a", "b"), ("numeric", "numeric"), "classification", ("x", "y"), "t")
    X = pd.DataFrame({"a": [0.1, 0.2], "b": [1.0, 2.0]})
    hashes = []
    for options in ({}, {"decimals": 2}, {"decimals": 3}, {"permute_features": 0}, {"labels": "names"}):
        s = get_serializer("lift", **options).bind(ctx)
        hashes.append(prompt_hash(s.settings(), serialize_rows(s, X, [0, 1])))
    assert hashes[0] == hashes[1]  # decimals=2 is the default: the same texts and settings in effect
    assert len(set(hashes)) == 4


# --- tokens and the context ----------------------------------------------------------------------------


def test_token_lengths_and_stats_with_a_real_tokenizer(word_tokenizer) -> None:
    texts = ["a b c", "one", "When we have x1=0.52, x2=1.20, What is this type? ###2@@@"] * 700  # > one batch
    lengths = token_lengths(word_tokenizer, texts)
    assert lengths[:3] == [3, 1, 10] and len(lengths) == 2100
    stats = token_stats(word_tokenizer, texts)
    assert stats == TokenStats(mean=14 / 3, max=10, total=14 * 700)
    assert TokenStats.from_lengths([]) == TokenStats(0.0, 0, 0)


def test_context_limit_prefers_a_real_tokenizer_limit(word_tokenizer) -> None:
    assert context_limit(word_tokenizer) == 12

    class NoLimit:
        model_max_length = int(1e30)

    class Config:
        max_position_embeddings = 2048

    assert context_limit(NoLimit()) is None
    assert context_limit(NoLimit(), Config()) == 2048


def test_check_fits_context_names_task_row_and_limit() -> None:
    check_fits_context("iris", "lift", [10, 20, 30], 30)
    check_fits_context("iris", "lift", [], 30)
    with pytest.raises(LiftbenchError) as err:
        check_fits_context("mnist", "lift-image", [900, 1300, 1100], 1024)
    message = str(err.value)
    assert "'mnist'" in message and "'lift-image'" in message and "1024" in message
    assert "2 of 3 rows" in message and "(row 1) has 1300 tokens" in message


# --- the command ---------------------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(group, list(args), catch_exceptions=True)


def test_prompts_list_describes_every_serializer() -> None:
    result = _run("list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines][:2] == ["lift", "lift-names"]
    assert any(line.startswith("template") and "tae (OpenML 48)" in line for line in lines)


def test_prompts_show_prints_examples_tokens_and_hash(word_tokenizer_dir: Path, word_tokenizer) -> None:
    result = _run("show", TASK, "--n", "3", "--seed", "1", "--param", "n_rows=9", "--option", "decimals=1",
                  "--tokenizer", str(word_tokenizer_dir))  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output

    data = load_task(TASK, n_rows=9)
    s = get_serializer("lift", decimals=1).bind(data)
    examples = serialize_rows(s, data.X, data.y)
    shown = np.random.default_rng(1).permutation(9)[:3]
    assert [int(r) for r in re.findall(r"^--- row (\d+)$", out, re.M)] == shown.tolist()
    for row in shown:
        assert f"--- row {row}\n{examples[row].prompt}\n-> {examples[row].completion}\n" in out
    assert f"{data.n_rows} rows, 2 features" in out
    lengths = token_lengths(word_tokenizer, [e.prompt + e.completion for e in examples])
    assert f"mean {np.mean(lengths):.1f}, max {max(lengths)}, total {sum(lengths)} over 9 rows" in out
    assert "model context: 12" in out and "warning" not in out
    assert out.rstrip().endswith(f"prompt hash: {prompt_hash(s.settings(), examples)}")


def test_prompts_show_warns_when_rows_exceed_the_context(word_tokenizer_dir: Path) -> None:
    result = _run("show", TASK, "--n", "0", "--param", "n_features=6", "--tokenizer", str(word_tokenizer_dir))
    assert result.exit_code == 0, result.output
    assert "--- row" not in result.output
    assert (
        f"warning: task '{TASK}' with serializer 'lift': 20 of 20 rows exceed the model's context of 12"
        in result.output
    )


def test_prompts_show_without_tokenizer_and_with_a_string_option() -> None:
    result = _run(
        "show",
        TASK,
        "--n",
        "1",
        "--serializer",
        "list",
        "--option",
        "separator=\\n\\n",
        "--tokenizer",
        "none",
    )
    assert result.exit_code == 0, result.output
    assert "- f 0: " in result.output and "\n\n- f 1: " in result.output
    assert "tokens per row" not in result.output and "prompt hash: " in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--serializer", "lift_names"], "did you mean: lift-names"),
        (["--option", "decimal=2"], "did you mean: decimals"),
        (["--option", "decimals"], "--option expects KEY=VALUE"),
        (["--param", "n_row=3"], "did you mean: n_rows"),
        (["--serializer", "template"], "no template for task"),
        (["--tokenizer", "/nonexistent/tokenizer-folder"], "cannot load tokenizer"),
    ],
)
def test_prompts_show_errors_are_liftbench_errors(args: list[str], message: str) -> None:
    result = _run("show", TASK, "--n", "0", *args)
    assert isinstance(result.exception, LiftbenchError), result.output
    assert message in str(result.exception)


def test_cli_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmark.cli import main

    assert main(["prompts", "show", TASK, "--serializer", "jsn", "--tokenizer", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("liftbench: error: unknown serializer 'jsn' (did you mean: json?)")
    assert len(err.strip().splitlines()) == 1
