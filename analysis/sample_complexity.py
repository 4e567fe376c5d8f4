"""Sample complexity: the headline metric against the number of training rows, per method, with bootstrap bands.

x is the number of rows a run was trained on (`train_size`, or the whole training split for
`train_size: all`); each point is the mean over the runs at that size (split seeds x seeds) and the
band its 95 % percentile-bootstrap interval, drawn with a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from analysis.artifacts import Artifact, Study
from analysis.bootstrap import curve
from analysis.loading import with_config_labels
from analysis.style import StyleBook, figure_legend, figure_style, line_kwargs, panel_grid, wrap_label
from analysis.tables import METRIC_TITLES, order_configs
from benchmark.core.metrics import HEADLINE_METRIC, headline


def sample_complexity_data(runs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """task_label, config, n_train, mean, low, high, n for the clean runs of `kind`: every method run at
    two or more training-set sizes of a task."""
    metric, scale = headline(kind).name, headline(kind).scale
    empty = pd.DataFrame(columns=["task_label", "config", "n_train", "mean", "low", "high", "n"])
    if runs.empty:
        return empty
    subset = runs[(runs["kind"] == kind) & runs["perturbation"].isna() & runs["n_train"].notna()]
    sizes = subset.groupby("task_label")["n_train"].nunique()
    subset = subset[subset["task_label"].isin(sizes[sizes >= 2].index)]
    if subset.empty:
        return empty
    subset = with_config_labels(subset).assign(n_train=lambda f: f["n_train"].astype(int))
    column = f"metric.{metric}"
    if column not in subset.columns:
        return empty
    subset = subset.assign(**{column: pd.to_numeric(subset[column], errors="coerce") * scale})
    data = curve(subset, metric, "n_train", ["task_label", "config"])
    points = data.groupby(["task_label", "config"])["n_train"].transform("size")
    return data[points >= 2].reset_index(drop=True)  # a method run at one size only has no curve


def plot_sample_complexity(data: pd.DataFrame, kind: str, styles: StyleBook) -> Figure:
    """One panel per task: a line and band per configuration over log-scaled training-set size."""
    metric = HEADLINE_METRIC[kind]
    tasks = list(dict.fromkeys(data["task_label"]))
    looks = styles(order_configs(data["config"].tolist()))
    with figure_style():
        figure, axes = panel_grid(len(tasks))
        for axis, task in zip(axes, tasks, strict=True):
            part = data[data["task_label"] == task]
            for config in order_configs(part["config"].tolist()):
                line = part[part["config"] == config].sort_values("n_train")
                style = looks[config]
                axis.plot(line["n_train"], line["mean"], label=config, **line_kwargs(style))
                axis.fill_between(
                    line["n_train"], line["low"], line["high"], color=style["color"], alpha=0.2, linewidth=0
                )
            axis.set_xscale("log")
            sizes = sorted(set(part["n_train"]))
            axis.set_xticks(sizes, [str(size) for size in sizes])
            axis.xaxis.set_minor_locator(NullLocator())
            axis.set_title(wrap_label(task))
            axis.set_xlabel("training rows")
            axis.set_ylabel(METRIC_TITLES[metric])
        figure_legend(figure, axes)
    return figure


def build_sample_complexity(
    runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None
) -> Study:
    study = Study("sample-complexity", "Sample complexity: metric vs training-set size", suite)
    for kind in HEADLINE_METRIC:
        data = sample_complexity_data(runs, kind)
        if data.empty:
            study.lack(f"{kind}: no task has clean runs at two or more training-set sizes")
            continue
        figure = plot_sample_complexity(data, kind, styles or StyleBook())
        title = f"{kind}: {METRIC_TITLES[HEADLINE_METRIC[kind]]} vs training rows (95 % bootstrap bands)"
        study.artifacts.append(Artifact.figure(figure, out_dir, f"sample-complexity-{kind}", title, data))
    return study
