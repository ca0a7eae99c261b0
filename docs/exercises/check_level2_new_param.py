"""Level 2, exercise 1: add a model parameter (min_samples_leaf) and see MLflow track it.

python -m pytest docs/exercises/check_level2_new_param.py --project=PATH
"""

from mlflow import MlflowClient


def latest_run(tracking: MlflowClient, params: dict):
    experiment = tracking.get_experiment_by_name(params["tracking"]["experiment"])
    assert experiment is not None, "No experiment in the tracking store yet: run `make train`."
    runs = tracking.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    assert runs, "No run in the tracking store yet: run `make train`."
    return runs[0]


def test_params_yaml_sets_min_samples_leaf(params: dict):
    leaf = params["model"].get("min_samples_leaf")
    assert leaf is not None, "params.yaml has no model.min_samples_leaf: add it under `model:` (say, 5)."
    assert isinstance(leaf, int) and leaf > 1, (
        "model.min_samples_leaf should be a whole number above 1 (1 is the default)."
    )


def test_the_latest_run_tracked_it(tracking: MlflowClient, params: dict):
    run = latest_run(tracking, params)
    logged = run.data.params.get("model.min_samples_leaf")
    assert logged is not None, (
        "The latest run has no param model.min_samples_leaf: add the field to ModelParams in config.py, "
        "then run `make train`."
    )
    assert logged == str(params["model"]["min_samples_leaf"]), (
        f"The latest run logged min_samples_leaf={logged}, params.yaml says "
        f"{params['model']['min_samples_leaf']}: run `make train` again."
    )


def test_the_forest_really_used_it(tracking: MlflowClient, params: dict):
    import mlflow.sklearn

    run = latest_run(tracking, params)
    mlflow.set_tracking_uri(tracking.tracking_uri)
    forest = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model").steps[-1][1]
    assert forest.min_samples_leaf == params["model"]["min_samples_leaf"], (
        f"The model of the latest run has min_samples_leaf={forest.min_samples_leaf}: pass "
        "params.model.min_samples_leaf to the forest in features.py, then run `make train`."
    )
