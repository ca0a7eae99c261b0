"""Where runs are recorded: the MLflow tracking store, the experiment, and the code's git commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LifecycleStage

from .config import PROJECT_ROOT, SQLITE_PREFIX, Params, UserError


def tracking_uri(params: Params) -> str:
    """MLFLOW_TRACKING_URI when set (a server, say), else tracking.uri from params.

    A relative SQLite path is made absolute against the params file's folder, so runs land in the
    same store whatever folder the command runs in.
    """
    return params.resolve_database_url(os.environ.get("MLFLOW_TRACKING_URI") or params.tracking.uri)


def artifact_location(uri: str) -> str | None:
    """Artifacts (models) of a SQLite store go to mlruns/ next to the database file.

    For a tracking server, None lets the server decide where artifacts live.
    """
    if uri.startswith(SQLITE_PREFIX):
        database = Path(uri.removeprefix(SQLITE_PREFIX))
        return (database.parent / "mlruns").as_uri()
    return None


def configure_tracking(params: Params) -> str:
    """Point MLflow at the store and the experiment of `params`; return the experiment id."""
    uri = tracking_uri(params)
    mlflow.set_tracking_uri(uri)
    # One progress bar per model download is noise in a terminal; an exported value still wins.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = MlflowClient(uri)
    name = params.tracking.experiment
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        # An explicit artifact location keeps models out of whatever folder the command ran in.
        experiment_id = client.create_experiment(name, artifact_location=artifact_location(uri))
    elif experiment.lifecycle_stage == LifecycleStage.DELETED:
        raise UserError(
            f"The MLflow experiment '{name}' was deleted. Fix: restore it with "
            f"`mlflow experiments restore --experiment-id {experiment.experiment_id}`, "
            "or set another tracking.experiment in params.yaml."
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def latest_run_id(experiment_id: str) -> str:
    """The newest finished run of the experiment (every run `train` finishes logged a model)."""
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise UserError(
            f"No finished training run yet. Fix: run `python -m {__package__} train` first."
        )
    return runs[0].info.run_id


def git_commit(cwd: Path = PROJECT_ROOT) -> str | None:
    """The commit the code was run from, or None outside a git repository (or without git)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip()
