"""The main tables: tasks x methods, mean ± std over split seeds and seeds, best per row in bold,
with the paper's own numbers beside ours in separately labelled columns.

Only clean runs trained on the whole training split enter these tables; sample sizes, perturbations
and serializer studies have their own figures. Standard deviations are sample standard deviations
(ddof=1) over the runs of a cell, as the paper's classification tables and `ResultStore.compare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.artifacts import Artifact, Study
from analysis.bootstrap import CONFIDENCE, mean_interval
from analysis.loading import clean_full_runs, setting_notes, with_config_labels
from analysis.paper_numbers import PAPER_OPENML, PAPER_TABLES, paper_rows_for
from analysis.style import base_method
from analysis.table_format import Cell, TextTable
from benchmark.core.metrics import METRIC_DIRECTIONS, METRICS

# The metrics of the main tables per task kind: the headline first, then the paper's other columns.
# Unparsable answers are never dropped (they score as errors or the fallback): their rate follows every
# main table, the lenient one (no value could be parsed) and the strict one beside it (the answer also
# ended with the end marker; only methods that generate have it).
INVALID_RATES: tuple[str, ...] = ("invalid_rate", "strict_invalid_rate")
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "auc", *INVALID_RATES),
    "regression": ("rae", "rmse", "rae_filtered3", *INVALID_RATES),
}
METRIC_TITLES = {name: spec.title for name, spec in METRICS.items()}
# Baselines in the paper's column order, then LIFT; unknown methods in between, alphabetically.
METHOD_ORDER: tuple[str, ...] = (
    "majority",
    "mean",
    "logreg",
    "poly",
    "knn",
    "tree",
    "krr",
    "svm",
    "rf",
    "gbt",
    "xgboost",
    "mlp",
    "gp",
)


def order_configs(labels: Sequence[str]) -> list[str]:
    """Configuration labels in table order: known baselines, other methods, LIFT last."""

    def key(label: str) -> tuple[int, int, str]:
        method = base_method(label)
        if method == "lift":
            return 2, 0, label
        if method in METHOD_ORDER:
            return 0, METHOD_ORDER.index(method), label
        return 1, 0, label

    return sorted(dict.fromkeys(labels), key=key)


def summarize(
    runs: pd.DataFrame,
    metric: str,
    rows: Sequence[str] = ("task_label",),
    columns: str = "config",
    scale: float = 1.0,
) -> pd.DataFrame:
    """Mean, std (ddof=1) and count of `metric` (times `scale`) per row key and column, and the best per row.

    `best` marks, in each row, the columns whose mean is the best by the metric's direction
    (`METRIC_DIRECTIONS`; ties all marked); a metric with no direction marks none.
    """
    column = f"metric.{metric}"
    keys = [*rows, columns]
    if runs.empty or column not in runs.columns:
        return pd.DataFrame(columns=[*keys, "mean", "std", "count", "best"])
    frame = runs[[*keys, column]].copy()
    frame["value"] = pd.to_numeric(frame[column], errors="coerce") * scale
    frame = frame[frame["value"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "mean", "std", "count", "best"])
    out = (
        frame.groupby(keys, sort=False)["value"]
        .agg(mean="mean", std=lambda v: v.std(ddof=1), count="count")
        .reset_index()
    )
    direction = METRIC_DIRECTIONS.get(metric)
    if direction is None:
        out["best"] = False
    else:
        best = out.groupby(list(rows), sort=False)["mean"].transform(
            "max" if direction == "higher" else "min"
        )
        out["best"] = np.isclose(out["mean"], best, rtol=0.0, atol=1e-12)
    return out


def value_text(mean: float, std: float, digits: int) -> str:
    """`mean ± std`, or the mean alone when the std is undefined (one run)."""
    if pd.isna(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def interval_text(mean: float, low: float, high: float, digits: int) -> str:
    """`mean [low, high]`."""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def cell_intervals(runs: pd.DataFrame, metric: str, column: str, scale: float) -> pd.DataFrame:
    """Per task and `column` value: the bootstrap interval (low, high) of the mean of `metric` × `scale`."""
    values = runs[["task_label", column]].assign(
        value=pd.to_numeric(runs[f"metric.{metric}"], errors="coerce") * scale
    )
    records = []
    for (task, config), part in values.dropna(subset=["value"]).groupby(["task_label", column], sort=False):
        low, high = mean_interval(part["value"].to_numpy())
        records.append({"task_label": task, column: config, "low": low, "high": high})
    return pd.DataFrame(records, columns=["task_label", column, "low", "high"])


@dataclass
class MetricTable:
    """A tasks x configurations table of one metric, with the paper's matching numbers."""

    metric: str
    kind: str
    digits: int
    summary: pd.DataFrame  # task_label, <column>, mean, std, count, best (display units)
    paper: pd.DataFrame  # task_label, column ("paper LogReg"), mean, std, digits, source
    table: TextTable


def metric_table(
    runs: pd.DataFrame, metric: str, kind: str, scale: float = 1.0, digits: int = 3
) -> MetricTable | None:
    """The main table of `metric` over clean full-size runs of `kind`; None when no run has the metric."""
    subset = clean_full_runs(runs)
    subset = subset[subset["kind"] == kind] if not subset.empty else subset
    if subset.empty:
        return None
    labelled = with_config_labels(subset)
    result = task_table(labelled, metric, kind, scale, digits, scope="Clean data, whole training split.")
    if result is not None:  # one column per method: settings that differ by task are said here
        result.table.notes.extend(f"Settings: {note}" for note in setting_notes(labelled))
    return result


def task_table(
    runs: pd.DataFrame,
    metric: str,
    kind: str,
    scale: float,
    digits: int,
    column: str = "config",
    paper_study: str = "main",
    title: str | None = None,
    scope: str = "",
    interval: bool = False,
) -> MetricTable | None:
    """Tasks as rows, the values of `column` as columns: mean ± std of `metric` over the given runs.

    The best column of each row is bold; the paper's numbers of `paper_study` follow in their own
    columns where the task matches one of its rows. With `interval`, a cell shows the mean and its
    percentile-bootstrap confidence interval over the cell's runs instead of the std.
    """
    summary = summarize(runs, metric, columns=column, scale=scale)
    if summary.empty:
        return None
    if interval:
        summary = summary.merge(cell_intervals(runs, metric, column, scale), on=["task_label", column])
    tasks = list(dict.fromkeys(summary["task_label"]))
    columns = order_configs(summary[column].tolist())
    paper = paper_columns(runs, metric, tasks, paper_study)
    paper_names = list(dict.fromkeys(paper["column"])) if not paper.empty else []
    typical = int(summary["count"].mode().iloc[0])
    by_cell = summary.set_index(["task_label", column])
    rows = []
    for task in tasks:
        row = [Cell(task)]
        for name in columns:
            if (task, name) not in by_cell.index:
                row.append(Cell("–"))
                continue
            cell = by_cell.loc[(task, name)]
            text = (
                interval_text(cell["mean"], cell["low"], cell["high"], digits)
                if interval
                else value_text(cell["mean"], cell["std"], digits)
            )
            if int(cell["count"]) != typical:
                text += f" (n={int(cell['count'])})"
            row.append(Cell(text, bold=bool(cell["best"])))
        task_paper = paper[paper["task_label"] == task].set_index("column")
        for name in paper_names:
            if name in task_paper.index:
                value = task_paper.loc[name]
                row.append(Cell(value_text(value["mean"], value["std"], int(value["digits"]))))
            else:
                row.append(Cell("–"))
        rows.append(row)
    arrow = {"higher": "↑ higher is better", "lower": "↓ lower is better"}.get(
        METRIC_DIRECTIONS.get(metric), ""
    )
    caption = f"{title or kind.capitalize()}: {METRIC_TITLES.get(metric, metric)}, {arrow}"
    spread = (
        f"mean [{CONFIDENCE:.0%} percentile-bootstrap interval of the mean]"
        if interval
        else "mean ± std (ddof=1)"
    )
    notes = [
        f"liftbench: {spread} over split seeds and seeds, {typical} runs per cell unless marked"
        f" (n=...); best liftbench column per row in bold. {scope}".rstrip()
    ]
    if paper_names:
        sources = "; ".join(sorted(set(paper["source"])))
        notes.append(f"Columns 'paper ...' are the LIFT paper's published numbers, not rerun: {sources}.")
    table = TextTable(header=["task", *columns, *paper_names], rows=rows, caption=caption, notes=notes)
    return MetricTable(metric, kind, digits, summary, paper, table)


def paper_columns(runs: pd.DataFrame, metric: str, tasks: Sequence[str], study: str = "main") -> pd.DataFrame:
    """The paper's numbers (of one report study) for the tasks that match one of its rows, in long form."""
    records = []
    firsts = runs.drop_duplicates("task_label").set_index("task_label")
    for task in tasks:
        first = firsts.loc[task]
        for table, row in paper_rows_for(metric, first["task"], first["task_params"], study):
            for name in table.columns:
                value = row[name]
                records.append(
                    {
                        "task_label": task,
                        "column": f"paper {name}",
                        "mean": value.mean,
                        "std": np.nan if value.std is None else value.std,
                        "digits": table.digits,
                        "source": f"{table.title} [{table.source}]",
                    }
                )
    frame = pd.DataFrame(records, columns=["task_label", "column", "mean", "std", "digits", "source"])
    if frame.empty:
        return frame
    order = [f"paper {c}" for table in PAPER_TABLES for c in table.columns]
    frame["position"] = frame["column"].map({c: i for i, c in reversed(list(enumerate(order)))})
    return frame.sort_values("position", kind="stable").drop(columns="position")


def build_main_tables(runs: pd.DataFrame, out_dir: Path, suites: Mapping[str, str]) -> Study:
    """The main study: one table per (kind, metric) of `MAIN_METRICS`; `suites` names the suite per kind."""
    study = Study(
        "main", "Main results: accuracy, RAE and RMSE per task and method", suites["classification"]
    )
    for kind, metrics in MAIN_METRICS.items():
        built = False
        for metric in metrics:
            spec = METRICS[metric]
            result = metric_table(runs, metric, kind, scale=spec.scale, digits=spec.digits)
            if result is None:
                continue
            built = True
            name = f"table-{kind}-{metric}"
            data = result.summary.assign(metric=metric)
            if not result.paper.empty:
                paper = result.paper.rename(columns={"column": "config"}).assign(metric=metric, paper=True)
                data = pd.concat(
                    [data.assign(paper=False), paper.drop(columns=["digits", "source"])], ignore_index=True
                )
            study.artifacts.append(Artifact.table(result.table, out_dir, name, result.table.caption, data))
        if not built:
            study.lack(f"{kind} table: no clean runs on the whole training split", suites[kind])
    return study


PAPER_TABLE2_METRICS = ("accuracy", "auc")


def build_paper_table2(runs: pd.DataFrame, out_dir: Path, suite: str) -> Study:
    """The paper's Table 2 (OpenML classification): our mean and CI beside its published columns.

    Rows are the paper's datasets that have clean runs on the whole training split, in the paper's
    order; AUC follows in a table of its own (the paper published none).
    """
    study = Study("table2", "The LIFT paper's Table 2: OpenML classification, ours beside the paper's", suite)
    paper_tasks = [task for task, params in PAPER_OPENML.rows if not params]
    subset = clean_full_runs(runs)
    if not subset.empty:
        subset = subset[(subset["kind"] == "classification") & subset["task"].isin(paper_tasks)]
        subset = subset[subset["task_params"].map(lambda params: not params)]
    if subset.empty:
        study.lack("no clean runs on the paper's OpenML datasets", suite)
        return study
    order = {task: i for i, task in enumerate(paper_tasks)}
    labelled = with_config_labels(subset.sort_values("task", key=lambda t: t.map(order), kind="stable"))
    for metric in PAPER_TABLE2_METRICS:
        spec = METRICS[metric]
        result = task_table(
            labelled,
            metric,
            "classification",
            spec.scale,
            spec.digits,
            title="LIFT paper Table 2 (OpenML classification)",
            scope="Clean data, whole training split.",
            interval=True,
        )
        if result is None:
            continue
        result.table.notes.extend(f"Settings: {note}" for note in setting_notes(labelled))
        name = f"table2-{metric}"
        study.artifacts.append(
            Artifact.table(
                result.table, out_dir, name, result.table.caption, result.summary.assign(metric=metric)
            )
        )
    return study
