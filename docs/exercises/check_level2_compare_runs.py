"""Level 2, exercise 2: train with two values of max_depth and find the better run in MLflow.

python -m pytest docs/exercises/check_level2_compare_runs.py --project=PATH
"""

from pathlib import Path

from mlflow import MlflowClient

LOWER_IS_BETTER = {"rmse", "mae"}


def test_runs_with_two_depths_are_tracked(tracking: MlflowClient, params: dict):
    depths = {run.data.params.get("model.max_depth") for run in runs(tracking, params)}
    assert len(depths) >= 2, (
        f"The runs tracked so far all used max_depth {', '.join(map(str, depths)) or '(no run yet)'}: "
        "set model.max_depth to another value in params.yaml (say, 3) and run `make train`."
    )


def test_best_run_txt_names_the_best_run(project: Path, tracking: MlflowClient, params: dict):
    metric = params["metric"]
    scored = [run for run in runs(tracking, params) if metric in run.data.metrics]
    best = (min if metric in LOWER_IS_BETTER else max)(scored, key=lambda run: run.data.metrics[metric])
    note = project / "best_run.txt"
    assert note.is_file(), (
        "No best_run.txt: find the run with the best " + metric + " in `make ui` and write its run id there."
    )
    assert best.info.run_id in note.read_text(encoding="utf-8"), (
        f"best_run.txt does not hold the id of the run with the best {metric}: sort the runs by it in `make ui`."
    )


def runs(tracking: MlflowClient, params: dict) -> list:
    experiment = tracking.get_experiment_by_name(params["tracking"]["experiment"])
    return tracking.search_runs([experiment.experiment_id]) if experiment else []
