"""What a report is made of: studies, each with the figures and tables it built and what it could not build."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from matplotlib.figure import Figure

from analysis.style import caption_table, save_figure
from analysis.table_format import TextTable


@dataclass
class Artifact:
    """One figure (PDF + PNG) or table (Markdown + LaTeX) and the data it shows, in long form."""

    name: str  # the file stem, unique in the report
    title: str
    kind: Literal["figure", "table"]
    paths: list[Path]
    data: pd.DataFrame
    markdown: str = ""  # a table's Markdown without its caption (the title), shown inline in the index
    notes: list[str] = field(default_factory=list)  # a figure's caption lines: settings, legend keys

    @classmethod
    def figure(
        cls,
        figure: Figure,
        out_dir: Path,
        name: str,
        title: str,
        data: pd.DataFrame,
        notes: Sequence[str] = (),
    ) -> Artifact:
        keys = caption_table(figure)
        notes = [*notes, *(["Key: " + "; ".join(keys)] if keys else [])]
        return cls(name, title, "figure", save_figure(figure, out_dir, name), data, notes=notes)

    @classmethod
    def table(cls, table: TextTable, out_dir: Path, name: str, title: str, data: pd.DataFrame) -> Artifact:
        return cls(name, title, "table", table.write(out_dir, name), data, table.to_markdown(caption=False))


@dataclass(frozen=True)
class Missing:
    """A part of a study that has no results yet, and the shipped suite whose runs would fill it."""

    what: str
    suite: str


@dataclass
class Study:
    """One analysis of the paper: what it built, and for what it lacked results, why and which suite fills it."""

    key: str
    title: str
    suite: str  # the shipped suite whose runs this study reads
    artifacts: list[Artifact] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lack(self, what: str, suite: str | None = None) -> None:
        """Record a part that could not be built for want of results (from `suite`, this study's by default)."""
        self.missing.append(Missing(what, suite or self.suite))
