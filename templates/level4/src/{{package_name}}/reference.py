"""The drift reference: statistics of the training data and the model's output, kept with the model.

Training summarizes each feature of the training split (numbers: range, quantile bin edges and
counts, a bounded sample; categories: their counts) and the model's predictions on it, and logs
the result as `reference_statistics.json`, an artifact of the MLflow run. Monitoring reads that
artifact from the champion's run: it never reloads the training data, and it always compares
with the data the served model actually learned from.

MLflow is imported by the functions that use it: importing it takes a second or two, which
`monitor` spends while its HTML report process starts (monitor.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import drift_statistics
from .config import Params, UserError

ARTIFACT = "reference_statistics.json"
PREDICTION = "prediction"  # the key of the model's output, next to the features


def build_reference(
    x_train: pd.DataFrame, types: dict[str, str], holdout_predictions: np.ndarray, seed: int
) -> dict:
    """Summaries of every training feature, and of the model's output on the holdout."""
    # Imported here: data.py imports scikit-learn, which monitoring (load_reference) never needs.
    from .data import NUMBER

    features = {
        name: summarize(x_train[name], kind == NUMBER, seed) for name, kind in types.items()
    }
    output = pd.Series(holdout_predictions)
    return {
        "rows": len(x_train),
        "features": features,
        PREDICTION: summarize(output, pd.api.types.is_float_dtype(output), seed),
    }


def summarize(column: pd.Series, numeric: bool, seed: int) -> dict:
    """A numeric column is binned and sampled; anything else (text, class labels) is counted."""
    if numeric:
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        rng = np.random.default_rng(seed)
        sample = rng.permutation(values)[: drift_statistics.REFERENCE_SAMPLE_ROWS]
        return drift_statistics.summarize_numbers(values, sample)
    # Class labels such as 0 and 1 are categories: compared as text, as logged labels will be.
    return drift_statistics.summarize_categories(column.astype(object).where(column.notna()))


def log_reference(reference: dict) -> None:
    """Attach the reference to the active MLflow run."""
    import mlflow

    mlflow.log_dict(reference, ARTIFACT)


def load_reference(params: Params) -> tuple[dict, str]:
    """The champion's reference and its model version; a UserError says how to get one."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from .registry import get_champion
    from .tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(params))
    # A progress bar for one small JSON file is noise in a scheduled job's log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    champion = get_champion(params)
    command = f"python -m {__package__} pipeline"
    if champion is None or champion.run_id is None:
        raise UserError(
            f"No champion model yet, so there is no drift reference. Fix: run `{command}`."
        )
    try:
        path = MlflowClient().download_artifacts(champion.run_id, ARTIFACT)
    except (MlflowException, OSError):
        raise UserError(
            f"The champion (version {champion.version}) has no {ARTIFACT}: it was trained before "
            f"level 4 saved drift references. Fix: train and promote a new model (`{command}`)."
        ) from None
    return json.loads(Path(path).read_text(encoding="utf-8")), str(champion.version)
