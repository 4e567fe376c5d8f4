"""The paper's regression baselines (lift-spec.md §6.2), tuned on validation RMSE.

Base estimators and grids are the paper's, with its names set right: `gbt` is scikit-learn's
GradientBoostingRegressor (the paper's "xg"/"XGBoost"), and `xgboost` is a real XGBRegressor with
the classification grid. Seeds come from `FitData.seed` (the paper fixed random_state=0 or 1).

Scaling: the paper's regression baselines saw raw features, and their grids (KRR's gamma, the GP's
length scale) are sized for raw units, so `scale=False` is the regression default; `scale=True`
standardizes with a scaler fitted on the training rows only. It changes the answers of the
distance- and gradient-based learners (knn, krr, mlp, gp), not of the trees (gbt, rf, xgboost).
`FitInfo.extra` records which was used.

`std`: `gp` gives its posterior predictive std (without the `alpha` noise term); `rf` gives the
spread (std) of its trees' predictions, a measure of disagreement rather than a calibrated spread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from baselines.tuning import Recipe, TunedBaseline, ValidationMetric
from benchmark.core.methods import FitData, Predictions


def _xgb_regressor() -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(verbosity=0, n_jobs=1)


def _gp_std(estimator: GaussianProcessRegressor, X: np.ndarray) -> np.ndarray:
    return estimator.predict(X, return_std=True)[1]


def _tree_spread(estimator: RandomForestRegressor, X: np.ndarray) -> np.ndarray:
    return np.std([tree.predict(X) for tree in estimator.estimators_], axis=0)


REGRESSORS: dict[str, Recipe] = {
    "mean": Recipe(lambda: DummyRegressor(strategy="mean"), {}, "the mean training target"),
    "poly": Recipe(
        lambda: make_pipeline(PolynomialFeatures(3), LinearRegression()),
        {},
        "degree-3 polynomial features + least squares (the paper's PR)",
    ),
    "knn": Recipe(KNeighborsRegressor, {"n_neighbors": [2, 5, 8]}, "k-nearest neighbours, k in {2, 5, 8}"),
    "krr": Recipe(
        lambda: KernelRidge(kernel="rbf", alpha=1),
        {"gamma": [0.01, 0.1, 1]},
        "RBF kernel ridge, alpha 1, gamma {0.01, 0.1, 1}",
    ),
    "mlp": Recipe(
        lambda: MLPRegressor(hidden_layer_sizes=(50, 50, 50), max_iter=500),
        {"learning_rate_init": [1e-2, 1e-3, 1e-4]},
        "MLP (50, 50, 50), learning_rate_init {1e-2, 1e-3, 1e-4}",
    ),
    "gbt": Recipe(
        lambda: GradientBoostingRegressor(
            n_estimators=500, max_depth=4, min_samples_split=5, loss="squared_error"
        ),
        {"learning_rate": [0.1, 0.01, 0.001]},
        "gradient-boosted trees (scikit-learn, 500 x depth 4; the paper's 'XGBoost'), lr {0.1, 0.01, 0.001}",
    ),
    "rf": Recipe(
        lambda: RandomForestRegressor(n_estimators=500),
        {"max_depth": [4, 6]},
        "random forest (500 trees), max_depth {4, 6}; std = spread of the trees",
        std=_tree_spread,
    ),
    "xgboost": Recipe(
        _xgb_regressor, {"max_depth": [3, 5, 10]}, "XGBoost, max_depth {3, 5, 10}", requires=("xgboost",)
    ),
    "gp": Recipe(
        lambda: GaussianProcessRegressor(
            kernel=ConstantKernel(1.41**2) * RBF(length_scale=0.1), alpha=0.16, normalize_y=False
        ),
        {"n_restarts_optimizer": [5, 10]},
        "Gaussian process, 1.41^2 * RBF(0.1), alpha 0.16, restarts {5, 10}; posterior std",
        std=_gp_std,
    ),
}


class TunedRegressor(TunedBaseline):
    kind = "regression"
    default_scale = False  # the paper's grids (e.g. KRR's gamma) are for raw inputs
    metric = ValidationMetric("rmse", root_mean_squared_error, higher_is_better=False)

    def _fit_target(self, y_train: np.ndarray, data: FitData) -> np.ndarray:
        return np.asarray(y_train, dtype=float)

    def _predict_target(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        return np.asarray(estimator.predict(X), dtype=float)

    def _predictions(self, X: np.ndarray) -> Predictions:
        spread = self.recipe.std
        return Predictions(
            y_pred=self._predict_target(self.estimator_, X),
            std=None if spread is None else np.asarray(spread(self.estimator_, X), dtype=float),
        )
