"""Prefect events from monitoring: how a crossed threshold reaches the retrain deployment.

After each monitoring run (loop.monitor_once), every threshold that was crossed becomes one
Prefect event about the model, `<package>.model.<model_name>`:

    <package>.drift.detected        at least one column drifted (test AND effect size, monitor.py)
    <package>.performance.degraded  the latest window with enough labels degraded (performance.py)
    <package>.anomaly.rate          the share of columns with a data-quality alarm is above
                                    `loop.max_anomaly_share`

Each event's payload says what crossed which threshold (column, value, limit), the model version
and the report to open. A quiet run sends nothing. The retrain deployment listens for the events
named in `loop.retrain_on` (deployments.py); the Prefect UI lists every event under "Events".

Monitoring must never fail because Prefect is away: with no server at PREFECT_API_URL (or none
set), the events are dropped with one message per process, and monitoring goes on. Without a
server nothing could act on them anyway; `python -m <package> loop` starts one.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .config import Params

DRIFT = "drift.detected"
DEGRADED = "performance.degraded"
ANOMALY = "anomaly.rate"

_said_no_server = False  # the "events not sent" message is said once per process


@dataclass
class LoopEvent:
    """One Prefect event, before it is sent: its full name, the model it is about, the facts."""

    name: str  # <package>.drift.detected
    resource: dict[str, str]
    payload: dict = field(default_factory=dict)


def event_name(kind: str) -> str:
    """The full event name, prefixed with the package so two projects on one server stay apart."""
    return f"{__package__}.{kind}"


def resource_id(params: Params) -> str:
    return f"{__package__}.model.{params.registry.model_name}"


def resource(params: Params, version: str | None) -> dict[str, str]:
    # Prefect resource labels are strings; the version is a label so the UI can filter on it.
    return {
        "prefect.resource.id": resource_id(params),
        "prefect.resource.name": params.registry.model_name,
        "model.version": str(version or "none"),
    }


def drift_events(params: Params, summary: dict, report: Path) -> list[LoopEvent]:
    """drift.detected and anomaly.rate from a monitoring summary (monitor.run_monitor)."""
    version = summary.get("model_version")
    alarms = summary.get("alarms", [])
    drifted = [alarm for alarm in alarms if alarm["check"] == "drift"]
    quality = [alarm for alarm in alarms if alarm["check"] != "drift"]
    events = []
    if drifted:
        payload = {
            "model_version": version,
            "report": str(report),
            "crossed": [crossing(alarm) for alarm in drifted],
            "rows": summary.get("rows"),
        }
        events.append(LoopEvent(event_name(DRIFT), resource(params, version), payload))
    columns = len(summary.get("features", {})) + 1  # the features and the model's output
    share = len({alarm["column"] for alarm in quality}) / columns
    if quality and share > params.loop.max_anomaly_share:
        payload = {
            "model_version": version,
            "report": str(report),
            "anomaly_share": share,
            "threshold": params.loop.max_anomaly_share,
            "crossed": [crossing(alarm) for alarm in quality],
        }
        events.append(LoopEvent(event_name(ANOMALY), resource(params, version), payload))
    return events


def performance_events(params: Params, windows: list, report: Path) -> list[LoopEvent]:
    """performance.degraded when the latest window with enough labels degraded."""
    judged = [window for window in windows if window.verdict != "not enough labels"]
    if not judged or judged[-1].verdict != "degraded":
        return []
    latest = judged[-1]
    payload = {
        "model_version": latest.model_version,
        "report": str(report),
        "crossed": [
            {
                "check": "relative_drop",
                "metric": params.metric,
                "value": latest.relative_drop,
                "threshold": params.performance.max_relative_drop,
                "window_start": latest.start,
                "labels": latest.labels,
                "window_metric": latest.metric,
                "holdout_metric": latest.holdout_metric,
            }
        ],
    }
    return [LoopEvent(event_name(DEGRADED), resource(params, latest.model_version), payload)]


def crossing(alarm: dict) -> dict:
    """What crossed which threshold, from one monitoring alarm."""
    return {
        "check": alarm["check"],
        "column": alarm["column"],
        "value": alarm["value"],
        "threshold": alarm["threshold"],
    }


def prefect_server() -> str | None:
    """The API URL of a Prefect server that answers, or None (unset, or not answering)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return None
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=2) as answer:
            return url if answer.status == 200 else None
    except OSError:
        return None


def emit(events: list[LoopEvent]) -> int:
    """Send the events to the Prefect server; return how many were sent (0 with no server)."""
    global _said_no_server
    if not events:
        return 0
    if prefect_server() is None:
        if not _said_no_server:
            print(
                "Prefect events not sent: no Prefect server answers at PREFECT_API_URL. "
                f"Monitoring goes on; `python -m {__package__} loop` starts one that acts on them."
            )
            _said_no_server = True
        return 0
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    sent = 0
    for event in events:
        if emit_event(event.name, resource=event.resource, payload=event.payload) is not None:
            sent += 1
    # Events leave from a background thread: wait for it, so a short command loses none at exit.
    EventsWorker.drain_all(timeout=10)
    return sent
