"""Inductive bias: what each method predicts away from its training rows.

* Decision boundaries (classification, the paper's `clf_decision_boundary_*.pdf`): each method's
  predicted class over the `eval:grid` points of a 2-feature task, one panel per method (plus the
  true labels where the task knows them, as nn-teacher does), the training rows on top, one row of
  panels per task (and per perturbation, for perturbed runs).
* 2-D regression surfaces: the same panels with a continuous colour scale.
* 1-D regression fits (the paper's extrapolation figures): each method's curve over the `eval:line`
  points against the true function, the training range shaded, and for donut tasks the held-out
  centre marked.

The grid and line coordinates are not stored: they are rebuilt from the task and split with
`tasks.evaluation_sets.evaluation_rows`, which is deterministic. Within a row every method is shown
on one split seed (the smallest one all of them ran), so the training rows drawn are the ones every
panel was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.artifacts import Artifact, Study
from analysis.loading import params_label, training_rows, with_config_labels
from analysis.style import (
    NEUTRAL,
    TRUTH_COLOR,
    StyleBook,
    class_colormap,
    figure_legend,
    figure_style,
    line_kwargs,
    new_figure,
    panel_grid,
    wrap_label,
)
from analysis.tables import order_configs
from benchmark.harness.store import ResultStore
from tasks.evaluation_sets import SPLIT_PREFIX, evaluation_rows

TRUTH = "truth"
SEQUENTIAL_COLORMAP = "viridis"  # perceptually uniform and colour-blind safe, for regression surfaces


@dataclass
class GridPanel:
    """One method's (or the truth's) values on its grid; runs of one row may use different resolutions."""

    config: str  # the method configuration, or TRUTH
    run_hash: str | None
    axis0: np.ndarray  # the grid's coordinates along the first feature
    axis1: np.ndarray
    values: np.ndarray  # shape (len(axis0), len(axis1)); class codes (-1 invalid) or regression values
    truth: np.ndarray | None = None  # the true labels or values on the same grid, where the task knows them


@dataclass
class GridRow:
    """One task (and perturbation) on its evaluation grid: a panel per method, and the training rows."""

    label: str
    kind: str
    columns: list[str]
    panels: list[GridPanel]
    X_train: np.ndarray  # (n, 2)
    y_train: np.ndarray
    n_classes: int | None
    split_seed: int


@dataclass
class LineRow:
    """One 1-D regression task on its evaluation line: a curve per method, the truth and the training rows."""

    label: str
    x: np.ndarray
    truth: np.ndarray  # NaN where unknown
    curves: dict[str, np.ndarray]
    X_train: np.ndarray
    y_train: np.ndarray
    task_range: tuple[float, float]
    hole: tuple[float, float] | None  # the donut's held-out centre
    split_seed: int


def _evaluation_runs(runs: pd.DataFrame, name: str, kind: str) -> pd.DataFrame:
    """Runs that stored predictions on evaluation set `name`, labelled with `config` and `row`."""
    if runs.empty:
        return runs.assign(config=[], row=[])
    has = runs["evaluations"].map(lambda evaluations: name in evaluations)
    subset = runs[has & (runs["kind"] == kind)]
    if subset.empty:
        return subset.assign(config=[], row=[])
    rows = [
        f"{task} · {params_label(p, pp)}" if isinstance(p, str) else task
        for task, p, pp in zip(
            subset["task_label"], subset["perturbation"], subset["perturbation_params"], strict=True
        )
    ]
    return with_config_labels(subset.assign(row=rows))


def _shown_runs(group: pd.DataFrame) -> tuple[int, dict[str, pd.Series]]:
    """The split seed a row shows (the smallest all its methods ran, else the smallest) and its run per method."""
    seeds = [set(part["split_seed"]) for _, part in group.groupby("config")]
    common = set.intersection(*seeds)
    split_seed = int(min(common) if common else group["split_seed"].min())
    chosen: dict[str, pd.Series] = {}
    for config, part in group.groupby("config", sort=False):
        on_seed = part[part["split_seed"] == split_seed]
        chosen[config] = (
            (on_seed if not on_seed.empty else part).sort_values(["split_seed", "seed", "run_hash"]).iloc[0]
        )
    return split_seed, chosen


def _rebuild(store: ResultStore, run: pd.Series, name: str) -> tuple[Any, Any, pd.DataFrame]:
    """(training rows, evaluation rows, stored predictions ordered by row) of one run's evaluation set."""
    rows = training_rows(run)
    evaluation = evaluation_rows(name, rows.data, rows.split, **run["evaluations"][name])
    predictions = store.predictions(run["run_hash"], split=SPLIT_PREFIX + name).sort_values("row_index")
    if len(predictions) != len(evaluation.X) or not np.array_equal(
        predictions["row_index"], np.arange(len(evaluation.X))
    ):
        raise ValueError(
            f"run {run['run_hash']}: {len(predictions)} stored {name} predictions do not match the"
            f" {len(evaluation.X)} rebuilt {name} rows"
        )
    return rows, evaluation, predictions


def grid_rows(store: ResultStore, runs: pd.DataFrame, kind: str) -> list[GridRow]:
    """A `GridRow` per task (and perturbation) with `eval:grid` predictions of `kind`."""
    selected = _evaluation_runs(runs, "grid", kind)
    out = []
    for label, group in selected.groupby("row", sort=False):
        split_seed, chosen = _shown_runs(group)
        panels: list[GridPanel] = []
        reference = None
        for config in order_configs(list(chosen)):
            run = chosen[config]
            rows, evaluation, predictions = _rebuild(store, run, "grid")
            shape = tuple(evaluation.meta["shape"])
            coords = evaluation.X.to_numpy(dtype=float)
            axis0, axis1 = coords[:, 0].reshape(shape)[:, 0], coords[:, 1].reshape(shape)[0, :]
            truth = np.asarray(evaluation.y_true, dtype=float).reshape(shape)
            truth = truth if np.isfinite(truth).all() else None
            if reference is None:
                reference = (rows, evaluation)
                if truth is not None:
                    panels.append(GridPanel(TRUTH, None, axis0, axis1, truth, truth))
            values = predictions["y_pred"].to_numpy(dtype=float).reshape(shape)
            panels.append(GridPanel(config, run["run_hash"], axis0, axis1, values, truth))
        rows, evaluation = reference
        out.append(
            GridRow(
                label=label,
                kind=kind,
                columns=[str(c) for c in evaluation.X.columns],
                panels=panels,
                X_train=rows.X_train.to_numpy(dtype=float),
                y_train=np.asarray(rows.y_train),
                n_classes=None if rows.data.classes is None else len(rows.data.classes),
                split_seed=split_seed,
            )
        )
    return out


def plot_grid_rows(rows: list[GridRow]) -> Figure:
    """Rows = tasks, columns = panels (truth first where known): predicted class or value over the grid."""
    n_cols = max(len(row.panels) for row in rows)
    with figure_style():
        figure = new_figure(len(rows), n_cols, panel_size=(1.9, 1.9))
        axes = figure.subplots(len(rows), n_cols, squeeze=False)
        for r, row in enumerate(rows):
            if row.kind == "classification":
                cmap, vmin, vmax = class_colormap(row.n_classes or 1), -0.5, (row.n_classes or 1) - 0.5
            else:
                values = np.concatenate([p.values.ravel() for p in row.panels] + [row.y_train])
                cmap, vmin, vmax = SEQUENTIAL_COLORMAP, float(np.nanmin(values)), float(np.nanmax(values))
            for c in range(n_cols):
                axis = axes[r][c]
                if c >= len(row.panels):
                    axis.set_visible(False)
                    continue
                panel = row.panels[c]
                shown = np.ma.masked_less(panel.values, 0) if row.kind == "classification" else panel.values
                axis.pcolormesh(
                    panel.axis0,
                    panel.axis1,
                    shown.T,
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                    shading="nearest",
                    alpha=0.45 if row.kind == "classification" else 1.0,
                    rasterized=True,
                )
                axis.scatter(
                    row.X_train[:, 0],
                    row.X_train[:, 1],
                    c=row.y_train,
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                    s=5,
                    edgecolors="black",
                    linewidths=0.3,
                )
                axis.set_title(wrap_label(panel.config), fontsize=7)
                axis.set_xticks([])
                axis.set_yticks([])
                axis.grid(False)
                if c == 0:
                    axis.set_ylabel(f"{wrap_label(row.label)}\n(split {row.split_seed})", fontsize=7)
    return figure


def grid_data(rows: list[GridRow]) -> pd.DataFrame:
    """One line per panel: what it shows, its grid shape and, where the truth is known, agreement with it."""
    records = []
    for row in rows:
        for panel in row.panels:
            agreement = np.nan
            if panel.truth is not None and row.kind == "classification":
                agreement = float(np.mean(panel.values == panel.truth))
            records.append(
                {
                    "row": row.label,
                    "config": panel.config,
                    "run_hash": panel.run_hash,
                    "split_seed": row.split_seed,
                    "grid_shape": "x".join(map(str, panel.values.shape)),
                    "points": int(panel.values.size),
                    "agreement_with_truth": agreement,
                }
            )
    return pd.DataFrame(records)


def line_rows(store: ResultStore, runs: pd.DataFrame) -> list[LineRow]:
    """A `LineRow` per 1-D regression task (and perturbation) with `eval:line` predictions."""
    selected = _evaluation_runs(runs, "line", "regression")
    out = []
    for label, group in selected.groupby("row", sort=False):
        split_seed, chosen = _shown_runs(group)
        curves: dict[str, np.ndarray] = {}
        reference = None
        for config in order_configs(list(chosen)):
            rows, evaluation, predictions = _rebuild(store, chosen[config], "line")
            reference = reference or (rows, evaluation, chosen[config])
            curves[config] = predictions["y_pred"].to_numpy(dtype=float)
        rows, evaluation, run = reference
        low, high = (float(v) for v in evaluation.meta["task_range"])
        hole = None
        if run["data_params"].get("donut"):
            hole = (low + (high - low) / 3.0, high - (high - low) / 3.0)
        out.append(
            LineRow(
                label=label,
                x=evaluation.X.iloc[:, 0].to_numpy(dtype=float),
                truth=np.asarray(evaluation.y_true, dtype=float),
                curves=curves,
                X_train=rows.X_train.iloc[:, 0].to_numpy(dtype=float),
                y_train=np.asarray(rows.y_train, dtype=float),
                task_range=(low, high),
                hole=hole,
                split_seed=split_seed,
            )
        )
    return out


def plot_line_rows(rows: list[LineRow], styles: StyleBook) -> Figure:
    """One panel per task: truth, each method's curve, training rows; training range shaded, donut hole hatched."""
    looks = styles(order_configs([c for row in rows for c in row.curves]))
    with figure_style():
        figure, axes = panel_grid(len(rows), max_cols=2, panel_size=(3.4, 2.6))
        for axis, row in zip(axes, rows, strict=True):
            axis.axvspan(*row.task_range, color=NEUTRAL, alpha=0.15, linewidth=0, label="training range")
            if row.hole is not None:
                axis.axvspan(
                    *row.hole,
                    facecolor="white",
                    edgecolor=NEUTRAL,
                    hatch="//",
                    linewidth=0,
                    label="held out (donut)",
                )
            if np.isfinite(row.truth).all():
                axis.plot(row.x, row.truth, color=TRUTH_COLOR, linestyle=":", linewidth=2.0, label=TRUTH)
            axis.scatter(row.X_train, row.y_train, s=4, color=NEUTRAL, label="training rows", zorder=3)
            for config, values in row.curves.items():
                style = {k: v for k, v in line_kwargs(looks[config]).items() if k != "marker"}
                axis.plot(row.x, values, label=config, **style)
            axis.set_title(f"{wrap_label(row.label, 40)} (split {row.split_seed})")
            axis.set_xlabel("x")
            axis.set_ylabel("y")
        figure_legend(figure, axes)
    return figure


def line_data(rows: list[LineRow]) -> pd.DataFrame:
    """One line per curve: RMSE against the truth inside the training range and outside it (extrapolation)."""
    records = []
    for row in rows:
        inside = (row.x >= row.task_range[0]) & (row.x <= row.task_range[1])
        for config, values in row.curves.items():
            error = values - row.truth
            records.append(
                {
                    "row": row.label,
                    "config": config,
                    "split_seed": row.split_seed,
                    "points": int(values.size),
                    "rmse_inside": float(np.sqrt(np.mean(error[inside] ** 2))) if inside.any() else np.nan,
                    "rmse_outside": float(np.sqrt(np.mean(error[~inside] ** 2)))
                    if (~inside).any()
                    else np.nan,
                }
            )
    return pd.DataFrame(records)


def build_boundaries(
    store: ResultStore, runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None
) -> Study:
    study = Study("boundaries", "Inductive bias: decision boundaries and 1-D regression fits", suite)
    classification = grid_rows(store, runs, "classification")
    if classification:
        study.artifacts.append(
            Artifact.figure(
                plot_grid_rows(classification),
                out_dir,
                "decision-boundaries",
                "Decision boundaries on the evaluation grid (rows: tasks; training rows on top)",
                grid_data(classification),
            )
        )
    else:
        study.lack("decision boundaries: no classification runs with eval:grid predictions")
    surfaces = grid_rows(store, runs, "regression")
    if surfaces:
        study.artifacts.append(
            Artifact.figure(
                plot_grid_rows(surfaces),
                out_dir,
                "regression-surfaces",
                "2-D regression: predicted surfaces on the evaluation grid",
                grid_data(surfaces),
            )
        )
    lines = line_rows(store, runs)
    if lines:
        study.artifacts.append(
            Artifact.figure(
                plot_line_rows(lines, styles or StyleBook()),
                out_dir,
                "regression-fits-1d",
                "1-D regression: fits and extrapolation on the evaluation line",
                line_data(lines),
            )
        )
    else:
        study.lack("1-D regression fits: no regression runs with eval:line predictions")
    return study
