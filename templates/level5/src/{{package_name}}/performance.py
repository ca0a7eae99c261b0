"""The performance report: is the model still as good as on its training holdout?

`python -m <package> performance` joins the prediction log with the labels received so far (see
feedback.py), groups the predictions into windows of `performance.window_hours` by when they were
made, and writes `<monitoring.report_dir>/performance.json` with, per window and model version:

- predictions and labels: how many rows, and how many of them have a true label;
- metric: the primary metric on the labelled rows, next to the same metric on the training holdout
  (logged with the model's run), and the relative drop between them;
- verdict: "degraded" when the drop is over `performance.max_relative_drop`, "ok" otherwise, and
  "not enough labels" under `performance.min_labels` labels: a metric on 12 rows is mostly noise;
- estimated_accuracy (classifiers): what the accuracy probably is, from the model's own
  confidence, for every prediction including those with no label yet. Labels come late (or never);
  this estimate comes at once.

The estimate is confidence-based performance estimation. The forest's probability of its predicted
class (its confidence) is calibrated on the training holdout: an isotonic regression learns how
often the model is right at each confidence level. The estimated accuracy of a window is the mean
calibrated confidence of its predictions. It holds as long as the inputs move within the range the
model was trained on (covariate shift); where inputs leave that range, a forest's confidence stops
meaning the same and the estimate runs low. It says nothing about a change in the relation between
inputs and labels (concept drift): only labels show that.

The command exits 1 when the latest window with enough labels degraded, and publishes
performance_degraded and estimated_accuracy to the service's /metrics (metrics.publish_gauges).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from .config import Params, UserError, prediction_log_url
from .evaluate import compute_metrics
from .feedback import read_labelled

REPORT_NAME = "performance.json"
LOWER_IS_BETTER = {"rmse", "mae"}


class ConfidenceCalibration:
    """How often a classifier is right at each level of its confidence, learned on labelled rows."""

    def __init__(self, model: Any, x: Any, y: Any) -> None:
        self.model = model
        confidence, predicted = self.confidence(x)
        correct = (predicted == np.asarray(y)).astype(float)
        self.isotonic = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip")
        self.isotonic.fit(confidence, correct)

    def confidence(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """The probability of the predicted class for each row, and that class."""
        probabilities = self.model.predict_proba(x)
        return probabilities.max(axis=1), self.model.classes_[probabilities.argmax(axis=1)]

    def estimate_accuracy(self, x: Any) -> float:
        """The accuracy the model probably has on the rows `x`, whose labels are unknown."""
        confidence, _ = self.confidence(x)
        return float(self.isotonic.predict(confidence).mean())


@dataclass
class Window:
    start: str
    model_version: str
    predictions: int
    labels: int
    metric: float | None
    holdout_metric: float | None
    relative_drop: float | None  # > 0: worse than on the holdout, whichever way the metric goes
    verdict: str  # "ok", "degraded" or "not enough labels"
    estimated_accuracy: float | None = None


def relative_drop(metric: str, value: float, holdout: float) -> float:
    """How much worse `value` is than `holdout`, as a share of the holdout value."""
    worse = value - holdout if metric in LOWER_IS_BETTER else holdout - value
    return worse / max(abs(holdout), 1e-12)


def judge(
    params: Params, labelled: pd.DataFrame, holdout_metric: float | None, y_score: Any = None
) -> tuple:
    """(metric, relative drop, verdict) for the labelled rows of one window.

    `y_score` (the model's probabilities for those rows) is needed for roc_auc only.
    """
    if len(labelled) < params.performance.min_labels or holdout_metric is None:
        return None, None, "not enough labels"
    truth, predicted = labelled["label"].tolist(), labelled["prediction"].tolist()
    try:
        value = compute_metrics(params.task, truth, predicted, y_score)[params.metric]
    except ValueError:  # roc_auc on labels of one class only: no ranking to judge
        return None, None, "not enough labels"
    drop = relative_drop(params.metric, value, holdout_metric)
    verdict = "degraded" if drop > params.performance.max_relative_drop else "ok"
    return value, drop, verdict


def windows_of(params: Params, logged: pd.DataFrame, sources: ModelSources) -> list[Window]:
    width = pd.Timedelta(hours=params.performance.window_hours)
    start = logged["created_at"].dt.floor(width)
    windows = []
    for (begin, version), rows in logged.groupby([start, "model_version"], sort=True):
        labelled = rows[rows["label"].notna()]
        holdout = sources.holdout_metric(version)
        y_score = None
        if params.metric == "roc_auc" and len(labelled):
            y_score = sources.probabilities(version, labelled)
        metric, drop, verdict = judge(params, labelled, holdout, y_score)
        window = Window(begin.isoformat(), str(version), len(rows), len(labelled), metric, holdout,
                        drop, verdict)  # fmt: skip
        if params.task == "classification":
            window.estimated_accuracy = sources.estimate_accuracy(version, rows)
        windows.append(window)
    return windows


class ModelSources:
    """What the report needs from MLflow, per model version, loaded once each."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self._metrics: dict[str, dict] = {}
        self._calibrations: dict[str, ConfidenceCalibration] = {}
        self._types: dict[str, str] = {}

    def holdout_metric(self, version: str) -> float | None:
        from .lineage import walk_back

        if version not in self._metrics:
            self._metrics[version] = walk_back(self.params, version)["metrics"]
        return self._metrics[version].get(self.params.metric)

    def estimate_accuracy(self, version: str, rows: pd.DataFrame) -> float:
        calibration = self.calibration(version)
        return calibration.estimate_accuracy(self.model_input(rows))

    def probabilities(self, version: str, rows: pd.DataFrame) -> np.ndarray:
        return self.calibration(version).model.predict_proba(self.model_input(rows))

    def model_input(self, rows: pd.DataFrame) -> pd.DataFrame:
        from .data import as_model_input

        return as_model_input(rows, self._types, source="the prediction log")

    def calibration(self, version: str) -> ConfidenceCalibration:
        import mlflow

        from .data import feature_types
        from .promotion import load_holdout
        from .tracking import configure_tracking

        if version not in self._calibrations:
            configure_tracking(self.params)
            model = mlflow.sklearn.load_model(
                f"models:/{self.params.registry.model_name}/{version}"
            )
            holdout = load_holdout(self.params)
            self._types = feature_types(holdout.x)
            self._calibrations[version] = ConfidenceCalibration(model, holdout.x, holdout.y)
        return self._calibrations[version]


def run_performance(params: Params, sources: ModelSources | None = None) -> list[Window]:
    """Write the report, print a table, publish the gauges; return the windows."""
    from .metrics import publish_gauges

    url = prediction_log_url(params)
    logged = read_labelled(url)
    if logged.empty:
        raise UserError(
            f"No predictions in the log at {url} yet. Fix: serve the model, send it requests, "
            f"then labels (`python -m {__package__} feedback labels.csv`)."
        )
    windows = windows_of(params, logged, sources or ModelSources(params))
    path = write_report(params, windows)
    print_windows(params, windows)
    print(f"Wrote {path}")
    latest = windows[-1]
    gauges = {"performance_degraded": float(degraded_now(windows))}
    if latest.estimated_accuracy is not None:
        gauges["estimated_accuracy"] = latest.estimated_accuracy
    publish_gauges(params, gauges)
    return windows


def degraded_now(windows: list[Window]) -> bool:
    """Whether the most recent window with enough labels to judge degraded (an alert clears once
    a later window is fine again)."""
    judged = [window for window in windows if window.verdict != "not enough labels"]
    return bool(judged) and judged[-1].verdict == "degraded"


def write_report(params: Params, windows: list[Window]) -> Path:
    folder = params.resolve(params.monitoring.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    report = {
        "created_at": datetime.now(UTC).isoformat(),
        "metric": params.metric,
        "window_hours": params.performance.window_hours,
        "min_labels": params.performance.min_labels,
        "max_relative_drop": params.performance.max_relative_drop,
        "degraded_now": degraded_now(windows),
        "windows": [asdict(window) for window in windows],
    }
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path


def print_windows(params: Params, windows: list[Window]) -> None:
    def shown(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    print(f"{'window start':<26} {'version':>7} {'rows':>6} {'labels':>6} "
          f"{params.metric:>8} {'holdout':>8} {'drop':>7} {'est.acc':>7}  verdict")  # fmt: skip
    for w in windows:
        drop = "-" if w.relative_drop is None else f"{w.relative_drop:+.1%}"
        print(f"{w.start:<26} {w.model_version:>7} {w.predictions:>6} {w.labels:>6} "
              f"{shown(w.metric):>8} {shown(w.holdout_metric):>8} {drop:>7} "
              f"{shown(w.estimated_accuracy):>7}  {w.verdict}")  # fmt: skip
