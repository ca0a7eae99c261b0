"""Alerts: each threshold a monitoring report crosses, posted to a webhook as a Slack message.

The payload is what a Slack incoming webhook takes (`text` and `blocks`), and its `metadata`
carries the same facts as data (what crossed, by how much, the threshold, the model version, the
report's path) for receivers that are not Slack. A failed delivery is retried with exponential
backoff, then reported in the monitoring summary: a webhook that is down never stops monitoring.
Plain urllib keeps this free of dependencies; one POST per alert needs no HTTP client library.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from .config import Params

TIMEOUT_SECONDS = 10.0
# Worth a retry: the receiver is overloaded, rate-limits us, or failed for a moment. Any other 4xx
# (a revoked webhook, a wrong URL) fails the same way the next time.
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Alert:
    """One crossed threshold."""

    check: str  # "drift", "missing_share", "out_of_range_share", "unseen_share", "wrong_type_share"
    column: str  # a feature name, or "prediction" for the model's output
    value: float  # the measured value: PSI for drift, a share for data quality
    threshold: float
    model_version: str
    report: str  # path of the JSON summary that holds the whole report

    def sentence(self) -> str:
        what = "drift" if self.check == "drift" else self.check.replace("_", " ")
        return (
            f"{what} in '{self.column}': {self.value:.4g} > threshold {self.threshold:.4g} "
            f"(model version {self.model_version})"
        )


@dataclass(frozen=True)
class Delivery:
    alert: Alert
    delivered: bool
    attempts: int
    error: str | None = None


def webhook_url(params: Params) -> str | None:
    """MONITOR_WEBHOOK_URL when set (a webhook URL is a secret: keep it out of git), else
    monitoring.webhook_url; None sends nothing."""
    return os.environ.get("MONITOR_WEBHOOK_URL") or params.monitoring.webhook_url


def slack_payload(alert: Alert) -> dict:
    text = f":rotating_light: {alert.sentence()}. Report: {alert.report}"
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        "metadata": {"event_type": "monitoring_alert", "event_payload": asdict(alert)},
    }


def post(url: str, payload: dict) -> None:
    """One POST; raises urllib's errors on a failed connection or a status outside 2xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
        pass


def deliver(
    url: str,
    alert: Alert,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Post one alert, retrying with backoff (backoff, 2 x backoff, ...); never raises."""
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            post(url, slack_payload(alert))
            return Delivery(alert, delivered=True, attempts=attempt)
        except urllib.error.HTTPError as failure:
            error = f"HTTP {failure.code}"
            if failure.code not in RETRY_STATUSES:
                return Delivery(alert, delivered=False, attempts=attempt, error=error)
        except (urllib.error.URLError, OSError) as failure:  # refused, unreachable, timed out
            error = str(getattr(failure, "reason", failure))
        except ValueError:  # not a URL at all: no retry will fix it
            return Delivery(alert, delivered=False, attempts=attempt, error="not an http(s) URL")
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    return Delivery(alert, delivered=False, attempts=attempts, error=error)


def send_alerts(params: Params, alerts: list[Alert]) -> list[Delivery]:
    """Send every alert to the configured webhook (none configured: nothing is sent).

    Once one alert exhausts its retries, the rest are not tried: the receiver is down, and each
    would only add its own backoff to the run. They are reported as not delivered.
    """
    url = webhook_url(params)
    if url is None or not alerts:
        return []
    deliveries: list[Delivery] = []
    for alert in alerts:
        if deliveries and not deliveries[-1].delivered:
            deliveries.append(Delivery(alert, False, 0, "not tried: an earlier alert failed"))
            continue
        monitoring = params.monitoring
        deliveries.append(
            deliver(url, alert, monitoring.webhook_attempts, monitoring.webhook_backoff_seconds)
        )
    return deliveries


def describe_target(url: str) -> str:
    """The webhook's scheme and host only: the path of a Slack webhook URL is its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"
