"""Rollback: put the previous champion back when the current one does badly in production.

Every promotion keeps the replaced champion as the alias `previous_champion` (promotion.py), so
there is always a known good version to return to. Two ways back:

- by hand, `python -m <package> rollback --reason "..."` (rollback.to_previous): the champion alias
  moves to the previous champion at once, whatever the numbers say;
- automatically, `python -m <package> rollback --check` (rollback.check; the loop runs it on a
  schedule), when the champion's live evidence says it degraded:
  * labels: its labelled live rows since it became champion are grouped in windows of
    `rollback.window_hours`; the latest window with at least `rollback.min_labels` labels is
    tested. The champion is rolled back when its live primary metric (`metric`: f1, accuracy,
    roc_auc, rmse or mae; rmse when it is r2, see judged_metric) is significantly worse
    (one-sided p < `rollback.alpha`) than `rollback.max_relative_drop` off its own holdout score,
    in a z-test that counts the holdout's own uncertainty too
    (live_statistics.metric_degradation_test).
    Testing against the drop, not against the holdout score itself, is what keeps noise from
    firing it: a champion as good as on its holdout sits a whole `max_relative_drop` away from
    the line it would have to cross significantly;
  * errors: with `rollback.service_url` set, the service's own counters (GET /metrics) of the
    champion's prediction requests and of those answered with a server error (5xx); over
    `rollback.max_error_rate` of at least `rollback.min_requests` requests, it is rolled back. The
    counters start when a service process starts: with several replicas, this reads the one at
    `service_url`.

A rollback moves `champion` to the previous champion, removes the `previous_champion` alias (the
same version cannot be returned to twice), tags the rolled-back version so `promote` refuses it
later, writes an audit entry and (automatic rollbacks) alerts the webhook. mlops-ladder's
benchmarks/bench_rollback.py measures how often the label rule fires on a champion that did not
degrade, and how often it catches one that did.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import audit, live_labels, live_statistics, promotion, registry
from .alerts import Alert, send_alerts
from .config import Params, UserError

REPORT_NAME = "rollback.json"
PREDICT_ENDPOINTS = ("/predict", "/predict/batch")


@dataclass
class RollbackDecision:
    """What the check found; `verdict` is healthy, not enough labels, degraded, no champion."""

    verdict: str
    reason: str
    rolled_back: bool = False
    champion_version: str | None = None
    previous_version: str | None = None  # the version rolled back to, or that would be
    since: str | None = None
    window_start: str | None = None
    labels: int = 0
    live_metric: float | None = None  # the primary metric on the window's labelled rows
    holdout_metric: float | None = None
    relative_drop: float | None = None  # > 0: worse than on the holdout
    p_value: float | None = None
    requests: int | None = None  # prediction requests the service counted for the champion
    error_rate: float | None = None  # the share of them answered with a server error

    def as_dict(self) -> dict:
        return asdict(self)


def judged_metric(params: Params) -> str:
    """The metric the label rule judges: the project's primary metric, except r2, judged by rmse.

    r2 divides the squared errors by the spread of the truth, and a window's truth spreads more or
    less than the holdout's whatever the model does; a relative drop of r2 is also small next to
    its noise on a few hundred rows. mlops-ladder's bench_rollback.py measured it: with an 89-row
    holdout, 13-18% of unchanged champions rolled back within a month of daily checks, against
    4.5% for rmse. The canary compares two versions on the same traffic and does judge r2.
    """
    return "rmse" if params.metric == "r2" else params.metric


def latest_judged_window(params: Params, rows: pd.DataFrame) -> pd.DataFrame | None:
    """The labelled rows of the latest window with at least `rollback.min_labels` labels."""
    if rows.empty:
        return None
    width = pd.Timedelta(hours=params.rollback.window_hours)
    windows = rows.groupby(rows["created_at"].dt.floor(width), sort=True)
    judged = [window for _, window in windows if len(window) >= params.rollback.min_labels]
    return judged[-1] if judged else None


def judge_window(
    params: Params,
    window: pd.DataFrame,
    holdout: live_statistics.Rows,
    decision: RollbackDecision,
) -> None:
    """Fill `decision` from one window of labelled rows and the champion's holdout rows."""
    live_rows = live_labels.rows_of(params, str(decision.champion_version), window)
    drop = params.rollback.max_relative_drop
    live, expected, p_value = live_statistics.metric_degradation_test(
        judged_metric(params), live_rows, holdout, drop
    )
    width = pd.Timedelta(hours=params.rollback.window_hours)
    decision.window_start = window["created_at"].iloc[0].floor(width).isoformat()
    decision.labels, decision.live_metric, decision.holdout_metric = len(window), live, expected
    decision.relative_drop = relative_drop(params, live, expected)
    decision.p_value = p_value
    detail = (
        f"{judged_metric(params)} {live:.4g} on {len(window)} labelled rows vs {expected:.4g} on "
        f"the holdout ({decision.relative_drop:+.1%} worse); worse than a {drop:.0%} drop with "
        f"p={p_value:.3g}"
    )
    if p_value < params.rollback.alpha:
        decision.verdict, decision.reason = "degraded", f"{detail} (< {params.rollback.alpha})"
    else:
        decision.verdict, decision.reason = "healthy", f"{detail} (>= {params.rollback.alpha})"


def relative_drop(params: Params, live: float, holdout: float) -> float:
    """How much worse live is than the holdout, as a share of it (> 0: worse)."""
    worse = live - holdout if judged_metric(params) in ("rmse", "mae") else holdout - live
    return worse / max(abs(holdout), 1e-12)


def service_error_rate(params: Params, version: str) -> tuple[int, int]:
    """(prediction requests, server errors) the service at `rollback.service_url` counted for
    `version`, read from its /metrics (sent with the first key of API_KEYS, if any)."""
    from prometheus_client.parser import text_string_to_metric_families

    from .auth import read_keys

    url = str(params.rollback.service_url).rstrip("/") + "/metrics"
    keys = read_keys()
    headers = {"X-API-Key": keys[0]} if keys else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
        text = answer.read().decode()
    requests = errors = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                labels.get("model_version") != version
                or labels.get("endpoint") not in PREDICT_ENDPOINTS
            ):
                continue
            if sample.name == "http_requests_total":
                requests += int(sample.value)
            elif sample.name == "http_request_errors_total" and labels.get("kind") == "server":
                errors += int(sample.value)
    return requests, errors


def judge_errors(params: Params, version: str, decision: RollbackDecision) -> None:
    """Turn a healthy verdict into degraded when the champion's server-error rate is too high."""
    if params.rollback.service_url is None:
        return
    try:
        requests, errors = service_error_rate(params, version)
    except OSError as error:  # the service is down or unreachable: say so, do not guess
        decision.reason += f"; error rate unknown ({params.rollback.service_url}: {error})"
        return
    decision.requests = requests
    if requests < params.rollback.min_requests:
        return
    decision.error_rate = errors / requests
    if decision.error_rate > params.rollback.max_error_rate:
        decision.verdict = "degraded"
        decision.reason = (
            f"server errors on {decision.error_rate:.1%} of {requests} prediction requests "
            f"(limit {params.rollback.max_error_rate:.1%}); labels: {decision.reason}"
        )


def champion_since(version) -> datetime:
    """When a version last became champion (its tag), else when it was registered."""
    tag = version.tags.get(promotion.CHAMPION_SINCE_TAG)
    if tag:
        return datetime.fromisoformat(tag)
    return datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)


def assess(params: Params) -> RollbackDecision:
    """Judge the champion on its live evidence without acting (what `--check` acts on)."""
    from .tracking import configure_tracking

    configure_tracking(params)
    champion = registry.get_champion(params)
    if champion is None:
        return RollbackDecision(
            "no champion", f"model '{params.registry.model_name}' has no champion"
        )
    version = str(champion.version)
    previous = registry.get_version(params, promotion.PREVIOUS_CHAMPION)
    since = champion_since(champion)
    decision = RollbackDecision("", "", champion_version=version, since=since.isoformat())
    decision.previous_version = None if previous is None else str(previous.version)
    rows = live_labels.labelled_rows(params, version, since)
    window = latest_judged_window(params, rows)
    if window is None:
        decision.verdict, decision.labels = "not enough labels", len(rows)
        decision.reason = (
            f"no window of {params.rollback.window_hours:g} h has {params.rollback.min_labels} "
            f"labels yet ({len(rows)} labelled rows since it became champion)"
        )
    else:
        judge_window(params, window, live_labels.holdout_rows(params, version), decision)
    judge_errors(params, version, decision)
    return decision


def check(params: Params) -> RollbackDecision:
    """The automatic rule: roll the champion back when it degraded (and `rollback.enabled`)."""
    decision = assess(params)
    if decision.verdict != "degraded":
        return decision
    if not params.rollback.enabled:
        decision.reason += "; automatic rollback is off (rollback.enabled: false)"
    elif decision.previous_version is None:
        decision.reason += "; no previous champion to roll back to"
    else:
        to_previous(params, f"automatic: {decision.reason}", who="rollback check")
        decision.rolled_back = True
    alert(params, decision, write_report(params, decision))
    return decision


def to_previous(params: Params, reason: str, who: str | None = None) -> str:
    """Move `champion` back to `previous_champion` (the manual path); returns that version."""
    from .tracking import configure_tracking

    configure_tracking(params)
    name = params.registry.model_name
    champion = registry.get_champion(params)
    previous = registry.get_version(params, promotion.PREVIOUS_CHAMPION)
    if champion is None or previous is None or str(previous.version) == str(champion.version):
        raise UserError(
            f"model '{name}' has no previous champion to roll back to (each promotion keeps one; a "
            "rollback uses it up). Fix: train and promote a better model (`pipeline`), or point "
            "the champion alias at a known good version by hand in the MLflow UI."
        )
    bad, good = str(champion.version), str(previous.version)
    now = datetime.now(UTC).isoformat()
    registry.set_champion(params, good)
    registry.tag_version(params, good, {promotion.CHAMPION_SINCE_TAG: now})
    registry.tag_version(params, bad, {"rollback.rolled_back_at": now, "rollback.reason": reason})
    promotion.remove_alias(params, promotion.PREVIOUS_CHAMPION)
    audit.record(
        "rollback", params, who=who, model=name, from_version=bad, to_version=good, reason=reason
    )
    return good


def alert(params: Params, decision: RollbackDecision, report: Path) -> None:
    """Tell the team: a rollback happened, or the champion degraded and none could be done."""
    errors = decision.error_rate
    if errors is not None and errors > params.rollback.max_error_rate:
        column, value, limit = "server_error_rate", errors, params.rollback.max_error_rate
    else:
        drop = decision.relative_drop
        column, limit = judged_metric(params), params.rollback.max_relative_drop
        value = float("nan") if drop is None else drop
    check_name = "rollback" if decision.rolled_back else "degraded_without_rollback"
    send_alerts(
        params,
        [
            Alert(
                check=check_name,
                column=column,
                value=value,
                threshold=limit,
                model_version=str(decision.champion_version),
                report=str(report),
            )
        ],
    )


def write_report(params: Params, decision: RollbackDecision) -> Path:
    folder = params.resolve(params.monitoring.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    report = {"checked_at": datetime.now(UTC).isoformat(), **decision.as_dict()}
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path
