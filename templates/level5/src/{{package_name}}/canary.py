"""The canary decision: promote the canary to champion, or abort it, on its live labelled rows.

With `canary.enabled`, a challenger that passes both gates of promotion.py gets the alias `canary`
instead of `champion`: the service sends it a share of the traffic, and the labels that come back
through /feedback say how it does on real requests. This module decides when that evidence is
enough and what it says.

The rule is a one-sided test of the project's primary metric (`metric`), fixed before the canary
starts:
- the question is "is the canary worse than the champion on the primary metric?", asked of the
  rows both answered in the same period (labelled rows of each version since the canary started;
  see live_labels.py);
- the number of labelled rows each needs, N, is computed up front: enough for the test to catch a
  canary worse by `canary.detect_worse_by` with probability `canary.power`, given how the
  champion did on its holdout (taken at the unlucky end of what its holdout allows, so N errs on
  the large side);
- until both have N rows, the answer is "keep collecting" and nothing is tested: looking at the
  p-value every hour and stopping at the first small one would abort equally good canaries far more
  often than `alpha` says;
- at N, a one-sided test (live_statistics.py): for accuracy, rmse and mae, means of per-row losses,
  the pooled two-proportion z-test on the error rates or Welch's t-test on the losses; for f1,
  roc_auc and r2 a z-test of the two metrics with standard errors by the delta method. p below
  `canary.alpha`: aborted (the canary alias is removed); otherwise promoted (canary -> champion,
  the old champion -> previous_champion);
- a canary that has not collected N rows within `canary.max_duration_hours` is aborted: unproven is
  not promoted.

These tests are approximate (normal approximations) and can overshoot their nominal rate a little,
so the default `alpha` is 0.025: an equally good canary is aborted well under 5% of the time, one
worse by the stated difference at least `power` (80%) of the time; mlops-ladder's
benchmarks/bench_canary.py measures both by simulation for every metric. Every decision goes into
the audit trail; an abort also alerts the webhook.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import audit, live_labels, live_statistics, promotion, registry
from .alerts import Alert, send_alerts
from .config import Params, UserError

REPORT_NAME = "canary.json"
STARTED_TAG = "canary.started_at"

PROMOTE, ABORT, COLLECT, NONE = "promote", "abort", "keep collecting", "no canary"


@dataclass
class CanaryDecision:
    """What the canary decision found; `decision` is one of promote, abort, keep collecting,
    no canary. `difference` is how much worse the canary is on the metric: positive = worse."""

    decision: str
    reason: str
    canary_version: str | None = None
    champion_version: str | None = None
    metric: str = ""  # the primary metric the decision judges
    started_at: str | None = None
    required_rows: int | None = None  # N: labelled rows each version needs before the test
    canary_rows: int = 0
    champion_rows: int = 0
    canary_metric: float | None = None
    champion_metric: float | None = None
    difference: float | None = None
    statistic: float | None = None  # z, or Welch's t for rmse and mae
    p_value: float | None = None
    acted: bool = False  # whether the aliases were moved

    def as_dict(self) -> dict:
        return asdict(self)


def judge(
    params: Params,
    canary: live_statistics.Rows,
    champion: live_statistics.Rows,
    required: int,
    elapsed_hours: float,
) -> CanaryDecision:
    """The rule itself, with no I/O: promote, abort or keep collecting."""
    settings, metric = params.canary, params.metric
    decision = CanaryDecision(COLLECT, "", metric=metric, required_rows=required)
    decision.canary_rows, decision.champion_rows = len(canary), len(champion)
    decision.canary_metric = metric_so_far(metric, canary)
    decision.champion_metric = metric_so_far(metric, champion)
    if decision.canary_metric is not None and decision.champion_metric is not None:
        decision.difference = worse_by(metric, decision.canary_metric, decision.champion_metric)
    counts = f"canary {len(canary)} of {required}, champion {len(champion)} of {required}"
    if min(len(canary), len(champion)) < required:
        if elapsed_hours > settings.max_duration_hours:
            decision.decision = ABORT
            decision.reason = (
                f"not enough labelled rows within {settings.max_duration_hours:g} h ({counts}): "
                "an unproven canary is not promoted"
            )
        else:
            decision.reason = f"keep collecting: {counts} labelled rows"
        return decision
    decision.statistic, decision.p_value = live_statistics.worse_test(metric, canary, champion)
    detail = (
        f"{metric} {decision.canary_metric:.4g} vs champion {decision.champion_metric:.4g} "
        f"on {len(canary)} and {len(champion)} labelled rows, p={decision.p_value:.3g}"
    )
    if decision.p_value < settings.alpha:
        decision.decision = ABORT
        decision.reason = f"worse than the champion: {detail} (< {settings.alpha})"
    else:
        decision.decision = PROMOTE
        decision.reason = f"not worse than the champion: {detail} (>= {settings.alpha})"
    return decision


def metric_so_far(metric: str, rows: live_statistics.Rows) -> float | None:
    """The metric on the rows so far; None while it has no value (no rows, or one class only)."""
    try:
        return live_statistics.metric_value(metric, rows) if len(rows) > 1 else None
    except ValueError:
        return None


def worse_by(metric: str, canary: float, champion: float) -> float:
    """How much worse the canary's metric is than the champion's (rmse, mae: lower is better)."""
    return canary - champion if metric in ("rmse", "mae") else champion - canary


def started_at(version) -> datetime:
    """When a version became the canary (its tag), else when it was registered."""
    tag = version.tags.get(STARTED_TAG)
    if tag:
        return datetime.fromisoformat(tag)
    return datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)


def evaluate(params: Params) -> CanaryDecision:
    """Where the running canary stands, without acting: what `canary status` prints."""
    from .tracking import configure_tracking

    configure_tracking(params)
    canary = registry.get_version(params, promotion.CANARY)
    if canary is None:
        return CanaryDecision(NONE, f"model '{params.registry.model_name}' has no canary")
    champion = registry.get_champion(params)
    if champion is None:
        raise UserError(
            f"version {canary.version} is the canary but there is no champion to compare it with. "
            "Fix: make a champion first (`promote`), or remove the canary alias."
        )
    since = started_at(canary)
    settings = params.canary
    baseline = live_labels.holdout_rows(params, str(champion.version))
    required = live_statistics.required_rows(
        params.metric, baseline, settings.detect_worse_by, settings.alpha, settings.power
    )
    elapsed = (datetime.now(UTC) - since).total_seconds() / 3600
    decision = judge(
        params,
        live_labels.live_rows(params, str(canary.version), since),
        live_labels.live_rows(params, str(champion.version), since),
        required,
        elapsed,
    )
    decision.canary_version, decision.champion_version = str(canary.version), str(champion.version)
    decision.started_at = since.isoformat()
    return decision


def decide(params: Params) -> CanaryDecision:
    """Decide the running canary and act on it: promote, abort, or leave it collecting."""
    decision = evaluate(params)
    if decision.decision in (PROMOTE, ABORT):
        report = write_report(params, decision)
        if decision.decision == PROMOTE:
            promote(params, decision)
        else:
            abort(params, decision, report)
        decision.acted = True
    return decision


def promote(params: Params, decision: CanaryDecision) -> None:
    version = str(decision.canary_version)
    promotion.make_champion(params, version)
    promotion.remove_alias(params, promotion.CANARY)
    registry.tag_version(
        params, version, {"canary.decision": "promoted", "canary.reason": decision.reason}
    )
    record(params, decision)
    name = params.registry.model_name
    audit.record(
        "promote",
        params,
        model=name,
        version=version,
        replaces=decision.champion_version,
        via="canary",
    )


def abort(params: Params, decision: CanaryDecision, report: Path) -> None:
    version = str(decision.canary_version)
    promotion.remove_alias(params, promotion.CANARY)
    # The tag keeps `promote` from making this version a canary again (promotion.py).
    registry.tag_version(
        params, version, {"canary.decision": "aborted", "canary.reason": decision.reason}
    )
    record(params, decision)
    alert = Alert(
        check="canary_aborted",
        column=decision.metric,
        value=decision.difference if decision.difference is not None else float("nan"),
        threshold=params.canary.detect_worse_by,
        model_version=version,
        report=str(report),
    )
    send_alerts(params, [alert])


def record(params: Params, decision: CanaryDecision) -> None:
    """The decision and its numbers, in the audit trail."""
    audit.record(
        "canary",
        params,
        model=params.registry.model_name,
        **{key: value for key, value in decision.as_dict().items() if key != "acted"},
    )


def write_report(params: Params, decision: CanaryDecision) -> Path:
    folder = params.resolve(params.monitoring.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    report = {"decided_at": datetime.now(UTC).isoformat(), **decision.as_dict()}
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path


def worse_in_words(params: Params) -> str:
    """The worsening `canary.detect_worse_by` stands for, e.g. "2 points of f1 worse"."""
    difference = params.canary.detect_worse_by
    if params.metric in ("rmse", "mae"):
        return f"with a {difference:.0%} higher {params.metric}"
    return f"{difference * 100:g} points of {params.metric} worse"


def describe(params: Params, decision: CanaryDecision) -> list[str]:
    """The lines `canary status` and `canary decide` print."""
    if decision.decision == NONE:
        return [f"No canary: {decision.reason}."]
    settings = params.canary
    lines = [
        f"Canary: version {decision.canary_version} against champion {decision.champion_version}, "
        f"since {decision.started_at} (at most {settings.max_duration_hours:g} h)",
        f"Needs {decision.required_rows} labelled rows each to catch a canary "
        f"{worse_in_words(params)} with power {settings.power:g}, aborting an equally good one "
        f"with probability {settings.alpha:g}",
        f"Labelled rows: canary {decision.canary_rows}, champion {decision.champion_rows}",
    ]
    if decision.difference is not None:
        lines.append(
            f"{decision.metric} so far: canary {decision.canary_metric:.4g}, champion "
            f"{decision.champion_metric:.4g} (canary worse by {decision.difference:+.4g})"
        )
    if decision.acted:
        verb = "promoted" if decision.decision == PROMOTE else "aborted"
        lines.append(f"Decision: {verb}: {decision.reason}")
    elif decision.decision == COLLECT:
        lines.append(f"Decision: {decision.reason}")
    else:
        lines.append(f"Decision due: `canary decide` will {decision.decision}: {decision.reason}")
    return lines
