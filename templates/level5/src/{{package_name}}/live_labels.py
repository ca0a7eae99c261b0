"""Live evidence for level 5's decisions: the labelled predictions of one model version.

The canary decision (canary.py) and the automatic rollback (rollback.py) both judge a model on what
it really answered, once the true labels arrived through /feedback (feedback.py). A label joins
its prediction by request id and row; the prediction names the model version that made it, so one
version's rows are selected by that version, whatever the service calls its role. Rows the service
scored in shadow (a `role` column of `shadow`, where the log has one) were never returned to a
client: they are left out, so a version's live rows are the ones it answered.

Both judge the primary metric on a version's rows (live_rows, rows_of): labels and predictions,
and for roc_auc each row's class probabilities. The prediction log keeps the answer, not the
probabilities, but it keeps the inputs, and a registered version is a fixed model: scoring the
logged inputs again with that version gives the probabilities it had when it answered.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .config import Params, prediction_log_url
from .feedback import labels as labels_table
from .feedback import metadata as labels_metadata
from .live_statistics import Rows
from .prediction_log import make_engine

SHADOW = "shadow"  # the role of a row scored off the request path, never returned
COLUMNS = ["request_id", "row", "created_at", "inputs", "prediction", "label"]


def labelled_rows(params: Params, version: str, since: datetime | None = None) -> pd.DataFrame:
    """The labelled predictions `version` answered (made at or after `since`), oldest first.

    Columns: request_id, row, created_at (UTC), inputs, prediction, label; empty when none.
    """
    engine = make_engine(prediction_log_url(params))
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table("predictions"):
            return pd.DataFrame(columns=COLUMNS)
        if not inspector.has_table(labels_table.name):
            labels_metadata.create_all(engine)
        # Reflected, not imported: the log may carry columns this code does not know (`role`).
        logged = sa.Table("predictions", sa.MetaData(), autoload_with=engine)
        query = (
            sa.select(
                logged.c.request_id,
                logged.c.row,
                logged.c.created_at,
                logged.c.inputs,
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
    frame = pd.DataFrame([dict(row) for row in rows], columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def live_rows(params: Params, version: str, since: datetime | None = None) -> Rows:
    """`version`'s labelled live rows since `since`, with what the primary metric needs."""
    return rows_of(params, version, labelled_rows(params, version, since))


def rows_of(params: Params, version: str, frame: pd.DataFrame) -> Rows:
    """Labelled rows of `version` (a frame of labelled_rows), with what the primary metric needs."""
    scores: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    if params.metric == "roc_auc":
        inputs = pd.DataFrame(frame["inputs"].tolist())
        scores, classes = class_probabilities(params, version, inputs)
    return as_rows(params, frame["label"].tolist(), frame["prediction"].tolist(), scores, classes)


def holdout_rows(params: Params, version: str) -> Rows:
    """`version`'s rows on the training holdout, with what the primary metric needs."""
    from .promotion import load_holdout

    holdout = load_holdout(params)
    model = load_version(params, version)
    predictions = np.asarray(model.predict(holdout.x)).tolist()
    scores: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    if params.metric == "roc_auc":
        scores, classes = class_probabilities(params, version, holdout.x, model)
    return as_rows(params, holdout.y.tolist(), predictions, scores, classes)


def as_rows(
    params: Params, labels: list, predictions: list, scores: np.ndarray | None, classes: tuple
) -> Rows:
    if params.task == "classification":  # as text: a label "1" names the class logged as 1
        truth = np.asarray([str(label) for label in labels], dtype=object)
        predicted = np.asarray([str(prediction) for prediction in predictions], dtype=object)
        return Rows(truth, predicted, scores, classes)
    return Rows(np.asarray(labels, dtype=float), np.asarray(predictions, dtype=float))


def class_probabilities(
    params: Params, version: str, inputs: pd.DataFrame, model=None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(each row's probability of each class, the classes as text) from `version`'s model."""
    model = model if model is not None else load_version(params, version)
    classes = tuple(str(label) for label in model.classes_)
    if inputs.empty:
        return np.empty((0, len(classes))), classes
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        inputs = inputs[list(names)]
    return np.asarray(model.predict_proba(inputs), dtype=float), classes


def load_version(params: Params, version: str):
    import mlflow

    from .registry import version_uri
    from .tracking import configure_tracking

    configure_tracking(params)
    return mlflow.sklearn.load_model(version_uri(params, version))
