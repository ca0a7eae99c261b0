"""Live evidence for level 5's decisions: the labelled predictions of one model version, as losses.

The canary decision (canary.py) and the automatic rollback (rollback.py) both judge a model on what
it really answered, once the true labels arrived through /feedback (feedback.py). A label joins
its prediction by request id and row; the prediction names the model version that made it, so one
version's rows are selected by that version, whatever the service calls its role. Rows the service
scored in shadow (a `role` column of `shadow`, where the log has one) were never returned to a
client: they are left out, so a version's live rows are the ones it answered.

Each labelled row becomes one number, its loss, lower is better:
- classification: 1 when the prediction was wrong, 0 when right (so the mean loss is the error
  rate, 1 - accuracy), whichever primary metric the project reports. F1 and ROC AUC are not means
  of per-row values, so no per-row test exists for them; accuracy is what live rows can test;
- regression: the squared error (rmse and r2 are functions of its mean) or, when the primary metric
  is mae, the absolute error.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .config import Params, prediction_log_url
from .feedback import labels as labels_table
from .feedback import metadata as labels_metadata
from .prediction_log import make_engine

SHADOW = "shadow"  # the role of a row scored off the request path, never returned


LOSS_WORDS = {
    "error": "error rate (1 - accuracy)",
    "squared": "squared error",
    "absolute": "absolute error",
}


def loss_kind(params: Params) -> str:
    """Which loss a row gets: "error" (classification), "absolute" (mae) or "squared"."""
    if params.task == "classification":
        return "error"
    return "absolute" if params.metric == "mae" else "squared"


def row_losses(params: Params, predictions: list, labels: list) -> np.ndarray:
    """One loss per labelled row (see the module docstring)."""
    kind = loss_kind(params)
    if kind == "error":
        wrong = [not same_class(p, y) for p, y in zip(predictions, labels, strict=True)]
        return np.asarray(wrong, dtype=float)
    errors = np.asarray(predictions, dtype=float) - np.asarray(labels, dtype=float)
    return np.abs(errors) if kind == "absolute" else errors**2


def same_class(prediction: object, label: object) -> bool:
    """A label sent as text ("1") names the same class as a logged number (1)."""
    return prediction == label or str(prediction) == str(label)


def labelled_rows(params: Params, version: str, since: datetime | None = None) -> pd.DataFrame:
    """The labelled predictions `version` answered (made at or after `since`), oldest first.

    Columns: request_id, row, created_at (UTC), prediction, label. Empty when there are none.
    """
    engine = make_engine(prediction_log_url(params))
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table("predictions"):
            return pd.DataFrame(columns=["request_id", "row", "created_at", "prediction", "label"])
        if not inspector.has_table(labels_table.name):
            labels_metadata.create_all(engine)
        # Reflected, not imported: the log may carry columns this code does not know (`role`).
        logged = sa.Table("predictions", sa.MetaData(), autoload_with=engine)
        query = (
            sa.select(
                logged.c.request_id,
                logged.c.row,
                logged.c.created_at,
                logged.c.prediction,
                labels_table.c.label,
            )
            .join(
                labels_table,
                sa.and_(
                    labels_table.c.request_id == logged.c.request_id,
                    labels_table.c.row == logged.c.row,
                ),
            )
            .where(logged.c.model_version == str(version))
            .order_by(logged.c.created_at, logged.c.id)
        )
        if "role" in logged.c:
            query = query.where(sa.or_(logged.c.role.is_(None), logged.c.role != SHADOW))
        if since is not None:
            query = query.where(logged.c.created_at >= since)
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
    finally:
        engine.dispose()
    frame = pd.DataFrame(
        [dict(row) for row in rows],
        columns=["request_id", "row", "created_at", "prediction", "label"],
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def live_losses(params: Params, version: str, since: datetime | None = None) -> np.ndarray:
    """The losses of `version`'s labelled live rows since `since` (see labelled_rows)."""
    rows = labelled_rows(params, version, since)
    return row_losses(params, rows["prediction"].tolist(), rows["label"].tolist())


def holdout_losses(params: Params, version: str) -> np.ndarray:
    """The losses of `version` on the training holdout: how often (how much) it errs there."""
    import mlflow

    from .promotion import load_holdout
    from .registry import version_uri
    from .tracking import configure_tracking

    configure_tracking(params)
    holdout = load_holdout(params)
    model = mlflow.sklearn.load_model(version_uri(params, version))
    predictions = np.asarray(model.predict(holdout.x)).tolist()
    return row_losses(params, predictions, holdout.y.tolist())
