"""The model: one scikit-learn Pipeline, so preprocessing is fitted on training data only and saved
with the estimator."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .config import Params

ESTIMATORS = {"classification": RandomForestClassifier, "regression": RandomForestRegressor}

# Types inside a fitted Pipeline that skops (MLflow's safe model format) does not trust by default.
# They are scikit-learn's own tree structures; we trust them because we trained the model ourselves.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def build_pipeline(params: Params) -> Pipeline:
    """Impute missing values, scale, then fit a random forest for the task."""
    estimator = ESTIMATORS[params.task](
        n_estimators=params.model.n_estimators,
        max_depth=params.model.max_depth,
        random_state=params.data.seed,
    )
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("model", estimator),
        ]
    )
