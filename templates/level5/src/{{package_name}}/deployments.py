"""The loop's Prefect deployments: which flow runs when, registered on a server for a work pool.

    monitor          every `loop.monitor_every_minutes` (or on `loop.monitor_cron`)
    retrain          on the events named in `loop.retrain_on`, about this model (events.py)
    canary-decision  every `loop.canary_every_minutes`
    rollback-check   every `loop.rollback_every_minutes`

Every deployment has a concurrency limit of one with the collision strategy CANCEL_NEW: a run
that would start while another of the same deployment runs is cancelled, not queued. With the
cooldown in loop.retrain, a burst of ten drift events starts exactly one retrain; the other runs
show as Cancelled (or, after the first finished, as skipped) in the Prefect UI.

Deployments name their flow by module path (`<package>.loop_flows:retrain_flow`), not by file:
a worker imports the installed package, so a worker machine needs the project installed
(`pip install -e .`, which it needs anyway for the dependencies) and its checkout at the same
path (the runs start in it, and read params.yaml, the data and the stores from it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .config import Params

CANCEL_NEW = "CANCEL_NEW"


@dataclass
class LoopDeployment:
    """One deployment: its flow, its name, and when it runs (a schedule, or events)."""

    flow_name: str  # the function in loop_flows.py
    name: str
    when: str  # for people: "every 60 min", "on drift.detected"
    schedule: dict[str, Any]  # `interval` or `cron`, or nothing for an event-driven one
    triggers: list[Any]


def every(minutes: float) -> dict[str, Any]:
    return {"interval": timedelta(minutes=minutes)}


def retrain_trigger(params: Params, params_file: str) -> Any:
    """Run `retrain` on each loop event about this model; the event's name becomes its reason."""
    from prefect.events import DeploymentEventTrigger

    from .events import event_name, resource_id

    return DeploymentEventTrigger(
        name=f"retrain {params.registry.model_name} on {', '.join(params.loop.retrain_on)}",
        expect={event_name(kind) for kind in params.loop.retrain_on},
        match={"prefect.resource.id": resource_id(params)},
        parameters={"reason": "{{ event.event }}", "params_file": params_file},
    )


def loop_deployments(params: Params, params_file: str) -> list[LoopDeployment]:
    loop = params.loop
    if loop.monitor_cron:
        monitor = LoopDeployment(
            "monitoring_flow",
            "monitor",
            f"cron {loop.monitor_cron}",
            {"cron": loop.monitor_cron},
            [],
        )
    else:
        monitor = LoopDeployment(
            "monitoring_flow",
            "monitor",
            f"every {loop.monitor_every_minutes:g} min",
            every(loop.monitor_every_minutes),
            [],
        )
    retrain = LoopDeployment(
        "retrain_flow",
        "retrain",
        f"on {', '.join(loop.retrain_on)}",
        {},
        [retrain_trigger(params, params_file)],
    )
    canary = LoopDeployment(
        "canary_flow",
        "canary-decision",
        f"every {loop.canary_every_minutes:g} min",
        every(loop.canary_every_minutes),
        [],
    )
    rollback = LoopDeployment(
        "rollback_flow",
        "rollback-check",
        f"every {loop.rollback_every_minutes:g} min",
        every(loop.rollback_every_minutes),
        [],
    )
    return [monitor, retrain, canary, rollback]


def ensure_work_pool(name: str) -> None:
    """Create a process work pool of this name unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def deploy(params: Params, params_file: str, pool: str) -> list[LoopDeployment]:
    """Register every loop deployment on the server at PREFECT_API_URL, for the work pool.

    `params_file` is the absolute path of the params file the runs will read."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from . import loop_flows

    ensure_work_pool(pool)
    planned = loop_deployments(params, params_file)
    one_at_a_time = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    for planned_deployment in planned:
        flow = getattr(loop_flows, planned_deployment.flow_name)
        deployment = flow.to_deployment(
            name=planned_deployment.name,
            work_pool_name=pool,
            # The runs start in the project folder, where params.yaml and the stores are.
            job_variables={"working_dir": str(params.root)},
            parameters={"params_file": params_file},
            concurrency_limit=one_at_a_time,
            triggers=planned_deployment.triggers,
            entrypoint_type=EntrypointType.MODULE_PATH,
            **planned_deployment.schedule,
        )
        deployment.apply(work_pool_name=pool)
    return planned
