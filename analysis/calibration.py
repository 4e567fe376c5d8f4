"""Calibration: reliability diagrams, ECE and Brier for runs with class probabilities, and interval
coverage for regression runs with a predictive std.

Reliability bins are the ones `benchmark.core.metrics.expected_calibration_error` uses (`ECE_BINS`
equal-width bins of top-label confidence, each (lo, hi]), so the ECE of the pooled bins is the ECE
metric of the pooled rows. Test rows are pooled over the runs (split seeds x seeds) of a task and
method, on clean data with the whole training split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis.artifacts import Artifact, Study
from analysis.loading import clean_full_runs, predictions_of, with_config_labels
from analysis.style import (
    NEUTRAL,
    StyleBook,
    figure_legend,
    figure_style,
    line_kwargs,
    new_figure,
    panel_grid,
    wrap_label,
)
from analysis.table_format import Cell, TextTable
from analysis.tables import order_configs, summarize, value_text
from benchmark.core.metrics import ECE_BINS
from benchmark.harness.store import ResultStore

NOMINAL_LEVELS: tuple[float, ...] = (0.5, 0.68, 0.8, 0.9, 0.95, 0.99)


def reliability_bins(y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Per confidence bin (lo, hi]: rows, mean top-label confidence and accuracy of the top label.

    Empty bins are kept with count 0 (confidence and accuracy NaN), so the counts sum to the rows.
    """
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence, side="left")
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "lo": edges[:-1],
            "hi": edges[1:],
            "count": count,
            "confidence": mean_confidence,
            "accuracy": accuracy,
        }
    )


def pooled_ece(bins: pd.DataFrame) -> float:
    """Sum over bins of (rows in bin / rows) * |accuracy - confidence|."""
    filled = bins[bins["count"] > 0]
    return float(
        (filled["count"] * (filled["accuracy"] - filled["confidence"]).abs()).sum() / filled["count"].sum()
    )


def reliability_data(store: ResultStore, runs: pd.DataFrame) -> pd.DataFrame:
    """Reliability bins of the pooled test rows per task and configuration, for runs that stored `proba`."""
    columns = ["task_label", "config", "bin", "lo", "hi", "count", "confidence", "accuracy", "ece"]
    subset = clean_full_runs(runs)
    if subset.empty:
        return pd.DataFrame(columns=columns)
    subset = subset[subset["kind"] == "classification"]
    if "metric.ece" not in subset.columns:
        return pd.DataFrame(columns=columns)
    subset = with_config_labels(subset[subset["metric.ece"].notna()])
    frames = []
    for (task, config), group in subset.groupby(["task_label", "config"], sort=False):
        rows = predictions_of(store, group["run_hash"], split="test")
        rows = rows[rows["proba"].notna()]
        if rows.empty:
            continue
        bins = reliability_bins(rows["y_true"].to_numpy(), np.array(rows["proba"].tolist(), dtype=float))
        frames.append(bins.assign(task_label=task, config=config, ece=pooled_ece(bins)))
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def plot_reliability(data: pd.DataFrame, styles: StyleBook) -> Figure:
    """Small multiples: a row per task, a column per configuration; in each cell the accuracy per
    confidence bin over the diagonal of perfect calibration, the ECE in the title, and under it a
    histogram of the rows in each bin (shared within a task's row), so sparse bins are visible as such."""
    tasks = list(dict.fromkeys(data["task_label"]))
    configs = order_configs(data["config"].tolist())
    looks = styles(configs)
    width = 1.0 / ECE_BINS
    with figure_style():
        figure = new_figure(len(tasks), len(configs), panel_size=(1.45, 2.5))
        rows = figure.subfigures(len(tasks), 1, squeeze=False)[:, 0]
        for r, (task, row) in enumerate(zip(tasks, rows, strict=True)):
            row.suptitle(wrap_label(task, 80), fontsize=9, fontweight="bold")
            grid = row.add_gridspec(2, len(configs), height_ratios=[3, 1.3])
            counts_axes = []
            for c, config in enumerate(configs):
                part = data[(data["task_label"] == task) & (data["config"] == config)]
                axis = row.add_subplot(grid[0, c])
                counts = row.add_subplot(grid[1, c], sharex=axis)
                if part.empty:  # this configuration did not run on this task
                    axis.set_visible(False)
                    counts.set_visible(False)
                    continue
                axis.plot([0, 1], [0, 1], color=NEUTRAL, linestyle=":", linewidth=1)
                axis.set_xlim(0, 1)
                axis.set_ylim(0, 1)
                axis.tick_params(labelbottom=False)
                look = looks[config]
                filled = part[part["count"] > 0]
                axis.plot(filled["confidence"], filled["accuracy"], **line_kwargs(look))
                axis.set_title(f"{wrap_label(config, 18)}\nECE {part['ece'].iloc[0]:.3f}", fontsize=7)
                counts_axes.append(counts)
                counts.bar(part["lo"] + width / 2, part["count"], width=width * 0.9, color=look["color"])
                if len(counts_axes) == 1:  # the row's first panel
                    axis.set_ylabel("accuracy", fontsize=7)
                    counts.set_ylabel("rows", fontsize=7)
                else:
                    axis.tick_params(labelleft=False)
                    counts.tick_params(labelleft=False)
                if r == len(tasks) - 1:
                    counts.set_xlabel("confidence", fontsize=7)
                else:
                    counts.tick_params(labelbottom=False)
                counts.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
                counts.grid(False)
            top = max(1, int(data.loc[data["task_label"] == task, "count"].max()))
            for counts in counts_axes:
                counts.set_ylim(0, top * 1.05)
                counts.set_yticks([0, top])
    return figure


def calibration_table(runs: pd.DataFrame) -> tuple[TextTable, pd.DataFrame] | None:
    """ECE, Brier and log-loss (stored metrics) per task and configuration, mean ± std over runs."""
    subset = clean_full_runs(runs)
    if subset.empty or "metric.ece" not in subset.columns:
        return None
    subset = subset[(subset["kind"] == "classification") & subset["metric.ece"].notna()]
    if subset.empty:
        return None
    subset = with_config_labels(subset)
    metrics = [m for m in ("ece", "brier", "log_loss", "accuracy") if f"metric.{m}" in subset.columns]
    summaries = {m: summarize(subset, m) for m in metrics}
    data = pd.concat([summary.assign(metric=m) for m, summary in summaries.items()], ignore_index=True)
    cells = data.set_index(["task_label", "config", "metric"])
    rows = []
    for task in dict.fromkeys(subset["task_label"]):
        for config in order_configs(subset.loc[subset["task_label"] == task, "config"].tolist()):
            row = [Cell(task), Cell(config)]
            for metric in metrics:
                if (task, config, metric) not in cells.index:
                    row.append(Cell("–"))
                    continue
                cell = cells.loc[(task, config, metric)]
                row.append(Cell(value_text(cell["mean"], cell["std"], 3), bold=bool(cell["best"])))
            rows.append(row)
    table = TextTable(
        header=["task", "method", *metrics],
        rows=rows,
        caption="Classification calibration: top-label ECE, multi-class Brier score and log-loss on the test rows",
        notes=[
            f"mean ± std (ddof=1) over runs; ECE over {ECE_BINS} equal-width confidence bins; best per task in bold."
        ],
        index_columns=2,
    )
    return table, data.drop(columns="best")


def coverage_data(
    store: ResultStore, runs: pd.DataFrame, levels: tuple[float, ...] = NOMINAL_LEVELS
) -> pd.DataFrame:
    """Observed coverage of central normal intervals yhat ± z * std at each nominal level, pooled per task and configuration."""
    columns = ["task_label", "config", "nominal", "observed", "rows"]
    subset = clean_full_runs(runs)
    if subset.empty or "metric.coverage_90" not in subset.columns:
        return pd.DataFrame(columns=columns)
    subset = subset[(subset["kind"] == "regression") & subset["metric.coverage_90"].notna()]
    if subset.empty:
        return pd.DataFrame(columns=columns)
    subset = with_config_labels(subset)
    records = []
    for (task, config), group in subset.groupby(["task_label", "config"], sort=False):
        rows = predictions_of(store, group["run_hash"], split="test")
        rows = rows[rows["std"].notna()]
        if rows.empty:
            continue
        error = (rows["y_true"] - rows["y_pred"]).abs().to_numpy()
        std = rows["std"].to_numpy()
        for level in levels:
            half_width = stats.norm.ppf(0.5 + level / 2) * std
            records.append(
                {
                    "task_label": task,
                    "config": config,
                    "nominal": level,
                    "observed": float(np.mean(error <= half_width)),
                    "rows": len(rows),
                }
            )
    return pd.DataFrame(records, columns=columns)


def plot_coverage(data: pd.DataFrame, styles: StyleBook) -> Figure:
    tasks = list(dict.fromkeys(data["task_label"]))
    looks = styles(order_configs(data["config"].tolist()))
    with figure_style():
        figure, axes = panel_grid(len(tasks))
        for axis, task in zip(axes, tasks, strict=True):
            axis.plot([0, 1], [0, 1], color=NEUTRAL, linestyle=":", linewidth=1)
            part = data[data["task_label"] == task]
            for config in order_configs(part["config"].tolist()):
                line = part[part["config"] == config].sort_values("nominal")
                axis.plot(line["nominal"], line["observed"], label=config, **line_kwargs(looks[config]))
            axis.set_xlim(0.4, 1)
            axis.set_ylim(0, 1)
            axis.set_title(wrap_label(task))
            axis.set_xlabel("nominal coverage")
            axis.set_ylabel("observed coverage")
        figure_legend(figure, axes)
    return figure


def build_calibration(
    store: ResultStore, runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None
) -> Study:
    study = Study(
        "calibration", "Calibration: reliability, ECE and Brier; regression interval coverage", suite
    )
    styles = styles or StyleBook()
    bins = reliability_data(store, runs)
    if bins.empty:
        study.lack("classification: no clean runs with class probabilities")
    else:
        study.artifacts.append(
            Artifact.figure(
                plot_reliability(bins, styles),
                out_dir,
                "reliability-classification",
                "Reliability diagrams (test rows pooled over runs; bars: rows per confidence bin)",
                bins,
            )
        )
        table = calibration_table(runs)
        if table is not None:
            study.artifacts.append(
                Artifact.table(table[0], out_dir, "calibration-classification", table[0].caption, table[1])
            )
    coverage = coverage_data(store, runs)
    if coverage.empty:
        study.lack("regression: no clean runs with a predictive std")
    else:
        study.artifacts.append(
            Artifact.figure(
                plot_coverage(coverage, styles),
                out_dir,
                "coverage-regression",
                "Regression: observed vs nominal coverage of normal predictive intervals",
                coverage,
            )
        )
    return study
