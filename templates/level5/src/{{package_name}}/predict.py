"""Batch scoring: the model of a tracked run predicts every row of a CSV file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from .config import Params, UserError
from .data import as_model_input
from .tracking import configure_tracking, latest_run_id


@dataclass(frozen=True)
class PredictResult:
    run_id: str
    rows: int
    output: Path


def predict_csv(
    params: Params, input_path: Path, output_path: Path, run_id: str | None = None
) -> PredictResult:
    """Score every row of `input_path` with the model of `run_id` (default: the latest run).

    The output is the input with a `prediction` column added and, for classification, one
    `probability_<class>` column per class.
    """
    rows = read_rows(input_path)
    experiment_id = configure_tracking(params)
    run_id = run_id or latest_run_id(experiment_id)
    model = load_run_model(run_id)
    types = signature_types(run_id)
    x = feature_matrix(rows, types, target=params.data.target, source=input_path.name)

    scored = rows.copy()
    scored["prediction"] = model.predict(x)
    # Asked of the model, not of params.yaml: the run may predate a change of task there.
    if is_classifier(model):
        for label, column in zip(model.classes_, model.predict_proba(x).T, strict=True):
            scored[f"probability_{label}"] = column
    try:
        scored.to_csv(output_path, index=False)
    except OSError as error:
        raise UserError(
            f"Cannot write {output_path} ({error.strerror}). Fix: pass another --output."
        ) from None
    return PredictResult(run_id, len(scored), output_path)


def read_rows(path: Path) -> pd.DataFrame:
    """The rows to score, or a UserError saying why the file cannot be read."""
    if not path.is_file():
        raise UserError(f"No CSV file at {path}. Fix: give the path of the rows to score.")
    try:
        rows = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not a readable CSV file ({error}).") from None
    if rows.empty:
        raise UserError(f"{path} has a header but no rows. Fix: add the rows to score.")
    return rows


def load_run_model(run_id: str) -> Pipeline:
    """The fitted Pipeline that run `run_id` logged as "model"."""
    try:
        return mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    except MlflowException as error:
        raise UserError(
            f"Cannot load the model of run {run_id} ({error.message}). "
            "Fix: pass the id of a run that `train` logged (see `ui`)."
        ) from None


def signature_types(run_id: str) -> dict[str, str]:
    """The features of run `run_id`'s model and their types, in training order (its signature)."""
    signature = mlflow.models.get_model_info(f"runs:/{run_id}/model").signature
    return {column.name: column.type.name for column in signature.inputs.inputs}


def feature_matrix(
    rows: pd.DataFrame, types: dict[str, str], target: str, source: str
) -> pd.DataFrame:
    """The model's input: exactly the training features, typed as in training, in training order.

    `types` maps each feature to its type, as the model's signature recorded it. The target
    column may be present (rows taken from the training data) and is ignored.
    """
    given = [column for column in rows.columns if column != target]
    missing = [column for column in types if column not in given]
    unexpected = [column for column in given if column not in types]
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"lacks the column(s) {quoted(missing)} the model was trained on")
        if unexpected:
            problems.append(f"has column(s) {quoted(unexpected)} the model does not know")
        raise UserError(
            f"{source} {' and '.join(problems)}. "
            "Fix: give exactly the training feature columns (in any order)."
        )
    return as_model_input(rows, types, source)


def quoted(columns: list[str]) -> str:
    return ", ".join(f"'{column}'" for column in columns)
