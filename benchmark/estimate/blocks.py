"""Which block of its suite file each run comes from, after the command line changed the runs.

A suite expands block by block (included suites first) and keeps a run's first occurrence;
`--set` overrides and `--limit-rows` change a run's hash but not its block, so each expanded run is
sent through the same changes (`change`) and its block is recorded under the hash that results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmark.core.runspec import RunSpec
from benchmark.harness.suites import Block, Suite

SHOWN_NAMES = 4  # names of tasks or methods a block's label lists before "+N more"


@dataclass(frozen=True)
class SuiteBlock:
    index: int  # 1-based, in expansion order
    label: str


def block_label(block: Block, suite: Suite) -> str:
    """ "iris, wine x majority, logreg, knn, tree +4": what the block crosses; its file if included."""
    tasks, methods = (_names(block.axes[axis]) for axis in ("tasks", "methods"))
    where = "" if block.source == suite.path else f" [{block.source.stem}]"
    return f"{tasks} x {methods}{where}"


def _names(values: tuple[tuple[str, object], ...]) -> str:
    names = list(dict.fromkeys(name for name, _ in values))
    more = len(names) - SHOWN_NAMES
    return ", ".join(names[:SHOWN_NAMES]) + (f" +{more}" if more > 0 else "")


def suite_blocks(
    suite: Suite, change: Callable[[list[RunSpec]], list[RunSpec]] = list
) -> dict[str, SuiteBlock]:
    """Run hash -> the block it comes from, for the runs as `change` turns them (module docstring)."""
    out: dict[str, SuiteBlock] = {}
    for index, block in enumerate(suite.all_blocks(), start=1):
        label = SuiteBlock(index, block_label(block, suite))
        for spec in block.expand():
            for changed in change([spec]):
                out.setdefault(changed.hash, label)
    return out
