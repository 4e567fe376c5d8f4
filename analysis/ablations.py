"""LIFT ablations: how its score changes with the prompt (context-aware prompting) and with its
settings (pretrained vs randomly initialised model, two-stage fine-tuning arms, other models).

Both are read generically, and each shows only the runs its question is about. The prompt study
compares, per task and method configuration, the serializers (with their options) and the prompt
perturbations `PROMPT_PERTURBATIONS` (shuffled feature names: the paper's "shuffled names") it was run
with. The settings study compares, per task and prompt, the LIFT runs whose method parameters or model
differ, whatever the parameter is called (`init`, `two_stage`, ...), at the whole training split and,
when there are several, along training-set sizes. Each figure has one panel per task and one bar per
variant: the mean with its std over runs as an error bar, or a marked point where there is one run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from analysis.artifacts import Artifact, Study
from analysis.loading import method_defaults, params_label, setting_notes, with_config_labels
from analysis.sample_complexity import plot_sample_complexity, sample_complexity_data
from analysis.style import StyleBook, figure_style, panel_grid, wrap_label
from analysis.tables import METRIC_TITLES, order_configs, task_table
from benchmark.core.metrics import HEADLINE_METRIC, headline
from benchmark.core.runspec import canonical_json

LIFT_METHOD = "lift"
PROMPT_PERTURBATIONS: tuple[str, ...] = ("shuffle-feature-names", "permute-feature-order")
# What the pretraining study varies: the paper's pretrained vs random initialisation, and two-stage
# fine-tuning with its pretext tasks. Runs that differ in anything else (epochs, predict) are not its arms.
STUDY_SETTINGS: tuple[str, ...] = ("init", "two_stage", "pretext", "pretext_rows", "pretext_epochs")


def _with_prompts(runs: pd.DataFrame, whole_split_only: bool = True) -> pd.DataFrame:
    """Runs of prompt-writing methods (on the whole training split), clean or with a prompt perturbation,
    with `prompt` (serializer, options, perturbation: `lift-names(shuffle_names=0) + shuffle-feature-names`)
    and `config` (the method configuration apart from its prompt).

    A prompt-writing method is one with a `serializer` parameter; a run that names no serializer
    uses the method's default one.
    """
    if runs.empty:
        return runs.assign(prompt=[], config=[])
    defaults = method_defaults()
    default_serializer = runs["method"].map(lambda m: defaults.get(m, {}).get("serializer"))
    serializer = runs["serializer"].where(runs["serializer"].notna(), default_serializer)
    keep = serializer.notna() & (runs["train_size"].isna() | (not whole_split_only))
    keep &= runs["perturbation"].isna() | runs["perturbation"].isin(PROMPT_PERTURBATIONS)
    subset = runs[keep]
    if subset.empty:
        return subset.assign(prompt=[], config=[])
    prompt = [
        params_label(s, o) + (f" + {params_label(p, pp)}" if isinstance(p, str) else "")
        for s, o, p, pp in zip(
            serializer[keep],
            subset["serializer_options"],
            subset["perturbation"],
            subset["perturbation_params"],
            strict=True,
        )
    ]
    blank = subset.assign(serializer=None, serializer_options=[{}] * len(subset))
    return with_config_labels(blank.assign(prompt=prompt))


def _compared(frame: pd.DataFrame, fixed: str, varied: str) -> pd.DataFrame:
    """The rows of `frame` whose (task, `fixed`) group holds two or more values of `varied`."""
    if frame.empty:
        return frame
    counts = frame.groupby(["task_label", fixed])[varied].transform("nunique")
    return frame[counts >= 2]


def _joined(frame: pd.DataFrame, main: str, other: str) -> list[str]:
    """`main`, prefixed by `other` where the frame still holds several values of `other` on one task."""
    several = frame.groupby("task_label")[other].transform("nunique") > 1
    return [f"{o} · {m}" if s else m for m, o, s in zip(frame[main], frame[other], several, strict=True)]


def prompt_variants(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that differ only by their prompt, with a `variant` column naming it.

    Per task, the runs of one method configuration with two or more prompts; a variant is the prompt
    (`lift-names + shuffle-feature-names`), prefixed by the method configuration where a task has
    several (`lift(epochs=3) · lift-names`). Runs that differ by a method setting are the settings
    study's, not this one's.
    """
    compared = _compared(_with_prompts(runs), "config", "prompt")
    return compared.assign(variant=_joined(compared, "prompt", "config"))


def setting_variants(runs: pd.DataFrame) -> pd.DataFrame:
    """Clean LIFT runs that differ only by the study's settings (`STUDY_SETTINGS`), with `config` naming them.

    Per task, the LIFT runs of one prompt and one configuration of everything else (epochs, model,
    predict, ...) in two or more arms: `lift`, `lift(init=random)`, `lift(two_stage=ift)`; the prompt
    prefixes the label where a task has several. LIFT run at 12 epochs by the main suite and at 2 by
    another study differ by epochs, not by an arm of this one, so they are never its bars.
    """
    lift = runs[runs["method"] == LIFT_METHOD] if not runs.empty else runs
    labelled = _with_prompts(lift, whole_split_only=False)
    labelled = labelled[labelled["perturbation"].isna()] if not labelled.empty else labelled
    if labelled.empty:
        return labelled
    labelled = labelled.assign(
        arm=[
            canonical_json({k: v for k, v in s.items() if k in STUDY_SETTINGS}) for s in labelled["settings"]
        ],
        rest=[
            canonical_json({k: v for k, v in s.items() if k not in STUDY_SETTINGS})
            for s in labelled["settings"]
        ],
    )
    compared = _compared(labelled.assign(fixed=labelled["prompt"] + " | " + labelled["rest"]), "fixed", "arm")
    compared = with_config_labels(compared.drop(columns=["config", "settings", "config_keys", "fixed"]))
    return compared.drop(columns=["arm", "rest"]).assign(config=_joined(compared, "config", "prompt"))


def _of_suite(runs: pd.DataFrame, suite: str) -> pd.DataFrame:
    """The runs a study's own suite stored, where there are any; otherwise every run.

    The main suites run LIFT too (12 epochs on iris, say); beside the study's arms those runs would be
    one more bar that the study did not ask for.
    """
    own = runs[runs["suite"] == suite] if not runs.empty else runs
    return own if not own.empty else runs


def plot_bars(summary: pd.DataFrame, column: str, metric: str, styles: StyleBook) -> Figure:
    """One panel per task, one horizontal bar per `column` value, named on the y axis.

    A bar over several runs has its std as an error bar; a single run is a bar marked with a diamond,
    and every label says how many runs it holds.
    """
    tasks = list(dict.fromkeys(summary["task_label"]))
    names = order_configs(summary[column].tolist())
    # prompts are named like methods (`lift`): their colours are looked up under their own keys
    keys = {name: name if column == "config" else f"{column}: {name}" for name in names}
    looks = dict(zip(names, styles([keys[n] for n in names]).values(), strict=True))
    most = max(summary.groupby("task_label")[column].nunique())
    with figure_style():
        figure, axes = panel_grid(len(tasks), max_cols=2, panel_size=(4.2, 0.5 + 0.42 * most))
        for axis, task in zip(axes, tasks, strict=True):
            part = summary[summary["task_label"] == task].set_index(column)
            shown = [name for name in names if name in part.index]
            for y, name in enumerate(shown):
                cell, look = part.loc[name], looks[name]
                single = int(cell["count"]) == 1
                axis.barh(
                    y,
                    cell["mean"],
                    height=0.7,
                    xerr=None if single else cell["std"],
                    color=look["color"],
                    hatch=look["hatch"],
                    edgecolor="black",
                    linewidth=0.5,
                    capsize=2,
                )
                if single:
                    axis.plot(
                        cell["mean"], y, marker="D", color="black", markeredgecolor="white", markersize=5
                    )
            runs = [int(part.loc[name, "count"]) for name in shown]
            axis.set_yticks(
                range(len(shown)),
                [
                    f"{wrap_label(n, 28)}\n{c} run{'s' if c > 1 else ''}"
                    for n, c in zip(shown, runs, strict=True)
                ],
            )
            axis.invert_yaxis()
            axis.grid(axis="y", visible=False)
            axis.set_title(wrap_label(task, 40))
            axis.set_xlabel(METRIC_TITLES[metric])
    return figure


def _table_and_bars(
    study: Study,
    frame: pd.DataFrame,
    out_dir: Path,
    column: str,
    name: str,
    title: str,
    paper_study: str,
    styles: StyleBook,
) -> None:
    """A task x variant table and a bar chart per task kind; the settings the labels leave out in notes."""
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
        notes = setting_notes(part.assign(config=part[column]))
        result.table.notes.extend(f"Settings: {note}" for note in notes)
        data = result.summary.assign(metric=metric)
        study.artifacts.append(
            Artifact.table(result.table, out_dir, f"{name}-{kind}", result.table.caption, data)
        )
        figure = plot_bars(result.summary, column, metric, styles)
        study.artifacts.append(
            Artifact.figure(
                figure,
                out_dir,
                f"{name}-{kind}-bars",
                f"{title} ({kind}): mean ± std over runs; a diamond marks a single run",
                data,
                notes,
            )
        )


def build_context(runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None) -> Study:
    study = Study("context", "Context-aware prompting: LIFT by serializer and feature names", suite)
    variants = prompt_variants(_of_suite(runs, suite))
    if variants.empty:
        study.lack(
            "no task has runs of one method configuration with two or more serializers or prompt perturbations"
        )
        return study
    _table_and_bars(
        study, variants, out_dir, "variant", "context", "Prompt variants", "context", styles or StyleBook()
    )
    return study


def build_settings(runs: pd.DataFrame, out_dir: Path, suite: str, styles: StyleBook | None = None) -> Study:
    study = Study("pretraining", "Pretraining and two-stage fine-tuning: LIFT by its settings", suite)
    styles = styles or StyleBook()
    variants = setting_variants(_of_suite(runs, suite))
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
        "none",
        styles,
    )
    for kind in HEADLINE_METRIC:
        curves = sample_complexity_data(variants[variants["kind"] == kind].drop(columns="config"), kind)
        if curves.empty:
            continue
        title = f"LIFT settings vs training rows ({kind}, 95 % bootstrap bands)"
        study.artifacts.append(
            Artifact.figure(
                plot_sample_complexity(curves, kind, styles),
                out_dir,
                f"lift-settings-{kind}-sizes",
                title,
                curves,
            )
        )
    if not study.artifacts:
        study.lack(
            "LIFT settings: no run on the whole training split and no task with two or more training sizes"
        )
    return study
