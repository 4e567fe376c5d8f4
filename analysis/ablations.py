"""LIFT ablations: how its score changes with the prompt (context-aware prompting) and with its
settings (pretrained vs randomly initialised model, two-stage fine-tuning arms, other models).

Both are read generically. The prompt study compares, per task, the serializers (with their options)
a method that writes prompts was run with, plus the prompt perturbations `PROMPT_PERTURBATIONS`
(shuffled feature names: the paper's "shuffled names"). The settings study compares the LIFT runs of a
task whose method parameters or model differ, whatever the parameter is called (`init`, `two_stage`,
`arm`, ...), at the whole training split and, when there are several, along training-set sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.artifacts import Artifact, Study
from analysis.loading import method_defaults, params_label, with_config_labels
from analysis.sample_complexity import plot_sample_complexity, sample_complexity_data
from analysis.style import figure_legend, figure_style, line_styles, new_figure, wrap_label
from analysis.tables import METRIC_TITLES, order_configs, task_table
from benchmark.core.metrics import HEADLINE_METRIC, headline

LIFT_METHOD = "lift"
PROMPT_PERTURBATIONS: tuple[str, ...] = ("shuffle-feature-names", "permute-feature-order")


def prompt_variants(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs of prompt-writing methods on tasks with two or more prompts, with a `variant` column.

    A variant is the method's configuration apart from its serializer (`lift`, `lift(epochs=3)`),
    then the serializer with its options (the method's default serializer where the run names none),
    then any prompt perturbation: `lift · lift-names + shuffle-feature-names`. A prompt-writing method
    is one with a `serializer` parameter. Only runs on the whole training split count.
    """
    if runs.empty:
        return runs.assign(variant=[])
    defaults = method_defaults()
    default_serializer = runs["method"].map(lambda m: defaults.get(m, {}).get("serializer"))
    serializer = runs["serializer"].where(runs["serializer"].notna(), default_serializer)
    keep = serializer.notna() & runs["train_size"].isna()
    keep &= runs["perturbation"].isna() | runs["perturbation"].isin(PROMPT_PERTURBATIONS)
    subset = runs[keep].assign(serializer=serializer[keep])
    if subset.empty:
        return subset.assign(variant=[])
    prompt = pd.Series(
        [
            params_label(s, o) + (f" + {params_label(p, pp)}" if isinstance(p, str) else "")
            for s, o, p, pp in zip(
                subset["serializer"],
                subset["serializer_options"],
                subset["perturbation"],
                subset["perturbation_params"],
                strict=True,
            )
        ],
        index=subset.index,
    )
    counts = prompt.groupby(subset["task_label"]).nunique()
    keep = subset["task_label"].isin(counts[counts >= 2].index)
    subset, prompt = subset[keep], prompt[keep]
    if subset.empty:
        return subset.assign(variant=[])
    method_part = with_config_labels(subset.assign(serializer=None, serializer_options=[{}] * len(subset)))
    return subset.assign(variant=[f"{m} · {p}" for m, p in zip(method_part["config"], prompt, strict=True)])


def setting_variants(runs: pd.DataFrame) -> pd.DataFrame:
    """Clean LIFT runs on tasks where LIFT ran with two or more settings, with `config` naming them.

    Serializers are left out of the labels (the prompt study compares those), so `config` shows the
    method parameters and model that vary: `lift(init=random)`, `lift(two_stage=ift)`.
    """
    if runs.empty:
        return runs.assign(config=[])
    subset = runs[(runs["method"] == LIFT_METHOD) & runs["perturbation"].isna()]
    if subset.empty:
        return subset.assign(config=[])
    labelled = with_config_labels(subset.assign(serializer=None, serializer_options=[{}] * len(subset)))
    counts = labelled.groupby("task_label")["config"].nunique()
    return labelled[labelled["task_label"].isin(counts[counts >= 2].index)]


def plot_bars(summary: pd.DataFrame, column: str, metric: str, title: str) -> Figure:
    """Grouped bars: tasks on x, one bar per `column` value with its std as an error bar."""
    tasks = list(dict.fromkeys(summary["task_label"]))
    names = order_configs(summary[column].tolist())
    styles = line_styles(names)
    width = 0.8 / max(len(names), 1)
    with figure_style():
        plot_width = max(2.5, 0.35 * len(tasks) * max(len(names), 3))
        figure = new_figure(panel_size=(plot_width + 2.5, 2.6))  # room for the legend on the right
        axis = figure.subplots()
        for i, name in enumerate(names):
            part = summary[summary[column] == name].set_index("task_label").reindex(tasks)
            positions = np.arange(len(tasks)) + (i - (len(names) - 1) / 2) * width
            axis.bar(
                positions,
                part["mean"],
                width,
                yerr=part["std"].fillna(0.0),
                label=name,
                color=styles[name]["color"],
                edgecolor="black",
                linewidth=0.5,
                capsize=2,
            )
        axis.set_xticks(np.arange(len(tasks)), [wrap_label(task, 18) for task in tasks])
        axis.set_ylabel(METRIC_TITLES[metric])
        axis.set_title(title)
        figure_legend(figure, [axis])
    return figure


def _table_and_bars(
    study: Study, frame: pd.DataFrame, out_dir: Path, column: str, name: str, title: str, paper_study: str
) -> None:
    """A task x variant table and a bar chart per task kind."""
    for kind in HEADLINE_METRIC:
        metric, scale, digits = headline(kind).name, headline(kind).scale, headline(kind).digits
        part = frame[frame["kind"] == kind]
        result = (
            None
            if part.empty
            else task_table(part, metric, kind, scale, digits, column, paper_study, f"{title} ({kind})")
        )
        if result is None:
            continue
        data = result.summary.assign(metric=metric)
        study.artifacts.append(
            Artifact.table(result.table, out_dir, f"{name}-{kind}", result.table.caption, data)
        )
        figure = plot_bars(result.summary, column, metric, f"{title} ({kind})")
        study.artifacts.append(
            Artifact.figure(figure, out_dir, f"{name}-{kind}-bars", f"{title} ({kind})", data)
        )


def build_context(runs: pd.DataFrame, out_dir: Path, suite: str) -> Study:
    study = Study("context", "Context-aware prompting: LIFT by serializer and feature names", suite)
    variants = prompt_variants(runs)
    if variants.empty:
        study.lack(
            "no task has runs of a prompt-writing method with two or more serializers or prompt perturbations"
        )
        return study
    _table_and_bars(study, variants, out_dir, "variant", "context", "Prompt variants", paper_study="context")
    return study


def build_settings(runs: pd.DataFrame, out_dir: Path, suite: str) -> Study:
    study = Study("pretraining", "Pretraining and two-stage fine-tuning: LIFT by its settings", suite)
    variants = setting_variants(runs)
    if variants.empty:
        study.lack("no task has clean LIFT runs in two or more settings (e.g. init: pretrained and random)")
        return study
    _table_and_bars(
        study,
        variants[variants["train_size"].isna()],
        out_dir,
        "config",
        "lift-settings",
        "LIFT settings",
        paper_study="none",
    )
    for kind in HEADLINE_METRIC:
        curves = sample_complexity_data(variants[variants["kind"] == kind].drop(columns="config"), kind)
        if curves.empty:
            continue
        title = f"LIFT settings vs training rows ({kind}, 95 % bootstrap bands)"
        study.artifacts.append(
            Artifact.figure(
                plot_sample_complexity(curves, kind), out_dir, f"lift-settings-{kind}-sizes", title, curves
            )
        )
    if not study.artifacts:
        study.lack(
            "LIFT settings: no run on the whole training split and no task with two or more training sizes"
        )
    return study
