"""Level 3, exercise 1: make the promotion gate reject a worse model, and keep the champion.

python -m pytest docs/exercises/check_level3_gate.py --project=PATH
"""

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def champion_version(tracking: MlflowClient, params: dict) -> str | None:
    try:
        return tracking.get_model_version_by_alias(params["registry"]["model_name"], "champion").version
    except MlflowException:
        return None


def test_a_champion_is_served(tracking: MlflowClient, params: dict):
    assert champion_version(tracking, params), "No champion yet: run `make pipeline` once with the default params."


def test_a_worse_challenger_was_rejected(tracking: MlflowClient, params: dict):
    name = params["registry"]["model_name"]
    versions = tracking.search_model_versions(f"name='{name}'")
    rejected = [version for version in versions if version.tags.get("promotion.decision") == "rejected"]
    assert rejected, (
        "No version was rejected by the gate yet: make the model worse in params.yaml "
        "(n_estimators: 1, max_depth: 1), then run `make pipeline` again."
    )
    assert champion_version(tracking, params) not in {version.version for version in rejected}, (
        "A rejected version is the champion: the gate's decision was overridden."
    )
    reasons = [version.tags.get("promotion.reason", "") for version in rejected]
    assert any(reason.startswith("not better") for reason in reasons), (
        f"The gate rejected it for another reason than its score: {reasons[-1]}"
    )
