"""Is LIFT as good as the best baseline? Paired tests per task and a critical-difference diagram over tasks.

* Per task, the runs of two methods are paired by (split seed, seed): the same training, validation
  and test rows. A two-sided Wilcoxon signed-rank test (scipy) compares them where there are at least
  `MIN_WILCOXON_PAIRS` pairs; with fewer, even the most extreme outcome cannot reach p < 0.05, so the
  row says "n too small" instead of a p-value. The reference is each LIFT configuration when there
  is one, otherwise the best method of the task.
* Over tasks, methods are ranked per task by their mean (1 = best, ties averaged), the Friedman test
  asks whether the ranks differ at all, and the Nemenyi critical difference
  CD = q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N)) (Demšar, JMLR 2006), with q_alpha the studentized
  range quantile for k groups and infinite degrees of freedom (`scipy.stats.studentized_range`),
  says which average ranks differ. Methods whose ranks differ by less than CD are joined by a bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis.artifacts import Artifact, Study
from analysis.loading import clean_full_runs, with_config_labels
from analysis.style import base_method, figure_style, new_figure
from analysis.table_format import Cell, TextTable
from analysis.tables import order_configs, summarize
from benchmark.core.metrics import HEADLINE_METRIC, METRIC_DIRECTIONS

MIN_WILCOXON_PAIRS = 6  # the smallest n whose exact two-sided signed-rank p-value can fall below 0.05
ALPHA = 0.05
LIFT_METHOD = "lift"


def paired_comparisons(runs: pd.DataFrame, metric: str, alpha: float = ALPHA) -> pd.DataFrame:
    """Per task: each reference configuration against every other, paired by (split seed, seed).

    Columns: task_label, reference, other, best_baseline (whether `other` is the task's best
    method that is not LIFT), n (pairs), reference_mean, other_mean, mean_difference (reference -
    other), statistic, p_value (NaN when not tested) and verdict.
    """
    columns = [
        "task_label",
        "reference",
        "other",
        "best_baseline",
        "n",
        "reference_mean",
        "other_mean",
        "mean_difference",
        "statistic",
        "p_value",
        "verdict",
    ]
    column = f"metric.{metric}"
    if runs.empty or column not in runs.columns:
        return pd.DataFrame(columns=columns)
    direction = METRIC_DIRECTIONS[metric]
    records = []
    for task, task_runs in runs.groupby("task_label", sort=False):
        values = task_runs.pivot_table(
            index=["split_seed", "seed"], columns="config", values=column, aggfunc="mean"
        )
        means = values.mean()
        configs = order_configs(list(values.columns))
        references = [c for c in configs if base_method(c) == LIFT_METHOD]
        baselines = means[[c for c in configs if c not in references]]
        best_baseline = None
        if not baselines.empty:
            best_baseline = baselines.idxmax() if direction == "higher" else baselines.idxmin()
        references = references or [best_baseline]
        for reference in references:
            for other in configs:
                if other == reference:
                    continue
                pairs = values[[reference, other]].dropna()
                difference = pairs[reference] - pairs[other]
                statistic, p_value, verdict = _wilcoxon(difference.to_numpy(), direction, alpha)
                records.append(
                    {
                        "task_label": task,
                        "reference": reference,
                        "other": other,
                        "best_baseline": other == best_baseline,
                        "n": len(pairs),
                        "reference_mean": means[reference],
                        "other_mean": means[other],
                        "mean_difference": means[reference] - means[other],
                        "statistic": statistic,
                        "p_value": p_value,
                        "verdict": verdict,
                    }
                )
    return pd.DataFrame(records, columns=columns)


def _wilcoxon(difference: np.ndarray, direction: str, alpha: float) -> tuple[float, float, str]:
    n = len(difference)
    if n < MIN_WILCOXON_PAIRS:
        return np.nan, np.nan, f"n too small (n={n} < {MIN_WILCOXON_PAIRS})"
    if np.allclose(difference, 0.0):
        return np.nan, 1.0, "identical"
    result = stats.wilcoxon(difference, alternative="two-sided")
    p_value = float(result.pvalue)
    if p_value >= alpha:
        return float(result.statistic), p_value, "no significant difference"
    better = np.median(difference) > 0 if direction == "higher" else np.median(difference) < 0
    return float(result.statistic), p_value, "reference better" if better else "reference worse"


@dataclass
class CriticalDifference:
    """Average ranks over tasks and the Nemenyi critical difference."""

    metric: str
    ranks: pd.DataFrame  # tasks x configs, 1 = best
    average_ranks: pd.Series  # config -> average rank, best first
    n_tasks: int
    cd: float
    friedman_p: float  # NaN with fewer than 3 methods
    cliques: list[list[str]]  # maximal groups of configs whose ranks differ by less than cd


def critical_difference(
    summary: pd.DataFrame, metric: str, alpha: float = ALPHA
) -> CriticalDifference | None:
    """Ranks and CD from a `summarize` frame (task_label, config, mean); None with fewer than 2 tasks or methods.

    Ranks need every method on every task: `complete_block` picks the largest such block of tasks
    and methods, after leaving out the tasks that have fewer than 2 methods.
    """
    if summary.empty:
        return None
    complete = complete_block(summary.pivot_table(index="task_label", columns="config", values="mean"))
    if complete.shape[0] < 2 or complete.shape[1] < 2:
        return None
    complete = complete[order_configs(list(complete.columns))]
    sign = -1.0 if METRIC_DIRECTIONS[metric] == "higher" else 1.0
    ranks = complete.apply(
        lambda row: pd.Series(stats.rankdata(sign * row.to_numpy()), index=row.index), axis=1
    )
    average = ranks.mean(axis=0).sort_values(kind="stable")
    k, n = complete.shape[1], complete.shape[0]
    q_alpha = float(stats.studentized_range.ppf(1 - alpha, k, np.inf))
    cd = q_alpha / np.sqrt(2.0) * np.sqrt(k * (k + 1) / (6.0 * n))
    friedman_p = np.nan
    if k >= 3:
        friedman_p = float(
            stats.friedmanchisquare(*(complete[c].to_numpy() for c in complete.columns)).pvalue
        )
    return CriticalDifference(metric, ranks, average, n, float(cd), friedman_p, _cliques(average, cd))


def complete_block(means: pd.DataFrame) -> pd.DataFrame:
    """The largest tasks x methods block of `means` with no gap.

    A task with fewer than 2 methods is dropped first (one task with LIFT alone must not cost every
    baseline its place). Then, while a gap remains, the task or the method with the most gaps goes,
    whichever keeps the larger block; ties keep methods.
    """
    block = means[means.notna().sum(axis=1) >= 2]
    while block.size and block.isna().any().any():
        by_task, by_method = block.isna().sum(axis=1), block.isna().sum(axis=0)
        without_task = block.drop(index=by_task.idxmax())
        without_method = block.drop(columns=by_method.idxmax())
        keep_methods = _filled(without_task) >= _filled(without_method)
        block = without_task if keep_methods else without_method
        block = block[block.notna().sum(axis=1) >= 2]
    return block


def _filled(block: pd.DataFrame) -> int:
    """Cells of the complete block left after dropping the rows with gaps: how good a step is."""
    return int(block.dropna(axis=0).size)


def _cliques(average: pd.Series, cd: float) -> list[list[str]]:
    """Maximal runs of consecutive (by rank) methods whose first and last ranks differ by less than `cd`."""
    names, values = list(average.index), average.to_numpy()
    groups: list[list[str]] = []
    for start in range(len(names)):
        end = start
        while end + 1 < len(names) and values[end + 1] - values[start] < cd:
            end += 1
        if end > start and not any(g[0] <= start and end <= g[1] for g in groups):
            groups.append([start, end])
    return [names[a : b + 1] for a, b in groups]


def plot_critical_difference(result: CriticalDifference, title: str) -> Figure:
    """Demšar's diagram: methods on an axis of average rank (best left), CD bar, cliques joined by bars."""
    k = len(result.average_ranks)
    with figure_style():
        figure = new_figure(panel_size=(6.0, 0.6 + 0.28 * k))
        axis = figure.subplots()
        axis.set_xlim(0.5, k + 0.5)
        axis.set_ylim(-((k + 1) // 2 + 1) - 0.3 * len(result.cliques), 2.0)
        axis.axis("off")
        axis.hlines(0, 1, k, color="black", linewidth=1)
        for r in range(1, k + 1):
            axis.vlines(r, 0, 0.15, color="black", linewidth=1)
            axis.text(r, 0.3, str(r), ha="center", va="bottom")
        axis.hlines(1.3, 1, 1 + result.cd, color="black", linewidth=2)
        axis.text(1 + result.cd / 2, 1.45, f"CD = {result.cd:.2f}", ha="center", va="bottom")
        names = list(result.average_ranks.index)
        half = (k + 1) // 2
        for i, name in enumerate(names):
            rank = result.average_ranks[name]
            left = i < half
            depth = -(i + 1 if left else k - i) * 1.0
            end = 0.5 if left else k + 0.5
            axis.plot([rank, rank, end], [0, depth, depth], color="black", linewidth=0.8)
            axis.text(
                end,
                depth,
                f"{name} ({rank:.2f}) " if left else f" ({rank:.2f}) {name}",
                ha="right" if left else "left",
                va="center",
            )
        for j, clique in enumerate(result.cliques):
            low, high = result.average_ranks[clique[0]], result.average_ranks[clique[-1]]
            axis.hlines(-0.35 - 0.3 * j, low - 0.05, high + 0.05, color="black", linewidth=3)
        friedman = "" if np.isnan(result.friedman_p) else f", Friedman p = {result.friedman_p:.3g}"
        axis.set_title(f"{title}: average rank over {result.n_tasks} tasks{friedman}")
    return figure


def build_statistics(runs: pd.DataFrame, out_dir: Path, suite: str) -> Study:
    """Paired per-task tests and a CD diagram per task kind, on the headline metric of each kind."""
    study = Study("statistics", "Statistics: paired tests per task and critical-difference diagrams", suite)
    subset = clean_full_runs(runs)
    for kind, metric in HEADLINE_METRIC.items():
        kind_runs = subset[subset["kind"] == kind] if not subset.empty else subset
        if kind_runs.empty:
            study.lack(f"{kind}: no clean runs on the whole training split")
            continue
        kind_runs = with_config_labels(kind_runs)
        tests = paired_comparisons(kind_runs, metric)
        if not tests.empty:
            study.artifacts.append(
                Artifact.table(
                    _tests_table(tests, kind, metric),
                    out_dir,
                    f"paired-tests-{kind}",
                    f"{kind}: paired Wilcoxon tests on {metric}",
                    tests,
                )
            )
        else:
            study.lack(f"{kind} paired tests: every task has a single method")
        result = critical_difference(summarize(kind_runs, metric), metric)
        if result is None:
            study.lack(
                f"{kind} critical-difference diagram: needs at least 2 tasks with at least 2 methods on each"
            )
            continue
        data = pd.DataFrame(
            {"config": result.average_ranks.index, "average_rank": result.average_ranks.to_numpy()}
        )
        data = data.assign(cd=result.cd, n_tasks=result.n_tasks, friedman_p=result.friedman_p, metric=metric)
        figure = plot_critical_difference(result, f"{kind} {metric}")
        study.artifacts.append(
            Artifact.figure(
                figure,
                out_dir,
                f"critical-difference-{kind}",
                f"{kind}: critical-difference diagram ({metric})",
                data,
            )
        )
    return study


def _tests_table(tests: pd.DataFrame, kind: str, metric: str) -> TextTable:
    rows = []
    for _, r in tests.iterrows():
        p = "–" if np.isnan(r["p_value"]) else f"{r['p_value']:.3g}"
        rows.append(
            [
                Cell(r["task_label"]),
                Cell(r["reference"]),
                Cell(r["other"] + (" (best baseline)" if r["best_baseline"] else "")),
                Cell(str(r["n"])),
                Cell(f"{r['mean_difference']:+.4f}"),
                Cell(p),
                Cell(r["verdict"], bold=r["verdict"] == "reference worse"),
            ]
        )
    return TextTable(
        header=["task", "reference", "other", "pairs", f"Δ {metric} (ref − other)", "p", "verdict"],
        rows=rows,
        caption=f"{kind.capitalize()}: two-sided Wilcoxon signed-rank tests on test {metric}, runs paired by split seed and seed",
        notes=[
            f"Tested at alpha = {ALPHA} where there are at least {MIN_WILCOXON_PAIRS} pairs; the reference is each LIFT configuration, or the task's best method when LIFT has no runs."
        ],
        index_columns=3,
    )
