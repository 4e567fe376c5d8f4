"""Scores of one run's per-row predictions: classification and regression metrics, and their directions.

Rules kept here (DESIGN.md, "Rules"): an unparsable answer is never dropped. In classification a row
that is marked invalid, or carries the code `INVALID_CLASS`, counts as wrong in accuracy, balanced
accuracy and macro-F1. In regression the method has already put its declared fallback into `y_pred`
for invalid rows; metrics score that fallback and report `invalid_rate` beside it.

The paper's outlier filter (lift-spec.md section 7) drops the rows whose absolute error exceeds
k times the RMSE before scoring; it flatters every method, so it is reported only as separately named
metrics (`*_filtered3`, the paper's synthetic tables; `*_filtered5`, its real-data tables), never in
place of the unfiltered ones.

`invalid_rate` is lenient: a row counts as invalid when no answer could be read from it, even one
that ran out of tokens before its end marker or trailed extra text. For methods that generate,
`strict_invalid_rate` beside it counts every row with a sample that is not both terminated by the
end marker and parsed (`Predictions.strict_invalid`).

Every value is a plain Python float; a metric that is undefined for the given rows (RAE when all test
targets are equal, R^2 on constant targets) is NaN; a metric that needs something the method did not
give (log-loss without probabilities) is absent from the dict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import (
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    recall_score,
    roc_auc_score,
)

from benchmark.core.methods import INVALID_CLASS, Predictions

ECE_BINS = 15
PROBA_CLIP = 1e-15  # probabilities are clipped to [PROBA_CLIP, 1] and renormalised before log-loss
OUTLIER_FACTORS = (3, 5)  # the paper's k in "drop rows with |error| > k * RMSE"
COVERAGE_LEVEL = 0.90


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is read: which direction is better, and how tables show it (value x `scale`,
    `digits` decimals, under `title`)."""

    name: str
    direction: str  # "higher" or "lower"
    title: str
    scale: float = 1.0
    digits: int = 3


def _specs(*specs: MetricSpec) -> dict[str, MetricSpec]:
    return {spec.name: spec for spec in specs}


# Every metric that has a direction, defined once. `coverage_90` is absent on purpose: neither direction
# is better, its ideal value is COVERAGE_LEVEL.
METRICS: dict[str, MetricSpec] = _specs(
    MetricSpec("accuracy", "higher", "test accuracy (%)", scale=100.0, digits=2),
    MetricSpec("balanced_accuracy", "higher", "test balanced accuracy (%)", scale=100.0, digits=2),
    MetricSpec("macro_f1", "higher", "test macro-F1 (%)", scale=100.0, digits=2),
    MetricSpec("auc", "higher", "test ROC AUC (binary; macro one-vs-rest over classes)"),
    MetricSpec("invalid_rate", "lower", "invalid answers (%)", scale=100.0, digits=1),
    MetricSpec("strict_invalid_rate", "lower", "strictly invalid answers (%)", scale=100.0, digits=1),
    MetricSpec("log_loss", "lower", "test log-loss"),
    MetricSpec("brier", "lower", "test Brier score"),
    MetricSpec("ece", "lower", "test ECE"),
    MetricSpec("rmse", "lower", "test RMSE"),
    MetricSpec("mae", "lower", "test MAE"),
    MetricSpec("r2", "higher", "test R²"),
    MetricSpec("rae", "lower", "test RAE"),
    *(
        MetricSpec(
            f"{name}_filtered{k}", "lower", f"test {name.upper()} after the paper's {k}×RMSE outlier filter"
        )
        for k in OUTLIER_FACTORS
        for name in ("rae", "rmse")
    ),
    MetricSpec("nll_gaussian", "lower", "test Gaussian NLL"),
)
METRIC_DIRECTIONS: dict[str, str] = {name: spec.direction for name, spec in METRICS.items()}
# The metric a task kind is judged by, as in the paper's tables (and LIFT's default epoch selection).
HEADLINE_METRIC: dict[str, str] = {"classification": "accuracy", "regression": "rae"}


def headline(kind: str) -> MetricSpec:
    """The headline metric of a task kind."""
    return METRICS[HEADLINE_METRIC[kind]]


def classification_metrics(y_true: np.ndarray, pred: Predictions, n_classes: int) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 and invalid rate; AUC, log-loss, Brier and ECE with `pred.proba`.

    Balanced accuracy is the mean recall over the classes present in `y_true`; macro-F1 averages
    over the valid classes that occur in `y_true` or in the answers. An invalid answer is a miss of
    its row's true class and a hit of no class. Brier is the multi-class form of Brier (1950): the
    mean over rows of the sum over all K classes of (p_k - 1[y = k])^2, in [0, 2]; for two classes
    it is twice scikit-learn's default binary Brier score. Log-loss scores all K classes, so a class
    missing from this test split is fine. ECE is the top-label expected calibration error over
    `ECE_BINS` equal-width confidence bins (lo, hi], weighted by the rows in each bin. AUC is
    `roc_auc` of the stored probabilities.
    """
    y_true = _as_codes(y_true, "y_true")
    y_pred = _as_codes(pred.y_pred, "y_pred")
    _check_rows(y_true, y_pred)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    if y_true.min() < 0 or y_true.max() >= n_classes:
        raise ValueError(f"y_true holds codes outside 0..{n_classes - 1}")
    if y_pred.min() < INVALID_CLASS or y_pred.max() >= n_classes:
        raise ValueError(f"y_pred holds codes outside {INVALID_CLASS}..{n_classes - 1}")

    invalid = np.asarray(pred.invalid, dtype=bool) | (y_pred == INVALID_CLASS)
    answered = np.where(invalid, INVALID_CLASS, y_pred)
    valid_labels = np.union1d(y_true, answered[answered != INVALID_CLASS])
    out = {
        "accuracy": float(np.mean(answered == y_true)),
        "balanced_accuracy": float(
            recall_score(y_true, answered, labels=np.unique(y_true), average="macro", zero_division=0)
        ),
        "macro_f1": float(f1_score(y_true, answered, labels=valid_labels, average="macro", zero_division=0)),
        "invalid_rate": float(np.mean(invalid)),
        **_strict_invalid_rate(pred, invalid),
    }
    if pred.proba is not None:
        proba = np.asarray(pred.proba, dtype=float)
        if proba.ndim != 2 or proba.shape[1] != n_classes:
            raise ValueError(f"proba has shape {proba.shape}, expected ({len(y_true)}, {n_classes})")
        clipped = np.clip(proba, PROBA_CLIP, 1.0)
        clipped /= clipped.sum(axis=1, keepdims=True)
        labels = np.arange(n_classes)
        out["auc"] = roc_auc(y_true, proba)
        out["log_loss"] = float(log_loss(y_true, clipped, labels=labels))
        out["brier"] = float(brier_score_loss(y_true, proba, labels=labels, scale_by_half=False))
        out["ece"] = expected_calibration_error(y_true, proba)
    return out


def roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC: binary, or the macro mean of one-vs-rest AUCs over the classes in `y_true`.

    Class k's AUC ranks rows by `proba[:, k]` against "is class k" (ties count half). With two
    classes both one-vs-rest AUCs equal the binary AUC of `proba[:, 1]`, so one formula serves both,
    as TabLLM and TabArena report them. A class absent from these rows has no AUC and is left out of
    the mean (scikit-learn's multiclass AUC would refuse the split); NaN when fewer than two classes
    occur.
    """
    present = np.unique(y_true)
    if len(present) < 2:
        return float("nan")
    return float(np.mean([roc_auc_score(y_true == k, proba[:, k]) for k in present]))


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Top-label ECE: sum over equal-width confidence bins of (rows in bin / n) * |accuracy - confidence|."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    bins = np.searchsorted(inner_edges, confidence, side="left")  # bin b holds (edge_b, edge_b+1]
    # per bin |sum(correct) - sum(confidence)| / n equals (n_b / n) * |accuracy_b - confidence_b|
    gap = np.bincount(bins, weights=correct, minlength=n_bins) - np.bincount(
        bins, weights=confidence, minlength=n_bins
    )
    return float(np.abs(gap).sum() / len(confidence))


def regression_metrics(y_true: np.ndarray, pred: Predictions) -> dict[str, float]:
    """RMSE, MAE, R^2, RAE, the paper's outlier-filtered RAE and RMSE, invalid rate; NLL and coverage with `pred.std`.

    RAE = sum|yhat - y| / sum|mean(y) - y| with the mean of the scored test targets (the paper's
    definition). The `_filtered{k}` variants first drop rows with |yhat - y| > k * RMSE (RMSE over all
    rows) and then compute RAE and RMSE on the rows kept, the mean in RAE included, as the paper's
    `outlier_filter` did. `nll_gaussian` is the mean negative log density of y under
    N(yhat, std^2); `coverage_90` is the share of rows inside the central 90 % normal interval.
    """
    y_true = _as_float(y_true, "y_true")
    y_pred = _as_float(pred.y_pred, "y_pred (the method must put its fallback into invalid rows)")
    _check_rows(y_true, y_pred)
    rmse = _rmse(y_true, y_pred)
    out = {
        "rmse": rmse,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": _r2(y_true, y_pred),
        "rae": _rae(y_true, y_pred),
    }
    abs_error = np.abs(y_pred - y_true)
    for k in OUTLIER_FACTORS:
        keep = abs_error <= k * rmse
        out[f"rae_filtered{k}"] = _rae(y_true[keep], y_pred[keep])
        out[f"rmse_filtered{k}"] = _rmse(y_true[keep], y_pred[keep])
    out["invalid_rate"] = pred.invalid_rate
    out.update(_strict_invalid_rate(pred, np.asarray(pred.invalid, dtype=bool)))
    if pred.std is not None:
        std = np.asarray(pred.std, dtype=float)
        if np.any(std < 0) or not np.all(np.isfinite(std)):
            raise ValueError("std must be finite and non-negative")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["nll_gaussian"] = float(-np.mean(stats.norm.logpdf(y_true, loc=y_pred, scale=std)))
        half_width = stats.norm.ppf(0.5 + COVERAGE_LEVEL / 2) * std
        out["coverage_90"] = float(np.mean(abs_error <= half_width))
    return out


def compute_metrics(
    kind: str, y_true: np.ndarray, pred: Predictions, n_classes: int | None = None
) -> dict[str, float]:
    """The metrics of a task kind ("classification" needs `n_classes`)."""
    if kind == "classification":
        if n_classes is None:
            raise ValueError("classification metrics need n_classes")
        return classification_metrics(y_true, pred, n_classes)
    if kind == "regression":
        return regression_metrics(y_true, pred)
    raise ValueError(f"unknown task kind {kind!r}; expected 'classification' or 'regression'")


def _strict_invalid_rate(pred: Predictions, invalid: np.ndarray) -> dict[str, float]:
    """`strict_invalid_rate` for a method that generates (its rows carry `terminated`), else nothing."""
    strict = pred.strict_invalid
    return {} if strict is None else {"strict_invalid_rate": float(np.mean(strict | invalid))}


def _as_codes(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"{name} must hold integer class codes")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class codes, got dtype {array.dtype}")
    return array.astype(np.int64)


def _as_float(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _check_rows(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} rows, predictions have {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("no rows to score")


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2))) if len(y_true) else float("nan")


def _rae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    baseline = np.sum(np.abs(y_true.mean() - y_true)) if len(y_true) else 0.0
    return float(np.sum(np.abs(y_pred - y_true)) / baseline) if baseline > 0 else float("nan")


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return float("nan")
    return float(r2_score(y_true, y_pred))
