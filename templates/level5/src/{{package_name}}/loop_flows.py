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

from prefect import flow, get_run_logger

from . import loop
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
    return canary_decide_placeholder(load_params(params_file))


@flow(name="rollback-check", log_prints=True)
def rollback_flow(params_file: str | None = None) -> dict:
    """Roll the champion back to the previous one when its live metric or error rate degrades."""
    return rollback_check_placeholder(load_params(params_file))


# PLACEHOLDERS, to wire when canary.py and rollback.py are merged: replace each body with
#     from . import canary                     from . import rollback
#     return asdict(canary.decide(params))     return asdict(rollback.check(params))
def canary_decide_placeholder(params: object) -> dict:
    get_run_logger().warning("canary.decide is not wired into the loop yet")
    return {"status": "not wired"}


def rollback_check_placeholder(params: object) -> dict:
    get_run_logger().warning("rollback.check is not wired into the loop yet")
    return {"status": "not wired"}
