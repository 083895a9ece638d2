"""Difficulty features of a task, by name: `featurize(task, runtime)` runs them and meters their cost."""
from . import size, likelihood, loo, consistency, learnability  # noqa: F401  (importing registers the features)
from .registry import FEATURES, Features, FeatureSpec, Metered, feature_columns, featurize, register

__all__ = ["FEATURES", "Features", "FeatureSpec", "Metered", "feature_columns", "featurize", "register"]
