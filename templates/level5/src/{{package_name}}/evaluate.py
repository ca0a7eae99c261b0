"""Evaluation: the metrics of a model on the held-out data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn import metrics
from sklearn.pipeline import Pipeline

from .config import Params, UserError
from .data import load_training_data
from .tracking import configure_tracking, latest_run_id


def compute_metrics(
    task: str,
    y_true: Sequence,
    y_pred: Sequence,
    y_score: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of the task. `y_score` is `predict_proba` output, needed for roc_auc."""
    if task == "regression":
        return {
            "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
            "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
            "r2": float(metrics.r2_score(y_true, y_pred)),
        }
    scores = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        # Macro F1 weighs every class equally and works for two classes or more.
        "f1": float(metrics.f1_score(y_true, y_pred, average="macro")),
    }
    if y_score is not None:
        y_score = np.asarray(y_score)
        if y_score.ndim == 2 and y_score.shape[1] == 2:
            y_score = y_score[:, 1]  # binary: the probability of the second (positive) class
        scores["roc_auc"] = float(metrics.roc_auc_score(y_true, y_score, multi_class="ovr"))
    return scores


def score(model: Pipeline, task: str, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Every metric of the task for `model` on the rows `x` with true values `y`."""
    y_score = model.predict_proba(x) if task == "classification" else None
    return compute_metrics(task, y, model.predict(x), y_score)


@dataclass(frozen=True)
class EvaluationResult:
    run_id: str
    metrics: dict[str, float]
    same_data: bool  # False when the data changed since the run trained (another fingerprint)


def evaluate_run(params: Params, run_id: str | None = None) -> EvaluationResult:
    """Load the model of `run_id` (default: the latest run) and score it on the test split."""
    data = load_training_data(params)
    experiment_id = configure_tracking(params)
    run_id = run_id or latest_run_id(experiment_id)
    try:
        run = MlflowClient().get_run(run_id)
        model = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    except MlflowException as error:
        raise UserError(
            f"Cannot load the model of run {run_id} ({error.message}). "
            "Fix: pass the id of a run that `train` logged (see `ui`)."
        ) from None
    return EvaluationResult(
        run_id=run_id,
        metrics=score(model, params.task, data.split.x_test, data.split.y_test),
        same_data=run.data.tags.get("data_fingerprint") == data.fingerprint,
    )
