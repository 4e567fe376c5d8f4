"""Robustness: the headline metric against perturbation strength, per perturbation and method.

A perturbation's strength is its `scale`, `fraction`, `epsilon` or `n` parameter; its other
parameters (noise kind, corruption mode) make separate panels. Strength 0 is the clean runs of the
same task, method and training-set size. Perturbations without a strength (feature permutations,
shuffled names, compositions) appear in the table only, against the clean runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.artifacts import Artifact, Study
from analysis.bootstrap import curve
from analysis.loading import params_label, perturbation_label, with_config_labels
from analysis.style import StyleBook, figure_legend, figure_style, line_kwargs, panel_grid, wrap_label
from analysis.table_format import Cell, TextTable
from analysis.tables import METRIC_TITLES, order_configs, summarize, value_text
from benchmark.core.metrics import HEADLINE_METRIC, headline


def _size_key(value: object) -> str:
    return "all" if value is None or pd.isna(value) else str(int(value))


def robustness_runs(runs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Perturbed runs of `kind` and the clean runs they are compared with, labelled.

    Adds `config`, `panel` (perturbation without its strength) and `condition` (the full
    perturbation, `clean` for clean runs). A clean run appears once per panel of its task and size.
    """
    if runs.empty:
        return runs.assign(config=[], panel=[], condition=[])
    subset = runs[runs["kind"] == kind].assign(size_key=lambda f: f["train_size"].map(_size_key))
    perturbed = subset[subset["perturbation"].notna()]
    if perturbed.empty:
        return perturbed.assign(config=[], panel=[], condition=[])
    perturbed = perturbed.assign(
        panel=[
            perturbation_label(n, p)
            for n, p in zip(perturbed["perturbation"], perturbed["perturbation_params"], strict=True)
        ],
        condition=[
            params_label(n, p)
            for n, p in zip(perturbed["perturbation"], perturbed["perturbation_params"], strict=True)
        ],
    )
    clean = subset[subset["perturbation"].isna()]
    parts = [perturbed]
    for (task, panel), group in perturbed.groupby(["task_label", "panel"], sort=False):
        match = clean[(clean["task_label"] == task) & clean["size_key"].isin(set(group["size_key"]))]
        parts.append(match.assign(panel=panel, condition="clean"))
    return with_config_labels(pd.concat(parts, ignore_index=True))


def robustness_curves(labelled: pd.DataFrame, kind: str) -> pd.DataFrame:
    """task_label, panel, config, strength, mean, low, high, n: the curves of perturbations with a strength."""
    metric, scale = headline(kind).name, headline(kind).scale
    column = f"metric.{metric}"
    if labelled.empty or column not in labelled.columns:
        return pd.DataFrame(columns=["task_label", "panel", "config", "strength", "mean", "low", "high", "n"])
    with_strength = labelled[labelled["strength"].notna()]
    with_strength = with_strength.assign(
        **{column: pd.to_numeric(with_strength[column], errors="coerce") * scale}
    )
    data = curve(with_strength, metric, "strength", ["task_label", "panel", "config"])
    # keep only the lines with at least one perturbed point (a strength other than 0)
    keys = ["task_label", "panel", "config"]
    return data.merge(data[data["strength"] != 0][keys].drop_duplicates(), on=keys)


def plot_robustness(data: pd.DataFrame, kind: str, styles: StyleBook) -> Figure:
    metric = HEADLINE_METRIC[kind]
    panels = list(dict.fromkeys(zip(data["task_label"], data["panel"], strict=True)))
    looks = styles(order_configs(data["config"].tolist()))
    with figure_style():
        figure, axes = panel_grid(len(panels))
        for axis, (task, panel) in zip(axes, panels, strict=True):
            part = data[(data["task_label"] == task) & (data["panel"] == panel)]
            for config in order_configs(part["config"].tolist()):
                line = part[part["config"] == config].sort_values("strength")
                style = looks[config]
                axis.plot(line["strength"], line["mean"], label=config, **line_kwargs(style))
                axis.fill_between(
                    line["strength"], line["low"], line["high"], color=style["color"], alpha=0.2, linewidth=0
                )
            axis.set_title(f"{wrap_label(task)}\n{wrap_label(panel)}")
            axis.set_xlabel("strength (0 = clean)")
            axis.set_ylabel(METRIC_TITLES[metric])
        figure_legend(figure, axes)
    return figure


def robustness_table(labelled: pd.DataFrame, kind: str) -> tuple[TextTable, pd.DataFrame]:
    """Every perturbation condition per task and method: mean ± std and the change from clean."""
    metric, scale, digits = headline(kind).name, headline(kind).scale, headline(kind).digits
    summary = summarize(labelled, metric, rows=("task_label", "panel", "condition"), scale=scale)
    clean = summary[summary["condition"] == "clean"].set_index(["task_label", "panel", "config"])["mean"]
    summary["change"] = [
        m - clean.get((t, p, c), np.nan)
        for t, p, c, m in zip(
            summary["task_label"], summary["panel"], summary["config"], summary["mean"], strict=True
        )
    ]
    summary = summary[summary["condition"] != "clean"]
    strength = labelled.drop_duplicates("condition").set_index("condition")["strength"]
    tasks = list(dict.fromkeys(labelled["task_label"]))
    configs = order_configs(labelled["config"].tolist())
    summary = summary.assign(
        strength=summary["condition"].map(strength),
        order=[
            (tasks.index(t), p, configs.index(c))
            for t, p, c in zip(summary["task_label"], summary["panel"], summary["config"], strict=True)
        ],
    )
    summary = summary.sort_values(["order", "strength"], kind="stable").drop(columns="order")
    rows = [
        [
            Cell(r["task_label"]),
            Cell(r["condition"]),
            Cell(r["config"]),
            Cell(value_text(r["mean"], r["std"], digits)),
            Cell("–" if pd.isna(r["change"]) else f"{r['change']:+.{digits}f}"),
            Cell(str(int(r["count"]))),
        ]
        for _, r in summary.iterrows()
    ]
    table = TextTable(
        header=["task", "perturbation", "method", METRIC_TITLES[metric], "change vs clean", "runs"],
        rows=rows,
        caption=f"{kind.capitalize()}: {METRIC_TITLES[metric]} under each perturbation",
        notes=[
            "mean ± std (ddof=1) over runs; change = perturbed mean - clean mean of the same task, method and training size."
        ],
        index_columns=3,
    )
    return table, summary.drop(columns=["best"])


def build_robustness(runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None) -> Study:
    study = Study("robustness", "Robustness: metric vs perturbation strength", suite)
    for kind in HEADLINE_METRIC:
        labelled = robustness_runs(runs, kind)
        if labelled.empty:
            study.lack(f"{kind}: no perturbed runs")
            continue
        table, summary = robustness_table(labelled, kind)
        study.artifacts.append(Artifact.table(table, out_dir, f"robustness-{kind}", table.caption, summary))
        data = robustness_curves(labelled, kind)
        if data.empty:
            study.lack(f"{kind} curves: no perturbation with a strength parameter")
            continue
        figure = plot_robustness(data, kind, styles or StyleBook())
        title = (
            f"{kind}: {METRIC_TITLES[HEADLINE_METRIC[kind]]} vs perturbation strength (95 % bootstrap bands)"
        )
        study.artifacts.append(Artifact.figure(figure, out_dir, f"robustness-{kind}-curves", title, data))
    return study
