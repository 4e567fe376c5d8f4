"""Percentile-bootstrap confidence intervals of a mean over runs (split seeds x seeds), and curves of them."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def mean_interval(
    values: Sequence[float] | np.ndarray,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
) -> tuple[float, float]:
    """The percentile-bootstrap interval of the mean of `values`, resampled with `seed`.

    One value, or values that are all equal, give the degenerate interval (v, v): there is nothing
    to resample.
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return float("nan"), float("nan")
    if data.size == 1 or np.all(data == data[0]):
        return float(data[0]), float(data[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            (data,),
            np.mean,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def curve(
    runs: pd.DataFrame, metric: str, x: str, groups: Sequence[str], seed: int = BOOTSTRAP_SEED
) -> pd.DataFrame:
    """Per group and x value: mean of `metric` over runs, its bootstrap band (low, high) and the run count."""
    column = f"metric.{metric}"
    columns = [*groups, x, "mean", "low", "high", "n"]
    if runs.empty or column not in runs.columns:
        return pd.DataFrame(columns=columns)
    records = []
    for key, part in runs.groupby([*groups, x], sort=True, dropna=False):
        values = pd.to_numeric(part[column], errors="coerce").dropna().to_numpy()
        if values.size == 0:
            continue
        low, high = mean_interval(values, seed=seed)
        records.append(
            {
                **dict(zip([*groups, x], key, strict=True)),
                "mean": values.mean(),
                "low": low,
                "high": high,
                "n": values.size,
            }
        )
    return pd.DataFrame(records, columns=columns)
