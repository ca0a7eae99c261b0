"""Ground-truth labels for served predictions, joined to them by request id.

The true outcome of a prediction is often known days later (did the customer churn?). A label
names the prediction it belongs to by the `request_id` the service answered with, and by `row`,
the row's position in a batch (0 for a single /predict). Labels arrive through

    POST /feedback                {"labels": [{"request_id": "...", "row": 0, "label": ...}, ...]}
    python -m <package> feedback labels.csv     columns request_id, label and optionally row

and are stored in a `labels` table next to the prediction log (same database), so the
performance report (performance.py) can join them to the logged predictions. A label for a
request id that is not in the log is refused, with all the labels sent alongside it: a typo in an
id would otherwise be a label that silently never counts. A second label for the same row
replaces the first (a corrected outcome).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from .config import UserError
from .prediction_log import make_engine, predictions

logger = logging.getLogger(__name__)

metadata = sa.MetaData()

labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    # JSON, like the logged prediction, so a label compares with it value for value.
    sa.Column("label", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("request_id", "row", name="one_label_per_prediction"),
)

SHOWN_UNKNOWN = 5  # unknown request ids named in an error message


@dataclass(frozen=True)
class Label:
    request_id: str
    row: int
    label: object  # a class as trained (text or number), or a number for regression


class UnknownPredictions(UserError):
    """Some labels name predictions that are not in the log."""

    def __init__(self, unknown: list[tuple[str, int]]) -> None:
        self.unknown = unknown
        named = ", ".join(f"{request_id} row {row}" for request_id, row in unknown[:SHOWN_UNKNOWN])
        more = f" and {len(unknown) - SHOWN_UNKNOWN} more" if len(unknown) > SHOWN_UNKNOWN else ""
        super().__init__(
            f"{len(unknown)} label(s) name no logged prediction ({named}{more}); nothing was "
            "recorded. Fix: use the request_id (and row, for a batch) the service answered with."
        )


class LabelStore:
    """Reads and writes the labels table in the prediction log's database."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        # The predictions table too: labels can be sent before the service logged anything.
        predictions.create(self.engine, checkfirst=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def unknown(self, batch: list[Label]) -> list[tuple[str, int]]:
        """The (request_id, row) pairs of `batch` that the prediction log does not hold."""
        wanted = {(item.request_id, item.row) for item in batch}
        query = sa.select(predictions.c.request_id, predictions.c.row).where(
            predictions.c.request_id.in_(sorted({request_id for request_id, _ in wanted}))
        )
        with self.engine.connect() as connection:
            logged = {(request_id, row) for request_id, row in connection.execute(query)}
        return sorted(wanted - logged)

    def record(self, batch: list[Label]) -> int:
        """Store `batch` in one transaction, all or nothing; a label replaces an earlier one."""
        unknown = self.unknown(batch)
        if unknown:
            raise UnknownPredictions(unknown)
        now = datetime.now(UTC)
        latest = {(item.request_id, item.row): item for item in batch}  # the last one sent wins
        replaced = sa.tuple_(labels.c.request_id, labels.c.row).in_(list(latest))
        with self.engine.begin() as connection:
            connection.execute(labels.delete().where(replaced))
            connection.execute(
                labels.insert(),
                [
                    {"request_id": i.request_id, "row": i.row, "label": i.label, "received_at": now}
                    for i in latest.values()
                ],
            )
        audit_feedback(len(latest), len({item.request_id for item in latest.values()}))
        return len(latest)


def audit_feedback(labels: int, requests: int) -> None:
    """Note the labels in the audit trail (audit.py), where the project has one.

    The labels are stored by then, so a failing audit write is logged, not raised: the client's
    labels must not be refused after they were kept.
    """
    try:
        from . import audit
    except ImportError:
        return
    try:
        audit.record("feedback", labels=labels, requests=requests)
    except Exception:
        logger.exception("labels stored, but the audit trail could not record them")


def read_labelled(url: str) -> pd.DataFrame:
    """Every logged prediction with its label where one arrived (label is None elsewhere).

    Columns: request_id, row, model_version, created_at, prediction, label, then one column per
    feature. Empty when nothing was logged.
    """
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table(predictions.name):
            return pd.DataFrame()
        if not inspector.has_table(labels.name):
            metadata.create_all(engine)
        joined = predictions.outerjoin(
            labels,
            sa.and_(
                labels.c.request_id == predictions.c.request_id, labels.c.row == predictions.c.row
            ),
        )
        query = (
            sa.select(predictions, labels.c.label)
            .select_from(joined)
            .order_by(predictions.c.created_at, predictions.c.id)
        )
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
    finally:
        engine.dispose()
    if not rows:
        return pd.DataFrame()
    keys = ["request_id", "row", "model_version", "created_at", "prediction", "label"]
    meta = pd.DataFrame({key: [row[key] for row in rows] for key in keys})
    meta["created_at"] = pd.to_datetime(meta["created_at"], utc=True)
    inputs = pd.DataFrame.from_records([row["inputs"] for row in rows])
    return pd.concat([meta, inputs], axis=1)


def labels_from_csv(path: Path, task: str) -> list[Label]:
    """The labels of a CSV file with columns request_id, label and optionally row (default 0)."""
    try:
        table = pd.read_csv(path, dtype={"request_id": str})
    except FileNotFoundError:
        raise UserError(f"No labels file at {path}. Fix: give the path of a CSV file.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not a readable CSV file ({error}).") from None
    missing = [column for column in ("request_id", "label") if column not in table.columns]
    if missing:
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)}. Fix: write a header line "
            "`request_id,row,label` (row is optional: 0 for a single-row request)."
        )
    if table.empty:
        raise UserError(f"{path} holds no labels. Fix: add one line per labelled prediction.")
    if table[["request_id", "label"]].isna().any().any():
        raise UserError(f"{path} has an empty request_id or label. Fix: fill in every line.")
    rows = table["row"] if "row" in table.columns else pd.Series(0, index=table.index)
    if rows.isna().any() or not pd.api.types.is_integer_dtype(rows) or (rows < 0).any():
        raise UserError(f"{path}: row must be a whole number >= 0 on every line.")
    values = table["label"]
    if task == "regression":
        values = pd.to_numeric(values, errors="coerce")
        if values.isna().any():
            raise UserError(f"{path}: every label must be a number for a regression model.")
    return [
        Label(str(request_id), int(row), label)
        for request_id, row, label in zip(table["request_id"], rows, values.tolist(), strict=True)
    ]
