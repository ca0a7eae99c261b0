"""The model: one scikit-learn Pipeline, so preprocessing is fitted on training data only and saved
with the estimator."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .config import Params
from .data import TEXT

ESTIMATORS = {"classification": RandomForestClassifier, "regression": RandomForestRegressor}

# Types inside a fitted Pipeline that skops (MLflow's safe model format) does not trust by default.
# They are scikit-learn's own tree structures and the categories' dtype; we trust them because we
# trained the model ourselves.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def build_pipeline(params: Params, feature_types: dict[str, str]) -> Pipeline:
    """Prepare numbers and text categories apart, then fit a random forest for the task.

    `feature_types` maps each feature, in column order, to its type (data.feature_types).
    """
    positions = list(range(len(feature_types)))
    kinds = list(feature_types.values())
    text = [position for position in positions if kinds[position] == TEXT]
    numbers = [position for position in positions if position not in text]
    prepare = ColumnTransformer(
        [
            # A missing number becomes the column's training median. Forests split on thresholds,
            # so the numbers need no scaling.
            ("numbers", SimpleImputer(strategy="median"), numbers),
            # One 0/1 column per category seen in training. A missing value is a category of its
            # own (often telling: "no plan given"), and a category never seen in training gets
            # zeros everywhere instead of an error.
            ("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text),
        ],
        # Columns are picked by position, not name, so the service can hand the model a plain
        # array: building a one-row DataFrame per request costs more than the forest itself.
    )
    estimator = ESTIMATORS[params.task](
        n_estimators=params.model.n_estimators,
        max_depth=params.model.max_depth,
        random_state=params.data.seed,
    )
    return Pipeline([("prepare", prepare), ("model", estimator)])
