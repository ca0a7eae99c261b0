"""The closed loop, replayed: a stream in which some features drift, run through the real parts.

`python -m <package> simulate` cuts the project's own data in two: the history, on which the
first champion trains, and the rest, from which it replays `simulation.batches` batches of
`batch_rows` rows. From batch `drift_batch` on, `drift_features` columns drift together in a way
you can state: numbers arrive shifted by `drift_shift` of their standard deviations, or (data with
no numbers) every category arrives renamed, while the outcome still follows the undrifted values
(one upstream unit, calibration or coding change). The columns are those whose drift hurts the
first champion most on its holdout, measured before the replay. The labels of a batch arrive
`label_delay` batches later. Each batch then goes through the real loop:

1. its rows go to the real service app (in process), which answers and logs every prediction;
2. the labels that have arrived go to /feedback;
3. monitoring (level 4's drift and quality checks) judges the champion's window of the log;
   an alarm is the event that asks for a retrain;
4. once `retrain_rows` labelled rows have arrived since the alarm, the retrain trains on them and
   both gates decide (the paired promotion gate, then compliance): promote or reject;
5. the service serves the new champion;
6. phase 2: `bad_model_after` batches later, a bad model (trained on mixed-up labels) is
   promoted by hand, skipping the gates, and the live-metric rule rolls it back. With no new
   champion (every retrain rejected: a drift the champion held up under, which can happen on
   your own data), phase 2 still comes, late enough in the stream for the rule to gather its
   labels, so the rollback is shown either way.

Everything runs on stores of its own under `<output_dir>/stores/` (MLflow, prediction log, audit
trail), wiped at each run, and writes `simulation.png`, `simulation.json` and `simulation.txt`:
the metric, the drift score and its threshold over time with the loop's events marked, the
time from drift onset to the new champion serving, and the checks of `checks()`: did the loop
behave as it should. Same seed, same decisions and figure.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import audit, auth, loop, promotion, registry, rollback
from .config import Params, SimulationParams, UserError, prediction_log_url
from .data import (
    as_model_input,
    feature_columns,
    feature_types,
    load_dataset,
    split,
    validate_schema,
)
from .evaluate import compute_metrics
from .feedback import read_labelled
from .monitor import ALARM
from .prediction_log import make_engine, predictions
from .train import train

PNG_NAME, JSON_NAME, TEXT_NAME = "simulation.png", "simulation.json", "simulation.txt"
LOWER_IS_BETTER = ("rmse", "mae")

# What happens in the loop, as the summary and the figure name it.
DRIFT_ONSET, ALARM_RAISED, RETRAIN = "drift onset", "alarm", "retrain"
PROMOTED, REJECTED, SERVING = "promoted", "rejected", "serving"
BAD_MODEL, ROLLBACK = "bad model promoted by hand", "rollback"


# The loop's four calls. Each is one call of a level-5 part, so a deployment runs the same code.


def monitor(params: Params) -> dict:
    """One round of the loop's monitoring (drift, quality, performance, and the Prefect events
    a running loop retrains on); the drift summary's status is `alarm` when one was crossed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return loop.monitor_once(params)["monitoring"]


def retrain(params: Params, reason: str) -> loop.RetrainOutcome:
    """The loop's retrain: train on `params.data`, register the challenger, and let both gates
    (compliance and the paired promotion gate) decide; the audit trail records why it ran."""
    with contextlib.redirect_stdout(io.StringIO()):
        return loop.retrain(params, reason)


def reload(service: Service) -> bool:
    """The service's hot reload (reload.py): when the `champion` alias moved, load and warm the
    new version and swap it in while the app keeps running; True when it swapped."""
    swapped = service.client.app.state.watcher.check_now()
    service.version = service.client.get("/ready").json()["version"]
    return swapped


def check_rollback(params: Params) -> str | None:
    """The loop's rollback check (rollback.py): a champion whose live metric degraded past
    `rollback.max_relative_drop` is rolled back to the previous champion, audited and alerted;
    the version rolled back to, or None."""
    decision = rollback.check(params)
    return decision.previous_version if decision.rolled_back else None


# The stream: the project's data, cut into a history and batches, with one feature drifting.


@dataclass(frozen=True)
class Drift:
    """One upstream change to some columns: each number column shifted (its entry in `shifts`),
    each text column (a None shift) with every category renamed."""

    features: tuple[str, ...]
    shifts: tuple[float | None, ...]  # added to every value of a number column; None: text
    suffix: str = "_renamed"  # appended to every category of a text column

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        drifted = rows.copy()
        for name, shift in zip(self.features, self.shifts, strict=True):
            column = drifted[name]
            if shift is not None:
                drifted[name] = column + shift
            else:
                drifted[name] = column.where(column.isna(), column.astype(str) + self.suffix)
        return drifted

    def describe(self, sd: float) -> str:
        pairs = list(zip(self.features, self.shifts, strict=True))
        numbers = [name for name, shift in pairs if shift is not None]
        texts = [name for name, shift in pairs if shift is None]
        parts = []
        if numbers:
            parts.append(f"{quoted(numbers)} arrive shifted by {sd:g} standard deviations each")
        if texts:
            parts.append(f"every category of {quoted(texts)} arrives renamed (x -> x{self.suffix})")
        return "; ".join(parts)


def quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


@dataclass(frozen=True)
class Harm:
    """The first champion's primary metric on its holdout, as it came and with the drift."""

    before: float
    drifted: float
    worse_by: float  # share of `before`, > 0: the drift made it worse
    hurts: bool  # worse by more than rollback.max_relative_drop: a champion the loop must replace


@dataclass(frozen=True)
class Batch:
    index: int
    rows: pd.DataFrame  # the features as served: drifted from drift_batch on
    labels: list  # the true outcomes, which arrive label_delay batches later


def as_csv_reads_it(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals rounded to 12 significant digits. The retrains train from CSV files, and pandas
    reads a 17-digit decimal back a hair off: the drift reference would then hold other values
    than the service logged, and a 0/1 column would look entirely new. 12 digits read back exact."""
    rounded = frame.copy()
    for name in rounded.columns:
        if pd.api.types.is_float_dtype(rounded[name]):
            rounded[name] = rounded[name].map(lambda value: float(f"{value:.12g}"))
    return rounded


def split_history(frame: pd.DataFrame, simulation: SimulationParams) -> tuple[pd.DataFrame, ...]:
    """The history the first champion trains on, and the rows the stream replays."""
    shuffled = as_csv_reads_it(frame.sample(frac=1.0, random_state=simulation.seed))
    shuffled = shuffled.reset_index(drop=True)
    cut = round(len(shuffled) * simulation.history_share)
    return shuffled.iloc[:cut].reset_index(drop=True), shuffled.iloc[cut:].reset_index(drop=True)


def choose_drift(params: Params, history: pd.DataFrame, features: list[str], model: Any) -> Drift:
    """`simulation.drift_columns`, or the `drift_features` columns whose drift, one at a time,
    hurts the first champion most on its holdout: measured, not assumed (a forest leans on many
    features that tell the same story, and the most important one by permutation is not always
    the one whose drift hurts). Number columns when the data has any: a shift you can state."""
    simulation = params.simulation
    unknown = [name for name in simulation.drift_columns or [] if name not in features]
    if unknown:
        raise UserError(
            f"simulation.drift_columns names {', '.join(map(repr, unknown))}, not a feature "
            f"(features: {', '.join(features)}). Fix: name some of them, or [] to let the "
            "simulation choose."
        )
    if simulation.drift_columns:
        return drift_of(simulation.drift_columns, history, simulation)
    numbers = [name for name in features if pd.api.types.is_numeric_dtype(history[name])]
    candidates = numbers or features
    holdout = first_holdout(params, history)
    harms = {
        name: harm(params, model, holdout, drift_of([name], history, simulation)).worse_by
        for name in candidates
    }
    ranked = sorted(candidates, key=lambda name: -harms[name])  # stable: ties keep column order
    return drift_of(ranked[: simulation.drift_features], history, simulation)


def drift_of(names: list[str], history: pd.DataFrame, simulation: SimulationParams) -> Drift:
    """Numbers shifted by `drift_shift` of their history's standard deviations; text renamed."""
    shifts = tuple(
        simulation.drift_shift * float(history[name].std())
        if pd.api.types.is_numeric_dtype(history[name])
        else None
        for name in names
    )
    return Drift(tuple(names), shifts)


def first_holdout(params: Params, history: pd.DataFrame) -> pd.DataFrame:
    """The rows the first champion was scored on: the history's test split, as the gate cuts it."""
    parts = split(history, params.data, stratify=params.task == "classification")
    return history.loc[parts.x_test.index].reset_index(drop=True)


def score(params: Params, model: Any, rows: pd.DataFrame) -> float:
    """The primary metric of `model` on labelled `rows`."""
    features = list(model.feature_names_in_)
    x = as_model_input(rows[features], feature_types(rows[features]), source="the simulation")
    y_score = model.predict_proba(x) if params.metric == "roc_auc" else None
    truth = rows[params.data.target].tolist()
    return compute_metrics(params.task, truth, model.predict(x), y_score)[params.metric]


def harm(params: Params, model: Any, holdout: pd.DataFrame, drift: Drift) -> Harm:
    """How much `drift` worsens the champion on its holdout, judged as the rollback rule would."""
    before = score(params, model, holdout)
    drifted = score(params, model, drift.apply(holdout))
    worse = drifted - before if params.metric in LOWER_IS_BETTER else before - drifted
    worse_by = worse / max(abs(before), 1e-12)
    return Harm(
        round(before, 4),
        round(drifted, 4),
        round(worse_by, 4),
        worse_by > params.rollback.max_relative_drop,
    )


def build_stream(
    rest: pd.DataFrame, features: list[str], target: str, drift: Drift, simulation: SimulationParams
) -> list[Batch]:
    """`batches` batches drawn from `rest` in a seeded order, each row once per pass."""
    rng = np.random.default_rng(simulation.seed)
    needed = simulation.batches * simulation.batch_rows
    order: list[int] = []
    while len(order) < needed:
        order += rng.permutation(len(rest)).tolist()
    batches = []
    for index in range(simulation.batches):
        rows = rest.iloc[order[index * simulation.batch_rows : (index + 1) * simulation.batch_rows]]
        served = rows[features].reset_index(drop=True)
        if index >= simulation.drift_batch:
            served = drift.apply(served)
        batches.append(Batch(index, as_csv_reads_it(served), rows[target].tolist()))
    return batches


# The stores and the service of one simulation.


@contextlib.contextmanager
def isolated_stores(folder: Path) -> Iterator[None]:
    """Point MLflow, the prediction log and the audit trail at `folder` for the simulation's
    duration (the same variables a deployment sets), and put the caller's values back after."""
    names = (
        "MLFLOW_TRACKING_URI",
        "PREDICTION_LOG_URL",
        "AUDIT_PATH",
        "AUDIT_STORE",
        "MONITOR_WEBHOOK_URL",
    )
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{(folder / 'mlflow.db').as_posix()}",
        PREDICTION_LOG_URL=f"sqlite:///{(folder / 'predictions.db').as_posix()}",
        AUDIT_PATH=str(folder / "audit.jsonl"),
        AUDIT_STORE="file",
    )
    os.environ.pop("MONITOR_WEBHOOK_URL", None)  # the simulation's alarms alert nobody
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def simulation_params(params: Params, stores: Path) -> Params:
    """The project's params, sized for a replay: a small forest, the simulation's monitoring
    window, reports inside the stores, no HTML report, fewer importance shuffles."""
    simulation = params.simulation
    updates = {
        "model": params.model.model_copy(update={"n_estimators": simulation.n_estimators}),
        "monitoring": params.monitoring.model_copy(
            update={
                "window_rows": simulation.window_rows,
                "min_rows": simulation.min_rows,
                "html_sample_rows": 0,
                "webhook_url": None,
                "report_dir": stores / "reports",
            }
        ),
        "performance": params.performance.model_copy(update={"min_labels": simulation.min_labels}),
        # The replay keeps its own cooldown, in batches; the loop's is in minutes.
        "loop": params.loop.model_copy(update={"cooldown_minutes": 0}),
        "rollback": params.rollback.model_copy(update={"min_labels": simulation.min_labels}),
        # The replay reloads when the loop has promoted (a deterministic moment), not on a timer.
        "serving": params.serving.model_copy(
            update={"reload_seconds": 0, "shadow": False, "canary_share": 0.0}
        ),
        "importance": params.importance.model_copy(
            update={"n_repeats": min(params.importance.n_repeats, 2)}
        ),
    }
    copy = params.model_copy(update=updates)
    copy._root = params.root
    return copy


def on_data(params: Params, frame: pd.DataFrame, path: Path, features: list[str]) -> Params:
    """`params` training on `frame`, written as the CSV file `path` (the gate rebuilds its
    holdout from it), holding out `simulation.holdout_share` for the gate's tests."""
    frame.to_csv(path, index=False)
    data = params.data.model_copy(
        update={
            "source": "csv",
            "path": path,
            "sha256": None,
            "features": features,
            "test_size": params.simulation.holdout_share,
        }
    )
    copy = params.model_copy(update={"data": data})
    copy._root = params.root
    return copy


class Service:
    """The real service app, in process: requests go through its routes, auth and log."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.key = secrets.token_urlsafe(32)
        self.client: Any = None  # a TestClient while the app runs
        self.version = ""

    def start(self) -> None:
        from fastapi.testclient import TestClient

        from .service import create_app

        app = create_app(self.params, auth.ApiKeys(digests=(auth.fingerprint(self.key),)))
        self.client = TestClient(app, headers={"X-API-Key": self.key})
        self.client.__enter__()  # runs the app's start-up: the prediction log's writer
        self.version = self.client.get("/ready").json()["version"]

    def close(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)  # the log writes what is still queued
            self.client = None

    def predict(self, rows: pd.DataFrame, types: dict[str, str]) -> dict:
        values = as_model_input(rows, types, source="the stream").astype(object)
        records = values.where(values.notna(), None).to_dict("records")
        answer = self.client.post("/predict/batch", json={"rows": records})
        answer.raise_for_status()
        return answer.json()

    def send_labels(self, request_id: str, labels: list) -> None:
        body = [
            {"request_id": request_id, "row": row, "label": label}
            for row, label in enumerate(labels)
        ]
        self.client.post("/feedback", json={"labels": body}).raise_for_status()


def wait_until_logged(url: str, request_id: str, rows: int, timeout: float = 10.0) -> None:
    """The log writes from a background thread: wait until a request's rows are in, so each
    monitoring run sees exactly the batches sent before it."""
    query = sa.select(sa.func.count()).where(predictions.c.request_id == request_id)
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                if connection.execute(query).scalar_one() >= rows:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"request {request_id} not in the prediction log after {timeout} s"
                )
            time.sleep(0.02)
    finally:
        engine.dispose()


# The replay itself.


@dataclass
class BatchRecord:
    batch: int
    version: str  # the version that answered
    metric: float | None  # the primary metric on this batch, known once its labels arrive
    drift_score: float | None  # see drift_score(); None while the window is too short
    status: str  # the monitor's: quiet, alarm, not enough data


@dataclass
class Event:
    batch: int
    kind: str
    version: str | None
    detail: str
    seconds: float  # wall time since the first batch was sent


@dataclass
class Replay:
    """The loop's state as the batches go by."""

    params: Params
    stores: Path
    features: list[str]
    types: dict[str, str]
    service: Service
    started: float = field(default_factory=time.perf_counter)
    records: list[BatchRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    answers: dict[int, tuple[str, list]] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)  # epoch seconds, as the log has them
    alarm_batch: int | None = None  # an alarm waiting for labels before its retrain
    last_retrain: int | None = None
    recovered_at: int | None = None  # the batch a retrained champion started serving
    trained_on: pd.DataFrame | None = None  # the data of the latest retrain (promoted first)
    bad_version: str | None = None
    # Each version's own params (its training data): the rollback rule compares a champion's live
    # metric with its score on the holdout it was trained and gated on.
    trained_with: dict[str, Params] = field(default_factory=dict)

    def note(self, batch: int, kind: str, detail: str, version: str | None = None) -> None:
        seconds = time.perf_counter() - self.started
        self.events.append(Event(batch, kind, version, detail, round(seconds, 3)))
        print(
            f"  batch {batch:>3}: {kind}"
            + (f" (version {version})" if version else "")
            + f": {detail}"
        )

    def step(self, batch: Batch, labels_of: Batch | None) -> None:
        simulation = self.params.simulation
        if batch.index == simulation.drift_batch:
            self.note(batch.index, DRIFT_ONSET, "the drifted columns start arriving")
        metric = self.serve(batch)
        if labels_of is not None:
            request_id, labels = self.answers[labels_of.index]
            self.service.send_labels(request_id, labels)
        summary = monitor(self.params)
        score = drift_score(summary, self.params)
        self.records.append(
            BatchRecord(batch.index, self.service.version, metric, score, summary["status"])
        )
        self.watch(batch.index, summary)
        self.maybe_retrain(batch.index)
        self.phase_two(batch.index)

    def serve(self, batch: Batch) -> float | None:
        """Send the batch, wait for its log rows; its metric, once its labels are known."""
        self.sent_at[batch.index] = time.time()
        answer = self.service.predict(batch.rows, self.types)
        self.answers[batch.index] = (answer["request_id"], batch.labels)
        wait_until_logged(prediction_log_url(self.params), answer["request_id"], len(batch.rows))
        return batch_metric(self.params, batch.labels, answer)

    def watch(self, index: int, summary: dict) -> None:
        """An alarm on the serving champion asks for a retrain, unless one is already waiting or
        the last retrain is too recent (the cooldown)."""
        cooling = self.last_retrain is not None and (
            index - self.last_retrain < self.params.simulation.cooldown_batches
        )
        if summary["status"] != ALARM or self.alarm_batch is not None or cooling:
            return
        self.alarm_batch = index
        crossed = sorted({f"{alarm['check']} of {alarm['column']}" for alarm in summary["alarms"]})
        self.note(index, ALARM_RAISED, ", ".join(crossed), self.service.version)

    def maybe_retrain(self, index: int) -> None:
        """Retrain once enough labelled rows arrived since the alarm; serve the champion after."""
        if self.alarm_batch is None:
            return
        simulation = self.params.simulation
        recent = labelled_since(self.params, self.features, self.sent_at[self.alarm_batch])
        if len(recent) < simulation.retrain_rows:
            return
        # A row the stream served twice is kept once, so the gate's holdout never holds a row
        # the challenger trained on.
        training = recent.tail(simulation.retrain_rows).drop_duplicates().reset_index(drop=True)
        path = self.stores / f"retrain_batch_{index}.csv"
        reason = f"alarm at batch {self.alarm_batch}"
        self.note(index, RETRAIN, f"{len(training)} distinct labelled rows since the {reason}")
        params = on_data(self.params, training, path, self.features)
        outcome = retrain(params, reason)
        if outcome.version is not None:
            self.trained_with[outcome.version] = params
        self.last_retrain, self.alarm_batch = index, None
        promoted = outcome.status == "promoted"
        if promoted or self.recovered_at is None:
            self.trained_on = training  # what the bad model of phase 2 is made from
        self.note(index, PROMOTED if promoted else REJECTED, outcome.reason, outcome.version)
        if promoted and self.reload(index) and self.recovered_at is None:
            self.recovered_at = index

    def reload(self, index: int) -> bool:
        if not reload(self.service):
            return False
        self.note(index, SERVING, "the service answers with the new champion", self.service.version)
        self.alarm_batch = None  # an alarm about the replaced model no longer holds
        return True

    def phase_two(self, index: int) -> None:
        """A bad model promoted by hand after the recovery, and the rule that rolls it back."""
        due = self.trained_on is not None and index >= self.phase_two_start()
        if due and self.bad_version is None:
            broken = mixed_up(self.trained_on, self.params.data.target, self.params.task)
            path = self.stores / "mixed_up_labels.csv"
            bad_params = on_data(self.params, broken, path, self.features)
            self.bad_version = promote_by_hand(bad_params)
            self.trained_with[self.bad_version] = bad_params
            detail = "trained on mixed-up labels, past both gates"
            self.note(index, BAD_MODEL, detail, self.bad_version)
            self.reload(index)
            return
        rolled_to = check_rollback(self.trained_with.get(self.service.version, self.params))
        if rolled_to is not None:
            self.note(index, ROLLBACK, "its live metric degraded", rolled_to)
            self.reload(index)

    def phase_two_start(self) -> int:
        """`bad_model_after` batches after the recovery; with none, the last batch that leaves
        the rollback rule time to see `min_labels` labels of the bad model (and a batch spare)."""
        simulation = self.params.simulation
        if self.recovered_at is not None:
            return self.recovered_at + simulation.bad_model_after
        label_batches = -(-simulation.min_labels // simulation.batch_rows)  # rounded up
        return simulation.batches - simulation.label_delay - label_batches - 2


def mixed_up(frame: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    """The data with its outcomes mixed up, as a bug in a label join would: each class becomes
    the next one, or each number its mirror image within the range. A model trained on it scores
    well on a holdout mixed up the same way, and badly on the true outcomes."""
    broken = frame.copy()
    values = broken[target]
    if task == "classification":
        classes = sorted(values.unique().tolist(), key=str)
        following = dict(zip(classes, classes[1:] + classes[:1], strict=True))
        broken[target] = values.map(following)
    else:
        broken[target] = values.min() + values.max() - values
    return broken


def promote_by_hand(params: Params) -> str:
    """Phase 2's mistake: train a model on mixed-up labels and make it champion with no gate,
    keeping the replaced champion as `previous_champion` (where a rollback goes)."""
    champion = registry.get_champion(params)
    if champion is None:
        raise LookupError("phase 2 needs a champion to replace")
    trained = train(params)
    version = str(registry.register_challenger(params, trained.model_uri).version)
    promotion.make_champion(params, version)
    audit.record(
        "promote",
        params,
        model=params.registry.model_name,
        version=version,
        replaces=str(champion.version),
        forced=True,
        reason="simulation phase 2: promoted by hand, skipping the gates",
    )
    return version


def labelled_since(params: Params, features: list[str], since: float) -> pd.DataFrame:
    """The labelled rows of the prediction log served since `since` (epoch seconds), oldest first,
    as training data: the features and the target."""
    logged = read_labelled(prediction_log_url(params))
    if logged.empty:
        return pd.DataFrame(columns=[*features, params.data.target])
    cutoff = pd.Timestamp(since, unit="s", tz="UTC")
    rows = logged[logged["label"].notna() & (logged["created_at"] >= cutoff)]
    frame = rows[features].reset_index(drop=True)
    labels = pd.Series(rows["label"].tolist())
    # The log's JSON gives whole-number classes back as floats (1.0): the retrained model must
    # answer with the champion's classes, or the service refuses to swap it in.
    whole = pd.api.types.is_float_dtype(labels) and bool((labels % 1 == 0).all())
    if params.task == "classification" and whole:
        labels = labels.astype("int64")
    frame[params.data.target] = labels
    return frame


def batch_metric(params: Params, labels: list, answer: dict) -> float | None:
    """The primary metric of one batch's answers against its true outcomes."""
    y_score = None
    if params.metric == "roc_auc":
        y_score = np.array([list(row.values()) for row in answer["probabilities"]])
    try:
        return compute_metrics(params.task, labels, answer["predictions"], y_score)[params.metric]
    except ValueError:  # roc_auc on a batch of one class: no ranking to judge
        return None


def live_scores(params: Params, version: str, labelled: pd.DataFrame) -> np.ndarray | None:
    """The champion's class probabilities for labelled rows: roc_auc needs them, not the log."""
    if params.metric != "roc_auc" or labelled.empty:
        return None
    model = mlflow.sklearn.load_model(registry.version_uri(params, version))
    features = list(model.feature_names_in_)
    return model.predict_proba(
        as_model_input(
            labelled[features], feature_types(labelled[features]), source="the prediction log"
        )
    )


def drift_score(summary: dict, params: Params) -> float | None:
    """One number per monitoring run, with the alarm threshold at 1.

    A column drifts when both its Holm-corrected p-value is at most `alpha` and its PSI is above
    its threshold; its score is the smaller of -log10(p) / -log10(alpha) and PSI / threshold,
    each 1 at its limit. The run's score is the largest column score."""
    columns = [*summary["features"].values(), summary["prediction"]]
    scores = []
    for column in columns:
        drift = column["drift"]
        if drift["p_value_adjusted"] is None or drift["effect_size"] is None:
            continue
        significance = -np.log10(max(drift["p_value_adjusted"], 1e-300)) / -np.log10(
            params.monitoring.alpha
        )
        effect = drift["effect_size"] / max(drift["effect_threshold"], 1e-12)
        scores.append(min(significance, effect))
    return round(float(max(scores)), 6) if scores else None


def run_simulation(params: Params) -> dict:
    """Replay the stream through the loop; write the figure and the summaries; return the JSON."""
    simulation = params.simulation
    output = params.resolve(simulation.output_dir)
    stores = output / "stores"
    shutil.rmtree(stores, ignore_errors=True)  # each run starts from nothing: reproducible
    stores.mkdir(parents=True)
    frame = load_dataset(params.data)
    validate_schema(frame, params.data)
    features = feature_columns(frame, params.data)
    history, rest = split_history(frame, simulation)
    started = time.perf_counter()
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # one line per registration otherwise
    with isolated_stores(stores):
        base = simulation_params(params, stores)
        first = on_data(
            base, history[[*features, params.data.target]], stores / "history.csv", features
        )
        print(f"Training the first champion on {len(history)} rows of history...")
        trained = train(first)
        registry.register_challenger(first, trained.model_uri)
        decision = promotion.promote(first)
        if not decision.promoted:
            raise UserError(
                f"The first champion was refused ({decision.reason}). Fix: give the simulation "
                "more history (simulation.history_share) or look at the gate's settings."
            )
        champion = mlflow.sklearn.load_model(trained.model_uri)
        drift = choose_drift(first, history, features, champion)
        damage = harm(first, champion, first_holdout(first, history), drift)
        sd = simulation.drift_shift
        print(f"From batch {simulation.drift_batch}: {drift.describe(sd)}.")
        print(
            f"On its holdout the first champion's {params.metric} goes {damage.before} -> "
            f"{damage.drifted} with the drift ({damage.worse_by:+.1%} worse)."
        )
        batches = build_stream(rest, features, params.data.target, drift, simulation)
        service = Service(base)
        service.start()
        replay = Replay(
            base,
            stores,
            features,
            feature_types(history[features]),
            service,
        )
        try:
            for batch in batches:
                late = batch.index - simulation.label_delay
                replay.step(batch, batches[late] if late >= 0 else None)
        finally:
            service.close()
    summary = summarize(params, replay, drift, sd, time.perf_counter() - started, damage)
    write_outputs(params, summary, output)
    return summary


def summarize(
    params: Params, replay: Replay, drift: Drift, sd: float, seconds: float, damage: Harm
) -> dict:
    """What happened, as data: the stream, the drift, each decision, how long recovery took, and
    whether the loop did what it should (`checks`, `passed`)."""
    simulation = params.simulation
    onset = simulation.drift_batch
    events = [asdict(event) for event in replay.events]
    alarms = [event for event in replay.events if event.kind == ALARM_RAISED]
    onset_seconds = next(event.seconds for event in replay.events if event.kind == DRIFT_ONSET)
    # The new champion is a retrain the gates promoted: the bad model of phase 2 (and the
    # rollback) are served too, but are no recovery.
    promoted = {event.version for event in replay.events if event.kind == PROMOTED}
    serving = next(
        (
            event
            for event in replay.events
            if event.kind == SERVING and event.batch >= onset and event.version in promoted
        ),
        None,
    )
    rollback = next((event for event in replay.events if event.kind == ROLLBACK), None)
    bad = next((event for event in replay.events if event.kind == BAD_MODEL), None)
    summary: dict[str, Any] = {
        "seed": simulation.seed,
        "task": params.task,
        "metric": params.metric,
        "stream": {
            "batches": simulation.batches,
            "batch_rows": simulation.batch_rows,
            "label_delay": simulation.label_delay,
        },
        "drift": {
            "features": list(drift.features),
            "onset_batch": onset,
            "change": drift.describe(sd),
            "champion_holdout": asdict(damage),
        },
        "false_alarms_before_onset": sum(event.batch < onset for event in alarms),
        "detected_batch": next((event.batch for event in alarms if event.batch >= onset), None),
        "retrains": [
            {
                "batch": event.batch,
                "version": event.version,
                "promoted": event.kind == PROMOTED,
                "reason": event.detail,
            }
            for event in replay.events
            if event.kind in (PROMOTED, REJECTED)
        ],
        "new_champion": None
        if serving is None
        else {
            "version": serving.version,
            "serving_batch": serving.batch,
            "batches_after_onset": serving.batch - onset,
            "seconds_after_onset": round(serving.seconds - onset_seconds, 3),
        },
        "rollback": None
        if bad is None
        else {
            "bad_version": bad.version,
            "promoted_batch": bad.batch,
            "rolled_back_batch": None if rollback is None else rollback.batch,
            "rolled_back_to": None if rollback is None else rollback.version,
            "seconds_to_rollback": None
            if rollback is None
            else round(rollback.seconds - bad.seconds, 3),
        },
        "mean_metric": mean_metric_by_phase(replay.records, onset, serving, bad, rollback),
        "seconds": round(seconds, 3),
        "batches": [asdict(record) for record in replay.records],
        "events": events,
    }
    summary["checks"] = checks(summary, params)
    summary["passed"] = all(check["passed"] for check in summary["checks"])
    return summary


def checks(summary: dict, params: Params) -> list[dict]:
    """Did the loop behave as it should? It saw the drift; when the drift hurt the champion (on
    its holdout, by more than rollback.max_relative_drop) a retrain passed the gates and served;
    when it did not, keeping the champion is right and any retrain may be rejected; and the bad
    model was rolled back."""
    damage = summary["drift"]["champion_holdout"]
    rollback = summary["rollback"] or {}
    limit = params.rollback.max_relative_drop
    if damage["hurts"]:
        recovery = {
            "check": "the drift hurt the champion, and a retrain passed both gates and served",
            "passed": summary["new_champion"] is not None,
        }
    else:
        recovery = {
            "check": f"the drift did not hurt the champion (under {limit:.0%} worse on its "
            "holdout): keeping it is right, no new champion needed",
            "passed": True,
        }
    return [
        {
            "check": "the drift was detected after its onset",
            "passed": summary["detected_batch"] is not None,
        },
        recovery,
        {
            "check": "the bad model was rolled back",
            "passed": rollback.get("rolled_back_batch") is not None,
        },
    ]


def mean_metric_by_phase(records: list[BatchRecord], onset: int, *events: Event | None) -> dict:
    """The primary metric averaged over the batches of each phase of the story."""
    serving, bad, rollback = (None if event is None else event.batch for event in events)
    end = len(records)
    phases = {
        "before drift": (0, onset),
        # Until the new champion serves; with none, until the bad model is forced in.
        "drift, old champion": (onset, next(at for at in (serving, bad, end) if at is not None)),
        "new champion": (serving, bad if bad is not None else end) if serving is not None else None,
        "bad model": (bad, rollback if rollback is not None else end) if bad is not None else None,
        "after rollback": (rollback, end) if rollback is not None else None,
    }
    means = {}
    for name, span in phases.items():
        if span is None:
            continue
        # A batch's answers come from the model that served it: the batch where a swap happens
        # was answered before the swap, so each phase starts one batch after its event.
        first = span[0] if name in ("before drift", "drift, old champion") else span[0] + 1
        values = [r.metric for r in records[first : span[1] + 1] if r.metric is not None]
        means[name] = round(float(np.mean(values)), 4) if values else None
    return means


def describe(summary: dict) -> str:
    """The summary as a few sentences a person reads first."""
    drift, champion, rollback = summary["drift"], summary["new_champion"], summary["rollback"]
    lines = [
        f"Simulation (seed {summary['seed']}): {summary['stream']['batches']} batches of "
        f"{summary['stream']['batch_rows']} rows, labels {summary['stream']['label_delay']} "
        f"batches late; {summary['seconds']:.1f} s in all.",
        f"Drift from batch {drift['onset_batch']}: {drift['change']}.",
        f"Alarms before the onset: {summary['false_alarms_before_onset']}; "
        f"detected at batch {summary['detected_batch']}.",
    ]
    damage = drift["champion_holdout"]
    lines.append(
        f"On its holdout the first champion's {summary['metric']} went {damage['before']} -> "
        f"{damage['drifted']} with the drift ({damage['worse_by']:+.1%} worse): "
        + (
            "the drift hurts it."
            if damage["hurts"]
            else "it held up, so the gates are right to keep it."
        )
    )
    for retrain in summary["retrains"]:
        verdict = "promoted" if retrain["promoted"] else "rejected"
        lines.append(
            f"Retrain at batch {retrain['batch']}: version {retrain['version']} {verdict}"
            f" ({retrain['reason']})."
        )
    if champion is None:
        lines.append("No new champion served before the stream ended.")
    else:
        lines.append(
            f"Drift onset -> new champion (version {champion['version']}) serving: "
            f"{champion['batches_after_onset']} batches, {champion['seconds_after_onset']:.1f} s."
        )
    if rollback is not None:
        if rollback["rolled_back_batch"] is None:
            lines.append(f"Bad version {rollback['bad_version']} was NOT rolled back.")
        else:
            lines.append(
                f"Bad version {rollback['bad_version']} (batch {rollback['promoted_batch']}) "
                f"rolled back to version {rollback['rolled_back_to']} at batch "
                f"{rollback['rolled_back_batch']}, {rollback['seconds_to_rollback']:.1f} s later."
            )
    means = ", ".join(f"{name} {value}" for name, value in summary["mean_metric"].items())
    lines.append(f"Mean {summary['metric']} per phase: {means}.")
    failed = [check["check"] for check in summary["checks"] if not check["passed"]]
    if failed:
        lines.append("The loop did NOT behave as it should: failed: " + "; ".join(failed) + ".")
    else:
        lines.append(
            "The loop behaved as it should: "
            + "; ".join(c["check"] for c in summary["checks"])
            + "."
        )
    return "\n".join(lines)


def write_outputs(params: Params, summary: dict, output: Path) -> None:
    text = describe(summary)
    summary["files"] = {name: str(output / name) for name in (PNG_NAME, JSON_NAME, TEXT_NAME)}
    plot(summary, params, output / PNG_NAME)
    (output / JSON_NAME).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (output / TEXT_NAME).write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"Figure: {output / PNG_NAME}\nSummary: {output / JSON_NAME}, {output / TEXT_NAME}")


# How each event is drawn: colour and line style of its vertical line.
EVENT_STYLES = {
    DRIFT_ONSET: ("black", "--"),
    RETRAIN: ("tab:orange", ":"),
    PROMOTED: ("tab:green", "-"),
    REJECTED: ("tab:gray", "-"),
    BAD_MODEL: ("tab:purple", "-"),
    ROLLBACK: ("tab:red", "-"),
}


def plot(summary: dict, params: Params, path: Path) -> None:
    """Three panels over the batches: the metric, the drift score with its threshold and the
    alarms, and the version served; every event of the loop as a vertical line."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt

    records = summary["batches"]
    x = [record["batch"] for record in records]
    figure, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(10, 8), sharex=True, height_ratios=[3, 3, 1.4]
    )
    top.plot(x, [np.nan if r["metric"] is None else r["metric"] for r in records], marker=".")
    top.set_ylabel(f"{summary['metric']} per batch")
    top.set_title(
        f"Drift from batch {summary['drift']['onset_batch']}: {summary['drift']['change']}",
        fontsize=9,
    )
    middle.plot(
        x,
        [np.nan if r["drift_score"] is None else r["drift_score"] for r in records],
        marker=".",
        color="tab:blue",
        label="drift score",
    )
    middle.axhline(1.0, color="tab:red", linewidth=1, label="alarm threshold")
    alarms = [r for r in records if r["status"] == ALARM]
    middle.scatter(
        [r["batch"] for r in alarms],
        [r["drift_score"] or 1.0 for r in alarms],
        color="tab:red",
        zorder=3,
        label="monitor alarm",
    )
    middle.set_yscale("symlog", linthresh=1.0)
    middle.set_ylabel("drift score")
    # A batch is answered first, then the loop acts: an event sits after its batch (the drift
    # onset before it), and a swapped model answers from the next batch on.
    bottom.step(x, [int(r["version"]) for r in records], where="mid", color="tab:green")
    bottom.set_ylabel("version served")
    bottom.set_xlabel(f"batch ({summary['stream']['batch_rows']} rows each)")
    drawn = set()
    for event in summary["events"]:
        if event["kind"] not in EVENT_STYLES:
            continue
        colour, style = EVENT_STYLES[event["kind"]]
        offset = {DRIFT_ONSET: -0.5, RETRAIN: 0.4}.get(event["kind"], 0.5)
        label = None if event["kind"] in drawn else event["kind"]
        for axis in (top, middle, bottom):
            axis.axvline(
                event["batch"] + offset,
                color=colour,
                linestyle=style,
                linewidth=1.2,
                label=label if axis is top else None,
            )
        drawn.add(event["kind"])
    figure.legend(loc="lower center", ncol=6, fontsize=8)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    # No software or date in the file: the same seed gives the same bytes.
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
