"""The Prefect flow that trains, evaluates, registers and promotes a model in one run.

Run it as a plain command (`python -m <package> pipeline`): with no PREFECT_API_URL, Prefect
starts a temporary local server for the run; with PREFECT_API_URL set, the run is recorded on
that server instead. The steps that talk to the tracking store retry, because a busy SQLite file
or a restarting MLflow server fails transiently; evaluation is pure computation and does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from . import promotion, registry
from .config import Params, load_params
from .tracking import configure_tracking
from .train import TrainResult, train

# Inputs are a pydantic model and ML objects: nothing worth caching between runs.
RETRYING: dict[str, Any] = {"retries": 2, "retry_delay_seconds": 2, "cache_policy": NO_CACHE}


@dataclass
class PipelineResult:
    trained: TrainResult  # the new run: id, test-split metrics, data fingerprint, model URI
    evaluation: promotion.Evaluation  # its model reloaded from MLflow and scored on the holdout
    version: str  # the version it was registered as: the challenger
    decision: promotion.Decision  # the gate's verdict


@task(name="train", **RETRYING)
def train_step(params: Params) -> TrainResult:
    return train(params)


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_step(params: Params, model_uri: str) -> promotion.Evaluation:
    """Score the logged model, reloaded as the service will load it, on the gate's holdout."""
    return promotion.evaluate_model(params, model_uri, promotion.load_holdout(params))


@task(name="register", **RETRYING)
def register_step(params: Params, model_uri: str) -> str:
    return str(registry.register_challenger(params, model_uri).version)


@task(name="promote", **RETRYING)
def promote_step(params: Params, evaluation: promotion.Evaluation) -> promotion.Decision:
    return promotion.promote(params, evaluation)


@flow(name="train-evaluate-register-promote")
def training_pipeline(params: Params | None = None) -> PipelineResult:
    """train -> evaluate -> register -> promote; the gate decides whether `champion` moves."""
    params = params or load_params()
    configure_tracking(params)
    logger = get_run_logger()
    trained = train_step(params)
    evaluation = evaluate_step(params, trained.model_uri)
    logger.info("holdout %s: %s", params.metric, evaluation.metrics.get(params.metric))
    version = register_step(params, trained.model_uri)
    decision = promote_step(params, evaluation)
    verdict = "promoted to champion" if decision.promoted else "not promoted"
    logger.info("version %s %s: %s", version, verdict, decision.reason)
    return PipelineResult(trained, evaluation, version, decision)
