"""Lineage: from a registered model version back to its run, its training data and its code.

Every prediction the service logs carries the model version; this module answers "where did
that model come from": the training run, its params and metrics, the dataset it was trained on
(name, digest and our fingerprint) and the git commit of the code, plus the gate's decision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow import MlflowClient

from . import registry
from .config import Params
from .tracking import configure_tracking


def walk_back(params: Params, version: str | None = None) -> dict:
    """Everything recorded about one version (default: the champion), as plain data."""
    configure_tracking(params)
    client = MlflowClient()
    name = params.registry.model_name
    if version is None:
        champion = registry.get_champion(params)
        if champion is None:
            raise LookupError(f"model '{name}' has no champion yet: run the pipeline first")
        version = str(champion.version)
    model_version = client.get_model_version(name, version)
    if model_version.run_id is None:
        raise LookupError(f"version {version} of '{name}' was not registered from a training run")
    run = client.get_run(model_version.run_id)
    return {
        "model": name,
        "version": str(model_version.version),
        "aliases": list(model_version.aliases),
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "trained_at": datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(),
        "data_fingerprint": run.data.tags.get("data_fingerprint"),
        "git_commit": run.data.tags.get("git_commit"),
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "datasets": [
            {
                "name": item.dataset.name,
                "digest": item.dataset.digest,
                "source_type": item.dataset.source_type,
                "context": {tag.key: tag.value for tag in item.tags},
            }
            for item in (run.inputs.dataset_inputs if run.inputs else [])
        ],
        "promotion": {
            key.removeprefix("promotion."): value
            for key, value in model_version.tags.items()
            if key.startswith("promotion.")
        },
    }
