"""Prometheus metrics of the service, served at GET /metrics (behind the API key).

    http_requests_total{endpoint, method, status, model_version}    every answered request
    http_request_duration_seconds{endpoint, model_version}          latency histogram
    http_request_errors_total{endpoint, kind, model_version}        kind: client (4xx), server (5xx)
    model_predictions_total{model_version, label}                   classifiers: per class
    model_prediction_value{model_version}                           regressors: a histogram
    model_monitor_value{check, model_version}                       what monitoring found last

The monitoring commands run apart from the service (a scheduler starts them), so they publish
their findings as numbers in `<monitoring.report_dir>/gauges.json` (see publish_gauges), and the
service reads that small file whenever Prometheus scrapes. One gauge per check, e.g. drift_detected
(0 or 1), drifted_feature_share, anomaly_share, performance_degraded, estimated_accuracy: the
alerting rules in monitoring/alert_rules.yml fire on them.

Each app gets its own registry, so several apps in one process (the tests) never collide.
Endpoints are labelled by route, not by raw path: a scanner trying random URLs must not create a
new time series per URL.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from .config import Params

logger = logging.getLogger(__name__)

GAUGES_NAME = "gauges.json"
# Latency buckets around a forest's few milliseconds per row, up to slow batches.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ROUTES = ("/predict", "/predict/batch", "/explain", "/feedback", "/metrics", "/model", "/health",
          "/ready")  # fmt: skip


def gauges_path(params: Params) -> Path:
    return params.resolve(params.monitoring.report_dir) / GAUGES_NAME


def publish_gauges(params: Params, values: dict[str, float]) -> Path:
    """Merge `values` (check name -> number) into the gauges file the service exposes.

    Monitoring calls this after each run, e.g. publish_gauges(params, {"drift_detected": 1}).
    The file is replaced in one rename, so a scrape never reads half of it.
    """
    path = gauges_path(params)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = read_gauges(path)
    current.update({name: float(value) for name, value in values.items()})
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as file:
        json.dump(current, file, indent=2)
    os.replace(file.name, path)
    return path


def read_gauges(path: Path) -> dict[str, float]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        logger.warning("cannot read the monitoring gauges in %s", path)
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): float(value)
        for name, value in raw.items()
        if isinstance(value, int | float) and math.isfinite(value)
    }


class MonitorGauges:
    """Reads the gauges file at each scrape: monitoring runs in other processes."""

    def __init__(self, path: Path, model_version: str) -> None:
        self.path = path
        self.model_version = model_version

    def collect(self):
        family = GaugeMetricFamily(
            "model_monitor_value",
            "Latest finding of each monitoring check (drift, data quality, performance)",
            labels=["check", "model_version"],
        )
        for check, value in sorted(read_gauges(self.path).items()):
            family.add_metric([check, self.model_version], value)
        yield family


class ServiceMetrics:
    """The service's metric families, in a registry of its own."""

    def __init__(self, params: Params, model_version: str | None, classes: list | None) -> None:
        """`model_version` None: no champion yet; the prediction counts start at follow()."""
        self.params = params
        self.model_version = model_version or "none"
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "Requests answered, per endpoint, method and status",
            ["endpoint", "method", "status", "model_version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the answer",
            ["endpoint", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "http_request_errors",
            "Requests answered with an error: kind is client (4xx) or server (5xx)",
            ["endpoint", "kind", "model_version"],
            registry=self.registry,
        )
        self.per_class: dict | None = None
        self.values: Histogram | None = None
        self._per_class_family: Counter | None = None
        self._values_family: Histogram | None = None
        if model_version is not None:
            self._count_predictions(classes)
        self.gauges = MonitorGauges(gauges_path(params), self.model_version)
        self.registry.register(self.gauges)

    def _count_predictions(self, classes: list | None) -> None:
        """The prediction family: per class for a classifier, a histogram for a regressor."""
        if classes is not None:
            per_class = self._per_class_family = Counter(
                "model_predictions",
                "Predictions served, per predicted class",
                ["model_version", "label"],
                registry=self.registry,
            )
            # One child per class up front: every class shows (at 0) from the first scrape, and
            # counting a prediction is a dictionary lookup.
            self.per_class = {
                label: per_class.labels(self.model_version, str(label)) for label in classes
            }
        else:
            self._values_family = Histogram(
                "model_prediction_value",
                "Predicted values",
                ["model_version"],
                registry=self.registry,
                buckets=prediction_buckets(self.params),
            )
            self.values = self._values_family.labels(self.model_version)

    def follow(self, model_version: str, classes: list | None = None) -> None:
        """Level 5: label what is counted from now on with the version the hot reload swapped in
        (`classes`: the model's, for the first champion of a service that started without one)."""
        first = self._per_class_family is None and self._values_family is None
        self.model_version = self.gauges.model_version = model_version
        if first:
            self._count_predictions(classes)
        if self._per_class_family is not None and self.per_class is not None:
            family = self._per_class_family
            self.per_class = {
                label: family.labels(model_version, str(label)) for label in self.per_class
            }
        if self._values_family is not None:
            self.values = self._values_family.labels(model_version)

    def observe_predictions(self, predictions: list) -> None:
        """Count served predictions: per class for a classifier, as values for a regressor."""
        if self.per_class is not None:
            for label in predictions:
                self.per_class[label].inc()
        elif self.values is not None:
            for value in predictions:
                self.values.observe(value)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        version = self.model_version
        self.requests.labels(endpoint, method, str(status), version).inc()
        self.latency.labels(endpoint, version).observe(seconds)
        if status >= 400:
            self.errors.labels(endpoint, "server" if status >= 500 else "client", version).inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def prediction_buckets(params: Params) -> tuple[float, ...]:
    """Histogram buckets for a regressor: Prometheus' defaults are for seconds, not targets.

    20 evenly spaced edges over a wide guess at the target's range keep the histogram readable
    without reading the training data at start-up.
    """
    edges = [round(10 ** (exponent / 4), 6) for exponent in range(-4, 17)]  # 0.1 .. 10_000
    return (*(-edge for edge in reversed(edges)), 0.0, *edges)


def endpoint_of(path: str) -> str:
    return path if path in ROUTES else "other"


class MetricsMiddleware:
    """ASGI middleware: time each HTTP request and count it with its status."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_and_note_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self.metrics.observe_request(
                endpoint_of(scope["path"]), scope["method"], status, time.perf_counter() - started
            )
