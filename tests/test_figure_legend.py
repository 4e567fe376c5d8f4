"""The figure legend: below the panels while it is short, keys and a caption table when it is long."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from analysis.artifacts import Artifact
from analysis.style import LEGEND_MAX_LINES, caption_table, figure_legend, figure_style, panel_grid
from tests.figure_layout import layout_problems

LONG = [
    f"lift(epochs={k}, lr=0.001, predict=both, serializer=lift-names, two_stage=ift, pretext_rows=100)"
    for k in range(1, 13)
]


def _figure(labels: list[str], panels: int = 2):
    with figure_style():
        figure, axes = panel_grid(panels)
        for axis in axes:
            for k, label in enumerate(labels):
                axis.plot([0, 1], [k, k + 1], label=label)
            axis.set_title("a panel")
            axis.set_xlabel("x")
        figure_legend(figure, axes)
    return figure


def _extents(figure):
    """The window extents of the figure's one legend and of its axes, as drawn."""
    with figure_style():
        FigureCanvasAgg(figure).draw()
    (legend,) = figure.legends
    return legend.get_window_extent(), [axis.get_window_extent() for axis in figure.axes]


def _legend_texts(figure) -> list[str]:
    return [text.get_text() for legend in figure.legends for text in legend.get_texts()]


def test_a_short_legend_names_every_configuration_below_the_panels() -> None:
    figure = _figure(["logreg", "knn", "lift(epochs=6)"])
    assert _legend_texts(figure) == ["logreg", "knn", "lift(epochs=6)"]
    legend, axes = _extents(figure)
    assert legend.y1 <= min(axis.y0 for axis in axes)  # below the panels
    assert caption_table(figure) == []
    assert layout_problems(figure) == []


def test_a_long_legend_becomes_keys_and_a_caption_table() -> None:
    labels = ["logreg", "knn", *LONG]
    figure = _figure(labels)
    texts = _legend_texts(figure)
    assert texts == ["logreg", "knn", *[f"lift [{k}]" for k in range(1, 13)]]
    legend, axes = _extents(figure)
    assert legend.x0 >= max(axis.x1 for axis in axes)  # right of the panels
    rows = caption_table(figure)
    assert rows == [f"[{k}] {label}" for k, label in enumerate(LONG, start=1)]
    table = figure.get_supxlabel()
    assert "[12] lift(epochs=12" in table and "pretext_rows=100" in table
    assert len(table.splitlines()) >= len(LONG) > LEGEND_MAX_LINES
    assert layout_problems(figure) == []


def test_many_keys_take_more_columns_rather_than_overflow_the_figure() -> None:
    figure = _figure([f"{label}, seed={s}" for s in range(3) for label in LONG], panels=1)
    legend, _ = _extents(figure)
    assert legend.height <= figure.bbox.height
    assert layout_problems(figure) == []


def test_the_caption_table_goes_into_the_figure_notes(tmp_path: Path) -> None:
    figure = _figure(["logreg", *LONG])
    artifact = Artifact.figure(figure, tmp_path, "long", "a long legend", pd.DataFrame(), ["Settings: x"])
    assert artifact.notes[0] == "Settings: x"
    assert artifact.notes[1].startswith("Key: [1] lift(epochs=1, lr=0.001")
    assert all(path.is_file() for path in artifact.paths)
