"""One look for every figure: the Okabe-Ito colour-blind-safe palette, fixed colours per method, and saving.

Figures are built on `matplotlib.figure.Figure` directly (never pyplot), so no GUI backend, no global
figure registry and no state shared between reports; `save_figure` writes each one as PDF and PNG.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sys
import textwrap
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

# Headless (Agg) by default; a session that already imported pyplot (a notebook) keeps its backend.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}
PALETTE: tuple[str, ...] = tuple(OKABE_ITO.values())
EXTRA_CLASS_COLORS: tuple[str, ...] = ("#882255", "#44AA99", "#332288", "#999933", "#AA4499")  # Tol, muted
NEUTRAL = "#999999"  # reference lines, training rows, majority / mean baselines
TRUTH_COLOR = "#555555"  # the true function
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
FIGURE_FORMATS: tuple[str, ...] = ("pdf", "png")
PNG_DPI = 150
LEGEND_LABEL_CHARS = 36  # legend labels are wrapped to this width
LEGEND_MAX_LINES = 6  # a legend taller than this becomes keys and a caption table (`figure_legend`)
LEGEND_LINE_IN = 0.17  # the height of one line of legend text, in inches

# Methods that keep their colour in every figure; LIFT is vermillion throughout.
METHOD_COLORS: dict[str, str] = {
    "lift": OKABE_ITO["vermillion"],
    "logreg": OKABE_ITO["blue"],
    "poly": OKABE_ITO["blue"],
    "tree": OKABE_ITO["orange"],
    "gbt": OKABE_ITO["orange"],
    "svm": OKABE_ITO["bluish green"],
    "krr": OKABE_ITO["bluish green"],
    "xgboost": OKABE_ITO["reddish purple"],
    "knn": OKABE_ITO["sky blue"],
    "rf": OKABE_ITO["yellow"],
    "mlp": OKABE_ITO["black"],
    "gp": OKABE_ITO["black"],
    "majority": NEUTRAL,
    "mean": NEUTRAL,
}

RC_PARAMS: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
    "legend.frameon": False,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # TrueType in PDFs, so text stays editable and searchable
    "font.family": "DejaVu Sans",
}


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """The report's rcParams for building and saving figures, restored afterwards."""
    with matplotlib.rc_context(RC_PARAMS):
        yield


def wrap_label(text: str, width: int = 26) -> str:
    """A long label (`nn-teacher(difficulty=3,n=300)`) broken over lines at its commas and spaces."""
    return textwrap.fill(
        text.replace(", ", ",").replace(",", ", "), width, break_long_words=False, break_on_hyphens=False
    )


def base_method(label: str) -> str:
    """`lift(init=random)` -> `lift`: the method a configuration label starts with."""
    return label.split("(", 1)[0]


# The caption table each figure got from `figure_legend`, for its Markdown and LaTeX caption.
_CAPTION_TABLES: weakref.WeakKeyDictionary[Figure, list[str]] = weakref.WeakKeyDictionary()

HATCHES: tuple[str, ...] = ("", "//", "xx", "..", "\\\\", "++")


class StyleBook:
    """One look per configuration label for a whole report: the same label keeps its colour in every figure.

    A method's plain label (`logreg`) takes the method's fixed colour; another configuration
    (`lift(init=random)`) takes the first palette colour no label has taken yet. Once the eight
    Okabe-Ito colours are used, colours repeat with a second cue: a line style and marker for lines, a
    hatch for bars. No two labels of a book share colour and cue.
    """

    def __init__(self) -> None:
        self._styles: dict[str, dict[str, str]] = {}

    def __call__(self, labels: Sequence[str]) -> dict[str, dict[str, str]]:
        """The styles of `labels` (each as `color`, `linestyle`, `marker`, `hatch`), new ones assigned."""
        for label in labels:
            if label not in self._styles:
                self._styles[label] = self._next(label)
        return {label: self._styles[label] for label in labels}

    def _next(self, label: str) -> dict[str, str]:
        taken = {(s["color"], s["variant"]) for s in self._styles.values()}
        fixed = METHOD_COLORS.get(label)
        lift = METHOD_COLORS["lift"]
        for variant in range(len(self._styles) + 1):
            if fixed is not None and (fixed, variant) not in taken:
                return _style(fixed, variant)
            for color in PALETTE:  # LIFT's vermillion goes to another method's label only as a variant
                if (color, variant) not in taken and (
                    color != lift or variant or base_method(label) == "lift"
                ):
                    return _style(color, variant)
        raise AssertionError("unreachable: each variant adds eight free colours")


def _style(color: str, variant: int) -> dict[str, str]:
    return {
        "color": color,
        "variant": variant,
        "linestyle": LINESTYLES[variant % len(LINESTYLES)],
        "marker": MARKERS[variant % len(MARKERS)],
        "hatch": HATCHES[variant % len(HATCHES)],
    }


def line_kwargs(style: dict[str, str]) -> dict[str, str]:
    """The keyword arguments `Axes.plot` takes from a `StyleBook` style."""
    return {k: style[k] for k in ("color", "linestyle", "marker")}


def class_colormap(n_classes: int) -> ListedColormap:
    """One colour per class code 0..K-1: Okabe-Ito without black, then Paul Tol's muted colours
    (also colour-blind safe), cycling past twelve classes."""
    order = [c for c in PALETTE if c != OKABE_ITO["black"]] + list(EXTRA_CLASS_COLORS)
    return ListedColormap([order[k % len(order)] for k in range(max(n_classes, 1))])


def new_figure(n_rows: int = 1, n_cols: int = 1, panel_size: tuple[float, float] = (2.6, 2.2)) -> Figure:
    """An empty figure sized for a grid of panels."""
    width, height = panel_size
    return Figure(figsize=(max(width * n_cols, 3.0), max(height * n_rows, 2.0)), layout="constrained")


def panel_grid(
    n_panels: int, max_cols: int = 3, panel_size: tuple[float, float] = (2.6, 2.2)
) -> tuple[Figure, list]:
    """A figure with `n_panels` axes in rows of at most `max_cols`; unused grid cells are hidden."""
    n_cols = max(1, min(max_cols, n_panels))
    n_rows = max(1, -(-n_panels // n_cols))
    figure = new_figure(n_rows, n_cols, panel_size)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel().tolist()
    for axis in axes[n_panels:]:
        axis.set_visible(False)
    return figure, axes[:n_panels]


def figure_legend(figure: Figure, axes: Sequence) -> None:
    """One legend for the whole figure, each label once.

    Below the panels, in as many columns as fit: the legend never leaves the figure's width (a label
    longer than `LEGEND_LABEL_CHARS` is wrapped, the columns are as many as the widest label allows)
    and the figure grows by the legend's rows. A legend that would take more than `LEGEND_MAX_LINES`
    lines that way (many configurations with long names) becomes a caption table instead: the legend,
    right of the panels, names each configuration by its method and a key (`lift [1]`), and the table
    under the panels gives each key's whole configuration, one row each; `caption_table` gives its rows
    for the figure's Markdown and LaTeX caption.
    """
    seen: dict[str, object] = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if not seen:
        return
    labels = [wrap_label(label, LEGEND_LABEL_CHARS) for label in seen]
    width_in, height_in = figure.get_size_inches()
    columns = max(1, min(len(labels), int(width_in * 0.95 // _legend_column_in(labels))))
    lines = sum(
        max(label.count("\n") + 1 for label in labels[i : i + columns])
        for i in range(0, len(labels), columns)
    )
    if lines > LEGEND_MAX_LINES:
        _caption_table(figure, seen)
        return
    figure.set_size_inches(width_in, height_in + lines * LEGEND_LINE_IN + 0.15)
    figure.legend(list(seen.values()), labels, loc="outside lower center", ncols=columns)


def _legend_column_in(labels: Sequence[str]) -> float:
    """The width of one legend column, in inches: its widest line, the handle and the gap."""
    widest = max(len(line) for label in labels for line in label.splitlines())
    return (widest * 0.6 * float(RC_PARAMS["legend.fontsize"]) + 40) / 72


def _caption_table(figure: Figure, handles: dict[str, object]) -> None:
    """A keyed legend right of the panels and the table of keys under them (`figure_legend`)."""
    keys: dict[str, str] = {}
    rows = []
    for label in handles:
        if label == base_method(label):  # a plain method name is its own key
            keys[label] = label
            continue
        key = f"[{len(rows) + 1}]"
        keys[label] = f"{base_method(label)} {key}"
        rows.append(f"{key} {label}")
    width_in, height_in = figure.get_size_inches()
    short = list(keys.values())
    columns = math.ceil(len(short) * LEGEND_LINE_IN / (0.9 * height_in))  # never taller than the figure
    figure.set_size_inches(width_in + columns * _legend_column_in(short), height_in)
    figure.legend(list(handles.values()), short, loc="outside right upper", ncols=columns)
    chars = int(width_in * 72 / (0.6 * float(RC_PARAMS["legend.fontsize"])))
    table = [wrap_label(row, chars) for row in rows]  # one row per configuration, wrapped at the width
    lines = sum(row.count("\n") + 1 for row in table)
    figure.set_size_inches(figure.get_size_inches()[0], height_in + lines * LEGEND_LINE_IN + 0.15)
    figure.supxlabel(
        "\n".join(table), x=0.01, ha="left", fontsize=RC_PARAMS["legend.fontsize"], linespacing=1.3
    )
    _CAPTION_TABLES[figure] = rows


def caption_table(figure: Figure) -> list[str]:
    """The rows of the caption table `figure_legend` drew under `figure` (none when its legend names
    every configuration in full)."""
    return list(_CAPTION_TABLES.get(figure, []))


def save_figure(figure: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write `figure` as `<out_dir>/<name>.pdf` and `.png`; the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with figure_style():
        for fmt in FIGURE_FORMATS:
            path = out_dir / f"{name}.{fmt}"
            figure.savefig(path, format=fmt, dpi=PNG_DPI if fmt == "png" else None)
            paths.append(path)
    return paths


def _stable_index(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % n
