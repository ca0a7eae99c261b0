"""Training: fit the pipeline and record the run in MLflow (params, data, code version, metrics,
model), so any result can be traced back to what produced it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib.metadata import version

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from . import audit
from .config import Params
from .data import feature_types, load_training_data
from .evaluate import score
from .features import SKOPS_TRUSTED_TYPES, build_pipeline
from .importance import log_importance
from .reference import build_reference, log_reference
from .tracking import configure_tracking, git_commit

# The libraries a loaded model needs. Naming them skips MLflow's requirement inference, which
# imports the model in a subprocess and adds about 4 seconds to every run.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "pandas", "numpy", "skops")


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    metrics: dict[str, float]
    fingerprint: str
    model_uri: str


def train(params: Params) -> TrainResult:
    """Train on the training split, score on the test split, and log it all as one MLflow run."""
    data = load_training_data(params)
    parts = data.split
    experiment_id = configure_tracking(params)
    commit = git_commit()

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({**flat_params(params), "data_fingerprint": data.fingerprint})
        mlflow.set_tags({"data_fingerprint": data.fingerprint, "primary_metric": params.metric})
        if commit is not None:
            mlflow.set_tag("git_commit", commit)
        log_training_data(data.frame, params, data.fingerprint)

        types = feature_types(parts.x_train)
        model = build_pipeline(params, types).fit(parts.x_train, parts.y_train)
        metrics = score(model, params.task, parts.x_test, parts.y_test)
        mlflow.log_metrics(metrics)
        # Level 4: what monitoring compares served inputs and outputs with (reference.py). The
        # outputs are the holdout's: on its own training rows a forest predicts unusually well.
        holdout_predictions = model.predict(parts.x_test)
        log_reference(build_reference(parts.x_train, types, holdout_predictions, params.data.seed))
        log_importance(model, parts.x_test, parts.y_test, params)  # level 4: per trained model

        model_info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=model_signature(types, model.predict(parts.x_train)),
            input_example=parts.x_train.head(5),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=[f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS],
        )
    audit.record(
        "train",
        params,
        run_id=run.info.run_id,
        metrics=metrics,
        data_fingerprint=data.fingerprint,
        git_commit=commit,
    )
    return TrainResult(run.info.run_id, metrics, data.fingerprint, model_info.model_uri)


def model_signature(types: dict[str, str], predictions: np.ndarray) -> ModelSignature:
    """The input columns and their types, and the output type: what the model takes and gives.

    Every feature is marked required, whether or not the training data had gaps in it: the
    columns a client must send stay the same from one training run to the next. A value may
    still be missing (NaN here, null in a request to the service); the pipeline fills it in.
    """
    inputs = Schema([ColSpec(kind, name) for name, kind in types.items()])
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values; our integers are the
        # predicted classes, which are never missing.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        outputs = infer_signature(predictions).inputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def flat_params(params: Params) -> dict[str, object]:
    """params.yaml as flat MLflow params: {"data.seed": 42, "model.n_estimators": 100, ...}."""
    flat: dict[str, object] = {}
    for key, value in params.model_dump(mode="json").items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": inner_value for inner, inner_value in value.items()})
        else:
            flat[key] = value
    return flat


def log_training_data(df: pd.DataFrame, params: Params, data_fingerprint: str) -> None:
    """Log the training data as the run's dataset input, with our fingerprint as its digest."""
    is_csv = params.data.source == "csv"
    with warnings.catch_warnings():
        # MLflow registers its local-file source twice and warns that a file path is ambiguous.
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        # An integer target column gets a hint about missing values, which targets cannot have.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        dataset = from_pandas(
            df,
            # None (a bundled dataset) is MLflow's own default, which its type hint omits.
            source=str(params.data.path) if is_csv else None,  # type: ignore[arg-type]
            targets=params.data.target,
            name=params.data.path.name if params.data.path else params.data.source,
            # MLflow stores at most 36 characters of digest; 16 identify the data well enough.
            digest=data_fingerprint[:16],
        )
        mlflow.log_input(dataset, context="training")
