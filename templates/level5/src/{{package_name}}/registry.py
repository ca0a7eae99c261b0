"""The MLflow model registry: register a training run's model and read or move its aliases.

Two aliases carry the meaning: `challenger` is the newest registered version, waiting for the
promotion gate; `champion` is the version the service loads (`models:/<name>@champion`).
"""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import audit, model_card
from .config import Params

CHAMPION = "champion"
CHALLENGER = "challenger"

# Run tags copied onto each version so its lineage is visible in the registry itself.
LINEAGE_TAGS = ("data_fingerprint", "git_commit")


def version_uri(params: Params, version: str) -> str:
    """The URI of one registered version, e.g. `models:/<name>/3`."""
    return f"models:/{params.registry.model_name}/{version}"


def register_challenger(params: Params, logged_model_uri: str) -> ModelVersion:
    """Register a logged model (`TrainResult.model_uri`) as a new version, the challenger."""
    client = MlflowClient()
    name = params.registry.model_name
    version = mlflow.register_model(logged_model_uri, name)
    # The version knows its run; copying the run's lineage tags makes them visible in the registry.
    run_tags = client.get_run(version.run_id).data.tags if version.run_id else {}
    for key in LINEAGE_TAGS:
        if key in run_tags:
            client.set_model_version_tag(name, version.version, key, run_tags[key])
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    # Level 4: the registration goes into the audit trail, and the version gets its model card
    # (rewritten by the gate with its decision).
    audit.record(
        "register", params, model=name, version=str(version.version), run_id=version.run_id
    )
    model_card.write_card(params, str(version.version))
    return client.get_model_version(name, version.version)


def get_version(params: Params, alias: str) -> ModelVersion | None:
    """The version an alias points at, or None when the model or the alias does not exist yet."""
    client = MlflowClient()
    name = params.registry.model_name
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if alias not in aliases:
        return None
    return client.get_model_version(name, str(aliases[alias]))


def get_champion(params: Params) -> ModelVersion | None:
    return get_version(params, CHAMPION)


def get_challenger(params: Params) -> ModelVersion | None:
    return get_version(params, CHALLENGER)


def set_champion(params: Params, version: str) -> None:
    MlflowClient().set_registered_model_alias(params.registry.model_name, CHAMPION, version)


def tag_version(params: Params, version: str, tags: dict[str, str]) -> None:
    """Record facts on a version (the gate's decision, for example) as version tags."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(params.registry.model_name, version, key, value)
