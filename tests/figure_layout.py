"""Layout faults of a rendered figure: text on text, a legend over the axes, a legend wider than the figure.

The figure is drawn with matplotlib's Agg renderer under the report's style, and the window extents
of what was drawn are compared: every visible, non-empty text (titles, axis and tick labels, text
annotations, legend entries, figure titles) and every legend. Tick labels count only where their
tick lies inside the view limits (matplotlib keeps, but does not draw, the others).
"""

from __future__ import annotations

from itertools import combinations

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from analysis.style import figure_style

TOLERANCE_PX = 1.0  # overlaps thinner than this are anti-aliasing, not collisions
MIN_AXES_PX = 20.0  # an axes squeezed below this by its legend cannot show data


def layout_problems(figure: Figure) -> list[str]:
    """Every collision in `figure` as one line; an empty list for a readable figure."""
    with figure_style():
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()
        texts = [(t, t.get_window_extent(renderer)) for t in _drawn_texts(figure)]
        legends = [(legend, legend.get_window_extent(renderer)) for legend in _legends(figure)]
    problems = []
    for (a, box_a), (b, box_b) in combinations(texts, 2):
        if _overlap(box_a, box_b):
            problems.append(f"text {_name(a)} overlaps text {_name(b)}")
    axes = [axis for axis in figure.axes if axis.get_visible() and axis.axison]
    for axis in axes:
        if axis.bbox.width < MIN_AXES_PX or axis.bbox.height < MIN_AXES_PX:
            problems.append(
                f"axes {_axes_name(axis)} squeezed to {axis.bbox.width:.0f}x{axis.bbox.height:.0f} px"
            )
    for legend, box in legends:
        if box.width > figure.bbox.width + TOLERANCE_PX:
            problems.append(f"legend is {box.width:.0f} px wide in a {figure.bbox.width:.0f} px figure")
        for axis in axes:
            if _overlap(box, axis.bbox):
                problems.append(f"legend covers axes {_axes_name(axis)}")
        own = {id(t) for t in legend.findobj(Text)}
        for text, text_box in texts:
            if id(text) not in own and _overlap(box, text_box):
                problems.append(f"legend covers text {_name(text)}")
    return problems


def _drawn_texts(figure: Figure) -> list[Text]:
    ticks: dict[int, bool] = {}  # id of every tick label -> whether it is drawn
    for axis in figure.axes:
        for scale in (axis.xaxis, axis.yaxis):
            low, high = sorted(scale.get_view_interval())
            span = (high - low) * 1e-9
            major = scale.get_major_ticks(len(scale.get_majorticklocs()))
            minor = scale.get_minor_ticks(len(scale.get_minorticklocs()))
            for tick in scale.get_major_ticks() + scale.get_minor_ticks():
                for label in (tick.label1, tick.label2):
                    ticks[id(label)] = False
            for tick in major + minor:
                inside = tick.get_loc() is not None and low - span <= tick.get_loc() <= high + span
                for label in (tick.label1, tick.label2):
                    ticks[id(label)] = inside and axis.axison and tick.get_visible()
    out = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not (text.axes.get_visible()):
            continue
        if id(text) in ticks and not ticks[id(text)]:
            continue
        if (
            text.axes is not None
            and not text.axes.axison
            and text in (text.axes.xaxis.label, text.axes.yaxis.label)
        ):
            continue
        out.append(text)
    return out


def _legends(figure: Figure) -> list[Legend]:
    found = list(figure.legends)
    found += [axis.get_legend() for axis in figure.axes if axis.get_legend() is not None]
    return [legend for legend in found if legend.get_visible()]


def _overlap(a: Bbox, b: Bbox) -> bool:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > TOLERANCE_PX and height > TOLERANCE_PX


def _name(text: Text) -> str:
    where = f" in {_axes_name(text.axes)}" if text.axes is not None else ""
    return f"{text.get_text()!r}{where}"


def _axes_name(axis: Axes) -> str:
    return repr(axis.get_title() or axis.get_label() or "untitled")
