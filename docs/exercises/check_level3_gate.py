"""Level 3, exercise 1: make the promotion gate reject a worse model, and keep the champion.

python -m pytest docs/exercises/check_level3_gate.py --project PATH
"""

from mlflow import MlflowClient


def versions(tracking: MlflowClient, params: dict) -> list:
    name = params["registry"]["model_name"]
    return sorted(tracking.search_model_versions(f"name='{name}'"), key=lambda version: int(version.version))


def test_a_champion_is_served(tracking: MlflowClient, params: dict):
    assert any("champion" in version.aliases for version in versions(tracking, params)), (
        "No champion yet: run `make pipeline` once with the default params."
    )


def test_a_worse_challenger_was_rejected(tracking: MlflowClient, params: dict):
    rejected = [v for v in versions(tracking, params) if v.tags.get("promotion.decision") == "rejected"]
    assert rejected, (
        "No version was rejected by the gate yet: make the model worse in params.yaml "
        "(n_estimators: 1, max_depth: 1), then run `make pipeline` again."
    )
    assert all("champion" not in version.aliases for version in rejected), "A rejected version is the champion."
    reason = rejected[-1].tags.get("promotion.reason", "")
    assert params["metric"] in reason, f"The gate rejected it for another reason than the metric: {reason}"
