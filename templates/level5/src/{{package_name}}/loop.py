"""The closed loop's two steps as plain functions: watch the model, and retrain it when told to.

    monitor_once(params)        level 4's drift and data-quality monitor, then the performance
                                report on labelled predictions, then one Prefect event per crossed
                                threshold (events.py); returns what it found and sent
    retrain(params, reason)     train, register the challenger, and let level 4's gates decide
                                (the paired promotion gate, then the compliance gate); skipped
                                during the cooldown

The Prefect flows in loop_flows.py only wrap these, so the simulation and the tests call them
directly, and a scheduler other than Prefect could too.

Why a cooldown: drift is not one event but a state. Monitoring reports it at every run until a
new model is serving, and a burst of events would otherwise retrain again and again on the same
data. Prefect's concurrency limit stops a second retrain while one runs; the cooldown stops the
next one from starting right after. Its clock is the audit trail: every retrain records
`retrain` entries (started, skipped, finished with its outcome), so the rule holds across
processes and machines that share the trail, and a person can read why a retrain did not happen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from . import audit, events
from .config import Params, UserError

# Training, the gates and monitoring import MLflow, scikit-learn and pandas (seconds): each function
# imports what it uses, so a retrain skipped by the cooldown returns at once.

STARTED, SKIPPED, FINISHED = "started", "skipped", "finished"


@dataclass
class RetrainOutcome:
    """What a retrain did: skipped (and why), or the gates' decision on the new version."""

    status: str  # "skipped", "promoted", "rejected" or "failed"
    reason: str  # why it was skipped, or the gate's reason
    trigger: str  # what asked for it: an event name, "schedule", "manual"
    version: str | None = None  # the version it registered
    champion: str | None = None  # the champion after it

    def as_dict(self) -> dict:
        return asdict(self)


def monitor_once(params: Params) -> dict:
    """One monitoring round: drift and quality, then performance, then events for what crossed."""
    from .monitor import SUMMARY_NAME, run_monitor
    from .performance import REPORT_NAME, run_performance

    report_dir = params.resolve(params.monitoring.report_dir)
    try:
        summary = run_monitor(params)
    except UserError as error:
        # No prediction log or no champion yet: normal before the first traffic, not a failure.
        print(f"Monitoring skipped: {error}")
        return {"status": "skipped", "reason": str(error), "events": [], "sent": 0}
    found = events.drift_events(params, summary, report_dir / SUMMARY_NAME)
    try:
        windows = run_performance(params)
    except UserError as error:
        print(f"Performance not judged: {error}")
        windows = []
    found += events.performance_events(params, windows, report_dir / REPORT_NAME)
    sent = events.emit(found)
    return {
        "status": summary["status"],
        "model_version": summary["model_version"],
        "events": [event.name for event in found],
        "sent": sent,
        "monitoring": summary,  # the drift summary itself, for callers that read it (simulate.py)
    }


def last_retrain(params: Params) -> audit.Entry | None:
    """The latest `retrain` entry that started or finished one (skips do not count)."""
    store = audit.open_store(params)
    try:
        entries = store.entries()
    finally:
        store.close()
    for entry in reversed(entries):
        if entry.event == "retrain" and entry.what.get("step") in (STARTED, FINISHED):
            return entry
    return None


def cooldown_reason(params: Params, now: datetime) -> str | None:
    """Why a retrain must wait, or None when it may start."""
    cooldown = timedelta(minutes=params.loop.cooldown_minutes)
    entry = last_retrain(params)
    if entry is None or not cooldown:
        return None
    at = datetime.fromisoformat(entry.at)
    if now - at >= cooldown:
        return None
    until = (at + cooldown).isoformat(timespec="seconds")
    if entry.what["step"] == STARTED:
        # Started and not finished: one is running (or its process died; the cooldown ends it).
        return f"a retrain started at {entry.at} has not finished; waiting until {until}"
    return (
        f"a retrain finished at {entry.at} ({entry.what.get('outcome')}), within the "
        f"{params.loop.cooldown_minutes:g}-minute cooldown (loop.cooldown_minutes); next one "
        f"possible at {until}"
    )


def with_compliance(params: Params) -> Params:
    """The loop promotes without a person watching, so the compliance gate always runs."""
    compliance = params.governance.compliance.model_copy(update={"on_promotion": True})
    governance = params.governance.model_copy(update={"compliance": compliance})
    return params.model_copy(update={"governance": governance})


def retrain(params: Params, reason: str = "manual", now: datetime | None = None) -> RetrainOutcome:
    """Train, register and gate a new model, unless a retrain ran within the cooldown."""
    params = with_compliance(params)
    now = now or datetime.now(UTC)
    wait = cooldown_reason(params, now)
    if wait:
        audit.record("retrain", params, step=SKIPPED, trigger=reason, reason=wait)
        print(f"Retrain skipped: {wait}")
        return RetrainOutcome("skipped", wait, reason)
    from . import promotion, registry
    from .train import train

    audit.record("retrain", params, step=STARTED, trigger=reason)
    print(f"Retrain started ({reason})")
    try:
        trained = train(params)  # records `train` in the audit trail
        version = str(registry.register_challenger(params, trained.model_uri).version)
        # The paired promotion gate, then the compliance gate; records gate, promote or reject.
        decision = promotion.promote(params)
    except Exception as error:
        audit.record(
            "retrain",
            params,
            step=FINISHED,
            trigger=reason,
            outcome="failed",
            error=f"{type(error).__name__}: {error}",
        )
        raise
    champion = registry.get_champion(params)
    outcome = RetrainOutcome(
        status="promoted" if decision.promoted else "rejected",
        reason=decision.reason,
        trigger=reason,
        version=version,
        champion=None if champion is None else str(champion.version),
    )
    audit.record(
        "retrain",
        params,
        step=FINISHED,
        trigger=reason,
        outcome=outcome.status,
        version=version,
        reason=decision.reason,
    )
    print(f"Retrain finished: version {version} {outcome.status} ({decision.reason})")
    return outcome
