"""`liftbench run --shard I/N`: deal a suite's runs to N independent processes, each with its own store.

Shard I (1-based) takes runs I, I+N, I+2N, ... of the suite's run list (after `--filter`, `--set`
and `--limit-rows`), so every shard gets an even share of every block, and the cheap baseline runs
and the expensive LIFT runs are spread alike. The deal depends only on that list, never on what a
store holds: each shard resumes from its own store, and `liftbench results merge` joins the stores.
Every shard must be given the same suite, filter, overrides and N.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.core.runspec import RunSpec
from tasks.errors import LiftbenchError

_SHARD = re.compile(r"^\s*(?P<index>\d+)\s*/\s*(?P<count>\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`2/8` -> Shard(2, 8); anything else is a one-line LiftbenchError."""
    match = _SHARD.match(text)
    if match is None or not 1 <= int(match["index"]) <= int(match["count"]):
        raise LiftbenchError(
            f"--shard {text!r} is not I/N with 1 <= I <= N; write e.g. --shard 1/3 (with SLURM:"
            " --shard $((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT)"
        )
    return Shard(int(match["index"]), int(match["count"]))


def shard_runs(runs: Sequence[RunSpec], shard: Shard) -> list[RunSpec]:
    """The runs dealt to `shard`: every N-th run, starting at position I - 1."""
    return list(runs[shard.index - 1 :: shard.count])
