"""Classical baselines behind the `Method` protocol; importing the package registers them all."""

from baselines.classification import CLASSIFIERS, TunedClassifier
from baselines.regression import REGRESSORS, TunedRegressor
from baselines.tuning import register_baselines

register_baselines({TunedClassifier: CLASSIFIERS, TunedRegressor: REGRESSORS})
