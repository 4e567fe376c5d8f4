"""The paper's classification baselines (lift-spec.md §6.1), tuned on validation accuracy.

Base estimators and grids are the paper's, except where noted:

* `majority` is `DummyClassifier(strategy="prior")`: it predicts the most frequent training label
  (ties: the smallest class code) like the paper's majorguess, and its probabilities are the
  training class frequencies instead of a one-hot row.
* `svm` is `SVC(gamma="scale", probability=True)`: the SVM's own decision gives `y_pred` (as the
  paper's accuracy), and Platt scaling, fitted by libsvm with an internal 5-fold CV on the training
  rows, gives `proba`; on rare rows their argmax can differ from `y_pred`.
* Seeds come from `FitData.seed` (the paper fixed random_state=0 or 1).

Features are standardized by default (`scale=True`), as the paper did, but with a scaler fitted on
the training rows only. Class codes absent from the training rows still get a (zero) column in
`proba`, which always has one column per task class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from baselines.tuning import Recipe, TunedBaseline, ValidationMetric
from benchmark.core.methods import FitData, Predictions


def _xgb_classifier() -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(verbosity=0, n_jobs=1)


CLASSIFIERS: dict[str, Recipe] = {
    "majority": Recipe(
        lambda: DummyClassifier(strategy="prior"),
        {},
        "the most frequent training label; class frequencies as probabilities",
    ),
    "logreg": Recipe(LogisticRegression, {"C": [1, 10, 100]}, "logistic regression, C in {1, 10, 100}"),
    "knn": Recipe(
        lambda: KNeighborsClassifier(n_neighbors=5),
        {"n_neighbors": [5, 1, 3], "p": [1, 2]},
        "k-nearest neighbours, k in {5, 1, 3} x p in {1, 2}",
    ),
    "tree": Recipe(
        DecisionTreeClassifier,
        {"criterion": ["gini", "entropy"], "max_depth": [3, 5, 20]},
        "decision tree, criterion {gini, entropy} x max_depth {3, 5, 20}",
    ),
    "svm": Recipe(
        lambda: SVC(gamma="scale", probability=True),
        {"kernel": ["linear", "rbf"], "C": [1, 10, 100]},
        "SVM, kernel {linear, rbf} x C {1, 10, 100}; Platt-scaled probabilities",
    ),
    "mlp": Recipe(
        lambda: MLPClassifier(
            hidden_layer_sizes=(100, 100), max_iter=300, learning_rate="adaptive", early_stopping=True
        ),
        {"learning_rate_init": [0.001, 0.01, 0.1]},
        "MLP (100, 100) with early stopping, learning_rate_init {0.001, 0.01, 0.1}",
    ),
    "rf": Recipe(
        lambda: RandomForestClassifier(max_depth=10),
        {"max_depth": [3, 5, 10], "min_samples_split": [2, 5, 10]},
        "random forest (100 trees), max_depth {3, 5, 10} x min_samples_split {2, 5, 10}",
    ),
    "xgboost": Recipe(
        _xgb_classifier,
        {"max_depth": [3, 5, 10]},
        "XGBoost, max_depth {3, 5, 10}",
        requires=("xgboost",),
    ),
}


class TunedClassifier(TunedBaseline):
    """Fits on the training labels re-coded 0..m-1 (XGBoost needs contiguous labels when a class is
    missing from the training rows) and maps every answer back to the task's class codes."""

    kind = "classification"
    default_scale = True  # the paper standardized (X_norm) for its classification baselines
    metric = ValidationMetric("accuracy", accuracy_score, higher_is_better=True)

    def _fit_target(self, y_train: np.ndarray, data: FitData) -> np.ndarray:
        codes = np.asarray(y_train, dtype=int)
        self.n_classes_ = data.n_classes or int(codes.max()) + 1
        self.train_classes_ = np.unique(codes)
        return np.searchsorted(self.train_classes_, codes)

    def _predict_target(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        return self.train_classes_[np.asarray(estimator.predict(X), dtype=int)]

    def _predictions(self, X: np.ndarray) -> Predictions:
        y_pred = self._predict_target(self.estimator_, X)
        if not hasattr(self.estimator_, "predict_proba"):
            return Predictions(y_pred=y_pred)
        proba = np.zeros((len(X), self.n_classes_))
        columns = self.train_classes_[np.asarray(self.estimator_.classes_, dtype=int)]
        # XGBoost answers in float32, whose rows sum to 1 only within ~1e-7; scikit-learn's scores
        # then warn that they do not sum to one. Rows renormalised in float64 sum to 1 exactly enough.
        given = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        proba[:, columns] = given / given.sum(axis=1, keepdims=True)
        return Predictions(y_pred=y_pred, proba=proba)
