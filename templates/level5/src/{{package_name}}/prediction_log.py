"""The prediction log: every served prediction, stored in a SQL database for monitoring.

One row per prediction: request id, position in the request, model version, the role of that
model (level 5: `champion`, `canary`, or `shadow` for a challenger's answer the client never saw),
timestamp, the inputs (a JSON object keyed by feature name) and the output. SQLite in the project
by default; any SQLAlchemy URL (PostgreSQL, ...) through `PREDICTION_LOG_URL`.

Writes never happen on the request path: the service puts each request on a queue, and a
background thread wakes every `flush_seconds` and inserts everything that piled up in one
transaction. Closing the log drains the queue, so a clean shutdown loses nothing.

SQLAlchemy creates the table and reads the log back; the writer hands plain values straight to
the database driver instead. The writer shares the interpreter (and its GIL) with the service,
so every millisecond it spends in Python is a millisecond a request may wait: SQLAlchemy's
per-row processing took ~20 ms per 1000 logged rows, the driver alone ~5-9.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa

logger = logging.getLogger(__name__)

metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    # Position of the row in its request: 0 for /predict, 0..n-1 for /predict/batch.
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    # Level 5: which model answered (see ROLES). A shadow row shares its request id and row with
    # the champion's, so a join on (request_id, row) must also pick a role or a version.
    sa.Column("role", sa.String(16), nullable=False, server_default="champion"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # JSON keeps the log readable across model versions whose features differ.
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("prediction", sa.JSON, nullable=False),
)

ROLES = ("champion", "canary", "shadow")
WRITE_ATTEMPTS = 3
_STOP = object()  # put on the queue by close()


@dataclass(frozen=True)
class Served:
    """One request as the service hands it over: its rows and their predictions."""

    request_id: str
    model_version: str
    created_at: float  # time.time() when the request was answered
    inputs: np.ndarray  # one row per prediction, columns in `features` order
    predictions: list
    role: str = "champion"  # one of ROLES


def to_json(value: object) -> str:
    """JSON for the log's columns. orjson is several times faster than the json module on rows
    of floats, and writes NaN (a missing optional feature) as null, which JSON allows."""
    return orjson.dumps(value).decode()


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite gets write-ahead logging so readers never block the writer."""
    engine = sa.create_engine(url, json_serializer=to_json)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _use_wal(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    return engine


# The columns the writer fills, in the order of its tuples (the id numbers itself).
WRITTEN_COLUMNS = (
    "request_id", "row", "model_version", "role", "created_at", "inputs", "prediction"
)  # fmt: skip
# Rows per INSERT statement: 500 x 7 values stays far below any driver's limit on values in one
# statement (SQLite's is 32766). Why several rows per statement: the driver lets go of the GIL
# while the database works and takes it back after each statement; with one statement per row
# (plain `executemany`), a busy service thread would hand the GIL back and forth per row.
ROWS_PER_STATEMENT = 500


def driver_insert(dialect: sa.Dialect, rows: int) -> str:
    """An INSERT of `rows` rows in the driver's own SQL: its quoting and its placeholder for a
    value (`?` for sqlite3, `%s` for psycopg and most other drivers)."""
    quote = dialect.identifier_preparer.quote
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(quote(name) for name in WRITTEN_COLUMNS)
    row = "(" + ", ".join([placeholder] * len(WRITTEN_COLUMNS)) + ")"
    return f"INSERT INTO {quote(predictions.name)} ({columns}) VALUES " + ", ".join([row] * rows)


def no_conversion(value: object) -> object:
    return value


class PredictionLog:
    """Collects served predictions and writes them in batches from a background thread."""

    def __init__(self, url: str, features: list[str], flush_seconds: float = 0.2) -> None:
        self.features = list(features)
        self.flush_seconds = flush_seconds
        self.engine = make_engine(url)
        metadata.create_all(self.engine)  # fail at start-up, not at the first request
        add_role_column(self.engine)
        dialect = self.engine.dialect
        self._dialect = dialect
        # A timestamp as SQLAlchemy stores it for this database (SQLite has no datetime type:
        # it gets text), so read_predictions reads back what the driver wrote.
        created_at_type = predictions.c.created_at.type.dialect_impl(dialect)
        self._created_at = created_at_type.bind_processor(dialect) or no_conversion
        # What a failed write raises: the driver's errors, or SQLAlchemy's around a connection.
        self._write_errors = (sa.exc.SQLAlchemyError, dialect.loaded_dbapi.Error)
        self.written = 0
        self.dropped = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()  # set by flush() and close(), so they need not wait
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def record(self, served: Served) -> None:
        """Hand one request over to the writer; cheap, never blocks on the database."""
        self._queue.put(served)

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything recorded so far is in the database."""
        done = threading.Event()
        self._queue.put(done)
        self._wake.set()
        if not done.wait(timeout):
            raise TimeoutError(f"prediction log not flushed within {timeout} s")

    def close(self, timeout: float = 30.0) -> None:
        """Write what is still queued, then stop the writer thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None
        self.engine.dispose()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._write_queued() is _STOP:
                return

    def _write_queued(self) -> object | None:
        """Write every queued record; answer flush requests in order; return _STOP if met."""
        pending: list[tuple] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                self._write(pending)
                return None
            if isinstance(item, Served):
                pending += self._rows(item)
                continue
            # A flush request (an Event) or the stop sentinel: write everything before it first.
            self._write(pending)
            pending = []
            if item is _STOP:
                return _STOP
            item.set()

    def _rows(self, served: Served) -> list[tuple]:
        """The log rows of one request, as the driver takes them (see driver_insert).

        What is the same for every row of the request is converted once, not once per row.
        """
        created_at = self._created_at(datetime.fromtimestamp(served.created_at, tz=UTC))
        request_id, version, features = served.request_id, served.model_version, self.features
        return [
            (
                request_id,
                position,
                version,
                served.role,
                created_at,
                to_json(dict(zip(features, values, strict=True))),
                to_json(prediction),
            )
            for position, (values, prediction) in enumerate(
                zip(served.inputs.tolist(), served.predictions, strict=True)
            )
        ]

    def _write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._insert(rows)
                self.written += len(rows)
                return
            except self._write_errors:
                if attempt == WRITE_ATTEMPTS:
                    self.dropped += len(rows)
                    logger.exception("could not write %d predictions to the log", len(rows))
                    return
                time.sleep(0.1 * attempt)

    def _insert(self, rows: list[tuple]) -> None:
        """All `rows` in one transaction: committed together, or not at all."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                values = [value for row in chunk for value in row]
                cursor.execute(driver_insert(self._dialect, len(chunk)), values)
            cursor.close()
            connection.commit()
        finally:
            connection.close()  # back to the pool; rolls back what was not committed


def add_role_column(engine: sa.Engine) -> None:
    """A log written before level 5 has no `role` column: add it, its old rows are the champion's.

    create_all creates missing tables but never changes an existing one, so an upgraded project
    would otherwise fail at its first write.
    """
    if has_role_column(engine):
        return
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    f"ALTER TABLE {predictions.name} "
                    "ADD COLUMN role VARCHAR(16) NOT NULL DEFAULT 'champion'"
                )
            )
    except sa.exc.DBAPIError:
        if not has_role_column(engine):  # else another replica added it at the same moment
            raise


def has_role_column(engine: sa.Engine) -> bool:
    return "role" in {column["name"] for column in sa.inspect(engine).get_columns(predictions.name)}


def read_predictions(url: str, limit: int | None = None) -> pd.DataFrame:
    """The most recent `limit` logged predictions (all when None), oldest first.

    Columns: request_id, row, model_version, role, created_at, prediction, then one column per
    feature. Empty when nothing was logged yet.
    """
    engine = make_engine(url)
    try:
        if not sa.inspect(engine).has_table(predictions.name):
            return pd.DataFrame()
        query = sa.select(predictions).order_by(predictions.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
    finally:
        engine.dispose()
    if not rows:
        return pd.DataFrame()
    rows = rows[::-1]
    meta = pd.DataFrame(
        {
            "request_id": [row["request_id"] for row in rows],
            "row": [row["row"] for row in rows],
            "model_version": [row["model_version"] for row in rows],
            "role": [row["role"] for row in rows],
            "created_at": [row["created_at"] for row in rows],
            "prediction": [row["prediction"] for row in rows],
        }
    )
    inputs = pd.DataFrame.from_records([row["inputs"] for row in rows])
    return pd.concat([meta, inputs], axis=1)
