"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from benchmark.core.methods import INVALID_CLASS, Predictions
from benchmark.core.metrics import (
    METRIC_DIRECTIONS,
    classification_metrics,
    compute_metrics,
    expected_calibration_error,
    regression_metrics,
)

# Four binary rows: two at confidence 0.9 (one right, one wrong), two at 0.6 (both right).
CALIBRATION_Y = np.array([0, 1, 1, 0])
CALIBRATION_PROBA = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])


def test_invalid_answers_count_as_errors() -> None:
    y_true = np.array([0, 1, 2, 1])
    pred = Predictions(
        y_pred=np.array([0, INVALID_CLASS, 2, 2]), invalid=np.array([False, True, False, False])
    )
    m = classification_metrics(y_true, pred, n_classes=3)
    assert m["accuracy"] == pytest.approx(0.5)  # 2/3 if the invalid row were dropped
    assert m["invalid_rate"] == pytest.approx(0.25)
    # recalls: class 0 -> 1, class 1 -> 0/2, class 2 -> 1/1
    assert m["balanced_accuracy"] == pytest.approx(2 / 3)
    # F1: class 0 -> 1, class 1 -> 0, class 2 -> P=1/2, R=1 -> 2/3
    assert m["macro_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)


def test_row_marked_invalid_is_wrong_whatever_code_it_carries() -> None:
    y_true = np.array([0, 1])
    pred = Predictions(y_pred=np.array([0, 1]), invalid=np.array([False, True]))
    m = classification_metrics(y_true, pred, n_classes=2)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["invalid_rate"] == pytest.approx(0.5)


def test_balanced_accuracy_matches_sklearn_without_invalid_rows() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    m = classification_metrics(y_true, Predictions(y_pred=y_pred), n_classes=4)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_ece_on_constructed_example() -> None:
    # Bin of 0.9: accuracy 1/2, gap 0.4; bin of 0.6: accuracy 1, gap 0.4; each bin holds half the rows.
    # Over all rows accuracy (0.75) equals mean confidence (0.75): the binning is what finds the gap.
    assert expected_calibration_error(CALIBRATION_Y, CALIBRATION_PROBA) == pytest.approx(0.4)
    pred = Predictions(y_pred=CALIBRATION_PROBA.argmax(axis=1), proba=CALIBRATION_PROBA)
    assert classification_metrics(CALIBRATION_Y, pred, n_classes=2)["ece"] == pytest.approx(0.4)


def test_ece_is_zero_when_confidence_matches_accuracy_per_bin() -> None:
    y_true = np.array([0, 0, 0, 1])
    proba = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(y_true, proba) == pytest.approx(0.0)


def test_brier_sums_squared_errors_over_classes() -> None:
    pred = Predictions(y_pred=CALIBRATION_PROBA.argmax(axis=1), proba=CALIBRATION_PROBA)
    m = classification_metrics(CALIBRATION_Y, pred, n_classes=2)
    # rows: 0.1^2*2, 0.9^2*2, 0.4^2*2, 0.4^2*2
    assert m["brier"] == pytest.approx((0.02 + 1.62 + 0.32 + 0.32) / 4)


def test_log_loss_with_a_class_missing_from_the_test_rows() -> None:
    y_true = np.array([0, 1, 0])  # class 2 never occurs
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.25, 0.25]])
    m = classification_metrics(y_true, Predictions(y_pred=proba.argmax(axis=1), proba=proba), n_classes=3)
    assert m["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.8) + math.log(0.5)) / 3)


def test_log_loss_clips_a_zero_probability() -> None:
    m = classification_metrics(
        np.array([0]), Predictions(y_pred=np.array([1]), proba=np.array([[0.0, 1.0]])), n_classes=2
    )
    assert m["log_loss"] == pytest.approx(-math.log(1e-15), rel=1e-6)


def test_binary_auc_is_the_share_of_positive_negative_pairs_ranked_right() -> None:
    # positives score 0.6 and 0.1, negatives 0.1 and 0.4: pairs (0.6>0.1) (0.6>0.4) (0.1=0.1 half) (0.1<0.4)
    m = classification_metrics(CALIBRATION_Y, Predictions(CALIBRATION_PROBA.argmax(1), CALIBRATION_PROBA), 2)
    assert m["auc"] == pytest.approx(2.5 / 4)


def test_multiclass_auc_is_the_macro_mean_of_one_vs_rest_over_present_classes() -> None:
    y_true = np.array([0, 0, 1, 1])  # class 2 of 3 absent from these rows: left out, not an error
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    m = classification_metrics(y_true, Predictions(proba.argmax(1), proba), n_classes=3)
    class0 = 3 / 4  # 0.8 beats 0.2, 0.5; 0.3 beats 0.2 only
    class1 = 3 / 4  # 0.7 beats 0.1, 0.6; 0.4 beats 0.1 only
    assert m["auc"] == pytest.approx((class0 + class1) / 2)
    full = np.array([0, 1, 2])
    proba3 = np.eye(3) * 0.7 + 0.1
    assert classification_metrics(full, Predictions(full, proba3), 3)["auc"] == 1.0
    single = classification_metrics(np.array([1, 1]), Predictions(np.array([1, 1]), proba[:2]), 3)
    assert math.isnan(single["auc"])


def test_regression_metrics_against_manual_formulas() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    y_hat = np.array([1.5, 2.0, 2.0, 5.0])
    m = regression_metrics(y, Predictions(y_pred=y_hat))
    assert m["rae"] == pytest.approx(2.5 / 4.0)  # errors .5+0+1+1; |2.5 - y| sums to 4
    assert m["rmse"] == pytest.approx(0.75)
    assert m["mae"] == pytest.approx(0.625)
    assert m["r2"] == pytest.approx(1 - 2.25 / 5.0)
    assert m["invalid_rate"] == 0.0


def _one_outlier(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.normal(size=n)
    y_hat = y + np.where(np.arange(n) % 2, 0.1, -0.1)
    y_hat[7] = y[7] + 10.0  # one error above 5 * RMSE (RMSE is about 10 / sqrt(40))
    return y, y_hat


def test_filtered_variants_drop_exactly_the_outlier() -> None:
    y, y_hat = _one_outlier()
    m = regression_metrics(y, Predictions(y_pred=y_hat))
    keep = np.arange(len(y)) != 7
    manual_rae = np.sum(np.abs(y_hat[keep] - y[keep])) / np.sum(np.abs(y[keep].mean() - y[keep]))
    for k in (3, 5):
        assert m[f"rae_filtered{k}"] == pytest.approx(manual_rae)
        assert m[f"rmse_filtered{k}"] == pytest.approx(0.1)
    assert m["rae"] > 2 * m["rae_filtered3"]
    assert m["rmse"] == pytest.approx(math.sqrt((39 * 0.01 + 100) / 40))


def test_filter_between_the_two_thresholds_drops_only_for_k3() -> None:
    # Outlier error 4, 15 others of 0.1: RMSE ~ 1.03, so 3 * RMSE < 4 < 5 * RMSE.
    y = np.zeros(16)
    y_hat = np.full(16, 0.1)
    y_hat[0] = 4.0
    m = regression_metrics(y + np.arange(16), Predictions(y_pred=y_hat + np.arange(16)))
    assert m["rmse_filtered3"] == pytest.approx(0.1)
    assert m["rmse_filtered5"] == pytest.approx(m["rmse"])


def test_gaussian_nll_and_coverage() -> None:
    errors = np.array([0.5, 1.0, 1.5, 1.7, 2.0, -0.1, -1.6, -1.7, 3.0, 0.0])
    y = np.linspace(-1, 1, len(errors))
    m = regression_metrics(y, Predictions(y_pred=y - errors, std=np.ones(len(errors))))
    # inside +-1.6449: 0.5, 1.0, 1.5, -0.1, -1.6, 0.0
    assert m["coverage_90"] == pytest.approx(0.6)
    assert m["nll_gaussian"] == pytest.approx(np.mean(0.5 * math.log(2 * math.pi) + errors**2 / 2))


def test_regression_reports_invalid_rate_and_scores_the_fallback() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    fallback = 2.5  # e.g. the training mean, put in by the method
    pred = Predictions(
        y_pred=np.array([1.0, fallback, 3.0, 4.0]), invalid=np.array([False, True, False, False])
    )
    m = regression_metrics(y, pred)
    assert m["invalid_rate"] == pytest.approx(0.25)
    assert m["mae"] == pytest.approx(0.5 / 4)


def test_undefined_values_are_nan_and_absent_inputs_give_absent_metrics() -> None:
    m = compute_metrics("regression", np.ones(3), Predictions(y_pred=np.array([1.0, 2.0, 1.0])))
    assert math.isnan(m["rae"]) and math.isnan(m["r2"])
    assert "nll_gaussian" not in m and "coverage_90" not in m
    c = compute_metrics("classification", np.array([0, 1]), Predictions(y_pred=np.array([0, 1])), n_classes=2)
    assert not {"auc", "log_loss", "brier", "ece"} & set(c)


def test_values_are_python_floats_and_ranked_metrics_have_directions() -> None:
    pred = Predictions(y_pred=CALIBRATION_PROBA.argmax(axis=1), proba=CALIBRATION_PROBA)
    c = compute_metrics("classification", CALIBRATION_Y, pred, n_classes=2)
    y, y_hat = _one_outlier()
    generated = Predictions(y_pred=y_hat, std=np.ones(len(y)), terminated=np.ones(len(y), dtype=bool))
    r = compute_metrics("regression", y, generated)
    for name, value in {**c, **r}.items():
        assert type(value) is float, name
    assert set(c) | set(r) == set(METRIC_DIRECTIONS) | {"coverage_90"}
    assert set(METRIC_DIRECTIONS.values()) == {"higher", "lower"}


def test_strict_invalid_rate_counts_unterminated_answers_and_any_invalid_sample() -> None:
    """Rows: parsed and terminated; parsed but unterminated; one of its samples unparsable; all
    samples unparsable. The lenient rate counts the last only, the strict rate all but the first."""
    pred = Predictions(
        y_pred=np.array([1, 0, 1, -1]),
        invalid=np.array([False, False, False, True]),
        terminated=np.array([True, False, True, True]),
        invalid_samples=np.array([0, 0, 1, 3]),
    )
    m = compute_metrics("classification", np.array([1, 0, 1, 0]), pred, n_classes=2)
    assert m["invalid_rate"] == pytest.approx(0.25)
    assert m["strict_invalid_rate"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.75)  # lenient answers are still scored
    # a method that does not generate has no strict rate to report
    assert "strict_invalid_rate" not in compute_metrics(
        "classification", np.array([1, 0]), Predictions(y_pred=np.array([1, 0])), n_classes=2
    )


@pytest.mark.parametrize(
    ("kind", "y_true", "pred", "n_classes", "message"),
    [
        ("classification", np.array([0, 1]), Predictions(y_pred=np.array([0])), 2, "rows"),
        ("classification", np.array([0, 3]), Predictions(y_pred=np.array([0, 1])), 2, "y_true"),
        ("classification", np.array([0, 1]), Predictions(y_pred=np.array([0, -2])), 2, "y_pred"),
        ("classification", np.array([0, 1]), Predictions(y_pred=np.array([0, 1])), None, "n_classes"),
        ("regression", np.array([0.0, 1.0]), Predictions(y_pred=np.array([0.0, np.nan])), None, "fallback"),
        ("ranking", np.array([0.0]), Predictions(y_pred=np.array([0.0])), None, "kind"),
    ],
)
def test_bad_inputs_raise(
    kind: str, y_true: np.ndarray, pred: Predictions, n_classes: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(kind, y_true, pred, n_classes=n_classes)
