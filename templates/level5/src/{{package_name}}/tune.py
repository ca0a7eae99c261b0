"""Hyperparameter trials fanned out over a Dask cluster by Prefect; the best one meets the gates.

The flow is the same on a laptop and on a cluster. With DASK_SCHEDULER_ADDRESS unset, Prefect's
DaskTaskRunner starts a local cluster (`tuning.local_workers`) for the run and closes it after;
set to `tcp://scheduler:8786`, the trials run on that cluster's workers, which need this project
installed, MLFLOW_TRACKING_URI pointing at a tracking server they all reach (a SQLite file on
one machine cannot be shared) and PREFECT_API_URL at the Prefect server each trial reports to.

Every trial is an ordinary training run (train.py), tagged as a child of one "tuning" run so the
MLflow UI shows them nested. The trials are ranked by cross-validation on the training split,
never by the holdout: picking the best of several models on the holdout would flatter the winner,
and the gate's paired test on that same holdout would then trust a lucky score. The winner is
registered as the challenger and judged by both level-4 gates (compliance and the paired test),
exactly as a model from `pipeline` is.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from mlflow import MlflowClient
from mlflow.entities import RunStatus
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect_dask import DaskTaskRunner
from sklearn.model_selection import KFold, StratifiedKFold

from . import promotion
from .config import ModelParams, Params, load_params
from .data import feature_types, load_training_data
from .evaluate import score
from .features import build_pipeline
from .pipeline import evaluate_step, promote_step, register_step
from .significance import HIGHER_IS_BETTER
from .tracking import configure_tracking, tracking_uri
from .train import train

DASK_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
# The tag MLflow reads to show a run nested under another.
PARENT_RUN_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class TrialResult:
    model: ModelParams  # the trial's `model:` section
    run_id: str  # its child run
    model_uri: str
    cv_score: float  # the primary metric, cross-validated on the training split
    metrics: dict[str, float]  # the run's own test-split metrics, for the record


@dataclass
class TuningResult:
    parent_run_id: str
    trials: list[TrialResult]
    best: TrialResult
    version: str  # the version the best trial was registered as: the challenger
    decision: promotion.Decision


def with_model(params: Params, model: ModelParams) -> Params:
    """A copy of `params` whose `model:` section is the trial's."""
    return params.model_copy(update={"model": model})


def cross_validated_score(params: Params) -> float:
    """The primary metric averaged over `tuning.cv_folds` folds of the training split."""
    parts = load_training_data(params).split
    x, y = parts.x_train, parts.y_train
    types = feature_types(x)
    folds_of = StratifiedKFold if params.task == "classification" else KFold
    folds = folds_of(n_splits=params.tuning.cv_folds, shuffle=True, random_state=params.data.seed)
    scores = []
    for fit_rows, check_rows in folds.split(x, y):
        model = build_pipeline(params, types).fit(x.iloc[fit_rows], y.iloc[fit_rows])
        checked = score(model, params.task, x.iloc[check_rows], y.iloc[check_rows])
        scores.append(checked[params.metric])
    return float(np.mean(scores))


def run_trial(params: Params, model: ModelParams, parent_run_id: str) -> TrialResult:
    """Rank one trial by cross-validation, then train it as a child run of the tuning run."""
    # In a thread scikit-learn did not start (a Dask worker's), each of its parallel calls warns
    # that it cannot pass its configuration on: hundreds of lines per trial, about the default
    # configuration we use anyway. Set where the trial runs, since that may be another machine.
    warnings.filterwarnings("ignore", message="`sklearn.utils.parallel.delayed` should be used")
    trial_params = with_model(params, model)
    cv_score = cross_validated_score(trial_params)
    trained = train(trial_params)
    client = MlflowClient(tracking_uri(params))
    client.set_tag(trained.run_id, PARENT_RUN_TAG, parent_run_id)
    client.log_metric(trained.run_id, f"cv_{params.metric}", cv_score)
    return TrialResult(model, trained.run_id, trained.model_uri, cv_score, trained.metrics)


def best_trial(trials: list[TrialResult], metric: str) -> TrialResult:
    """The trial with the best cross-validated score (lowest for an error like rmse)."""
    if HIGHER_IS_BETTER[metric]:
        return max(trials, key=lambda trial: trial.cv_score)
    return min(trials, key=lambda trial: trial.cv_score)


# A trial that fails (a busy tracking store, a lost Dask worker) is tried once more.
@task(name="trial", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def trial_step(params: Params, model: ModelParams, parent_run_id: str) -> TrialResult:
    return run_trial(params, model, parent_run_id)


@flow(name="tune-register-promote")
def tuning_flow(params: Params | None = None) -> TuningResult:
    """Trials in parallel on the task runner -> the best registered -> both gates decide."""
    params = params or load_params()
    experiment_id = configure_tracking(params)
    logger = get_run_logger()
    client = MlflowClient(tracking_uri(params))
    # The parent run is created, not started: no run is "active" in this process while the
    # trials (possibly threads of it) start their own runs.
    parent = client.create_run(experiment_id, run_name="tuning")
    parent_id = parent.info.run_id
    client.log_param(parent_id, "trials", len(params.tuning.trials))
    try:
        futures = [trial_step.submit(params, model, parent_id) for model in params.tuning.trials]
        trials = [future.result() for future in futures]
        best = best_trial(trials, params.metric)
        client.log_param(parent_id, "best_run_id", best.run_id)
        client.log_metric(parent_id, f"best_cv_{params.metric}", best.cv_score)
    except BaseException:
        client.set_terminated(parent_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(parent_id)
    for trial in trials:
        logger.info("trial %s: cv %s %.4f", trial.model.model_dump(), params.metric, trial.cv_score)

    best_params = with_model(params, best.model)
    evaluation = evaluate_step(best_params, best.model_uri)
    version = register_step(best_params, best.model_uri)
    decision = promote_step(best_params, evaluation)
    return TuningResult(parent_id, trials, best, version, decision)


def dask_task_runner(params: Params) -> DaskTaskRunner:
    """The cluster at DASK_SCHEDULER_ADDRESS, else a local one that lives as long as the run."""
    address = os.environ.get(DASK_ADDRESS_VARIABLE)
    if address:
        return DaskTaskRunner(address=address)
    cluster = {
        "n_workers": params.tuning.local_workers,
        "threads_per_worker": 1,  # one trial per worker at a time: a forest already uses a core
        "processes": params.tuning.local_processes,
        "dashboard_address": None,  # no web dashboard on a port nobody asked for
    }
    return DaskTaskRunner(cluster_kwargs=cluster)


def run_tuning(params: Params) -> TuningResult:
    """Run the tuning flow on the Dask task runner (Prefect's temporary server unless
    PREFECT_API_URL names a real one)."""
    runner = dask_task_runner(params)
    # prefect-dask types its runner with its own future class, which Prefect's annotation of
    # with_options does not accept (a typing gap between the two packages, not a runtime one).
    return tuning_flow.with_options(task_runner=runner)(params)  # type: ignore[arg-type]
