"""Write a table of text cells as Markdown and as LaTeX (booktabs), with bold cells and a caption."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {"±": r"$\pm$", "×": r"$\times$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "–": "--"}


@dataclass(frozen=True)
class Cell:
    text: str
    bold: bool = False


@dataclass
class TextTable:
    """A header and rows of cells; the first `index_columns` columns label the row."""

    header: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    index_columns: int = 1

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table row has {len(row)} cells for {len(self.header)} columns")

    def to_markdown(self, caption: bool = True) -> str:
        """The table in GitHub Markdown, bold cells as **text**, the caption above it unless `caption` is False."""

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        align = [":--" if i < self.index_columns else "--:" for i in range(len(self.header))]
        lines = [f"**{self.caption}**", ""] if self.caption and caption else []
        lines += [line(self.header), line(align)]
        lines += [line([f"**{c.text}**" if c.bold else c.text for c in row]) for row in self.rows]
        lines += [""] + [f"{note}  " for note in self.notes] if self.notes else []
        return "\n".join(lines).rstrip() + "\n"

    def to_latex(self) -> str:
        spec = "l" * self.index_columns + "r" * (len(self.header) - self.index_columns)
        lines = [r"\begin{table}[t]", r"\centering", r"\small"]
        if self.caption:
            lines.append(r"\caption{" + latex_text(self.caption) + "}")
        lines += [r"\begin{tabular}{" + spec + "}", r"\toprule"]
        lines.append(" & ".join(latex_text(h) for h in self.header) + r" \\")
        lines.append(r"\midrule")
        for row in self.rows:
            cells = [r"\textbf{" + latex_text(c.text) + "}" if c.bold else latex_text(c.text) for c in row]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if self.notes:
            lines.append(r"\par\smallskip\footnotesize " + " ".join(latex_text(n) for n in self.notes))
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path, name: str) -> list[Path]:
        """`<name>.md` and `<name>.tex` in `out_dir`; the written paths."""
        out_dir.mkdir(parents=True, exist_ok=True)
        markdown, latex = out_dir / f"{name}.md", out_dir / f"{name}.tex"
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        latex.write_text(self.to_latex(), encoding="utf-8")
        return [markdown, latex]


def latex_text(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, ± and friends as math."""
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return out
