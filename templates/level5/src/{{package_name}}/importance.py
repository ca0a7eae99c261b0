"""Permutation importance: how much the primary metric drops when one feature's values are shuffled.

Computed on the holdout for every trained model and logged with its run (so with every registered
version): a JSON artifact `importance.json` and one metric per feature.
It works on the whole Pipeline, so it ranks the columns a client sends, not encoded ones. The cost
is bounded: `importance.n_repeats` shuffles per feature over at most `importance.max_rows` rows,
that is n_repeats x features predictions of that many rows (breast_cancer: 5 x 30 on 114 rows).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass

import mlflow
import pandas as pd
from sklearn.inspection import permutation_importance

from .config import Params

ARTIFACT = "importance.json"

# scikit-learn's scorer for each primary metric: greater is better for all of them.
SCORERS = {
    "f1": "f1_macro",
    "accuracy": "accuracy",
    "roc_auc": "roc_auc_ovr",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


@dataclass
class FeatureImportance:
    feature: str
    mean: float  # drop of the primary metric when the feature is shuffled (larger = more used)
    std: float  # spread across the shuffles


@dataclass
class ImportanceReport:
    metric: str
    rows: int
    n_repeats: int
    seconds: float
    features: list[FeatureImportance]  # most important first

    def as_dict(self) -> dict:
        return asdict(self)


def compute_importance(model, x: pd.DataFrame, y: pd.Series, params: Params) -> ImportanceReport:
    """Permutation importance of `model` on the rows `x`, sampled down to importance.max_rows."""
    settings = params.importance
    if len(x) > settings.max_rows:
        x = x.sample(settings.max_rows, random_state=params.data.seed)
        y = y.loc[x.index]
    started = time.perf_counter()
    result = permutation_importance(
        model,
        x,
        y,
        scoring=SCORERS[params.metric],
        n_repeats=settings.n_repeats,
        random_state=params.data.seed,
    )
    features = [
        FeatureImportance(str(name), float(mean), float(std))
        for name, mean, std in zip(
            x.columns, result.importances_mean, result.importances_std, strict=True
        )
    ]
    features.sort(key=lambda feature: feature.mean, reverse=True)
    seconds = time.perf_counter() - started
    return ImportanceReport(params.metric, len(x), settings.n_repeats, seconds, features)


def log_importance(model, x: pd.DataFrame, y: pd.Series, params: Params) -> ImportanceReport:
    """Compute the importance and log it to the active MLflow run."""
    report = compute_importance(model, x, y, params)
    mlflow.log_dict(report.as_dict(), ARTIFACT)
    # MLflow metric names allow letters, digits, spaces and _-./ only; a CSV header may hold more.
    mlflow.log_metrics({metric_name(item.feature): item.mean for item in report.features})
    mlflow.log_metric("importance.seconds", report.seconds)
    return report


def metric_name(feature: str) -> str:
    """`importance.<feature>`, with characters MLflow refuses in a metric name made `_`."""
    return "importance." + re.sub(r"[^\w\-./ ]", "_", feature)


def load_importance(run_id: str) -> dict:
    """The importance a run logged (for the model card): the JSON artifact as a dict."""
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{ARTIFACT}")
