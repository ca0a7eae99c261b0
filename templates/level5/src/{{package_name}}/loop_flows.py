"""The closed loop's Prefect flows: each wraps one plain function, so the UI shows every round.

    monitor          loop.monitor_once: monitoring, performance, events      (on a schedule)
    retrain          loop.retrain: train, both gates, promote or reject      (on events)
    canary-decision  canary.decide: promote or abort the canary              (on a schedule)
    rollback-check   rollback.check: roll a degrading champion back          (on a schedule)

deployments.py says when each runs. A flow takes the params file's path, not the params: a
deployment's parameters must be plain JSON, and the worker reads the file when the run starts,
so an edited params.yaml counts from the next run on.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow

from . import canary, loop, rollback
from .config import load_params


@flow(name="monitor", log_prints=True)
def monitoring_flow(params_file: str | None = None) -> dict:
    """Monitor the champion once, and emit an event for each crossed threshold."""
    return loop.monitor_once(load_params(params_file))


@flow(name="retrain", log_prints=True)
def retrain_flow(reason: str = "manual", params_file: str | None = None) -> dict:
    """Retrain unless within the cooldown; the gates decide whether the new model serves."""
    return loop.retrain(load_params(params_file), reason).as_dict()


@flow(name="canary-decision", log_prints=True)
def canary_flow(params_file: str | None = None) -> dict:
    """Decide the running canary: promote it, abort it, or wait for more requests."""
    return asdict(canary.decide(load_params(params_file)))


@flow(name="rollback-check", log_prints=True)
def rollback_flow(params_file: str | None = None) -> dict:
    """Roll the champion back to the previous one when its live metric or error rate degrades."""
    return asdict(rollback.check(load_params(params_file)))
