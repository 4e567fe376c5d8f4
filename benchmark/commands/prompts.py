"""`liftbench prompts`: see how a task's rows become prompts, and what they cost in tokens."""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from benchmark.commands.params import parse_key_values
from benchmark.lift.lm.bundled import BUNDLED_MODEL_ID, load_bundled_tokenizer
from benchmark.lift.serialization import get_serializer, serialize_rows, serializer_classes
from benchmark.lift.serialization.accounting import (
    TokenStats,
    check_fits_context,
    context_limit,
    prompt_hash,
    token_lengths,
)
from tasks.errors import LiftbenchError
from tasks.registry import load_task


def _load_tokenizer(name: str) -> tuple[Any, Any, str]:
    """(tokenizer, model config or None, label) for --tokenizer; (None, None, '') for 'none'."""
    if name == "none":
        return None, None, ""
    if name in ("bundled", BUNDLED_MODEL_ID):
        return load_bundled_tokenizer(), None, f"bundled {BUNDLED_MODEL_ID}"
    from transformers import AutoConfig, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise LiftbenchError(
            f"cannot load tokenizer {name!r} ({str(err).splitlines()[0]}); give a local folder, a Hugging Face id "
            "the network or cache can serve, 'bundled', or 'none'"
        ) from None
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError):
        config = None
    return tokenizer, config, name


@click.group(name="prompts")
def group() -> None:
    """Serializers: how rows become prompts, their token counts and hashes."""


@group.command("list")
def list_serializers() -> None:
    """List the serializers, one line each."""
    classes = serializer_classes()
    width = max(map(len, classes))
    for name, cls in classes.items():
        click.echo(f"{name:<{width}}  {cls.description}")


@group.command("show")
@click.argument("task")
@click.option("--serializer", "serializer_name", default="lift", show_default=True, help="Serializer name.")
@click.option(
    "--n", "n_examples", default=5, show_default=True, type=click.IntRange(min=0), help="Rows to print."
)
@click.option(
    "--seed", default=0, show_default=True, help="Seed of the permutation the printed rows come from."
)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A task parameter (repeatable).")
@click.option(
    "--option", "options", multiple=True, metavar="KEY=VALUE", help="A serializer option (repeatable)."
)
@click.option(
    "--tokenizer",
    "tokenizer_name",
    default="bundled",
    show_default=True,
    help="Count tokens with: bundled (SmolLM2), none, or a Hugging Face id or folder.",
)
def show(
    task: str,
    serializer_name: str,
    n_examples: int,
    seed: int,
    params: tuple[str, ...],
    options: tuple[str, ...],
    tokenizer_name: str,
) -> None:
    """Print example prompt -> completion pairs of TASK, token counts over all rows, and the prompt hash."""
    serializer = get_serializer(serializer_name, **parse_key_values(options, "--option", unescape=True))
    data = load_task(task, **parse_key_values(params))
    tokenizer, config, label = _load_tokenizer(tokenizer_name)  # before printing: a bad one is one line
    bound = serializer.bind(data)
    examples = serialize_rows(bound, data.X, data.y)

    settings = ", ".join(
        f"{k}={v!r}" for k, v in bound.settings().items() if v is not None and k != "serializer"
    )
    click.echo(f"task {data.name}: {data.kind}, {data.n_rows} rows, {data.n_features} features")
    click.echo(f"serializer {bound.name}: {settings}")
    for position in np.random.default_rng(seed).permutation(data.n_rows)[:n_examples]:
        example = examples[int(position)]
        click.echo(f"--- row {int(position)}")
        click.echo(example.prompt)
        click.echo(f"-> {example.completion if example.completion is not None else '(target missing)'}")

    click.echo("---")
    if tokenizer is not None:
        lengths = token_lengths(tokenizer, [e.prompt + (e.completion or "") for e in examples])
        stats = TokenStats.from_lengths(lengths)
        limit = context_limit(tokenizer, config)
        click.echo(
            f"tokens per row (prompt + completion, {label}): mean {stats.mean:.1f}, max {stats.max}, "
            f"total {stats.total} over {len(lengths)} rows; model context: {limit or 'unknown'}"
        )
        if limit is not None:
            try:
                check_fits_context(data.name, bound.name, lengths, limit)
            except LiftbenchError as err:
                click.echo(f"warning: {err}")
    click.echo(f"prompt hash: {prompt_hash(bound.settings(), examples)}")
