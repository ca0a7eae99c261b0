"""Level 2 rendered for each task: its own test suite, its demo, the MLflow run the demo leaves
behind, scoring a CSV with that run's model, its lint; and a project trained from a CSV file, good
and then broken."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from example_data import CHURN, SPEND, add_example_data
from mlflow import MlflowClient
from project_harness import GeneratedProject, generate
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

pytestmark = [
    pytest.mark.slow,
    # Reading the project's store here imports MLflow, whose SQL code warns about its own use of
    # SQLAlchemy; not ours to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow"),
]


def answers_of(project: GeneratedProject) -> dict:
    return yaml.safe_load((project.path / ".copier-answers.yml").read_text(encoding="utf-8"))


def head_commit(path: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("task", "dataset", "metric"),
    [("classification", "breast_cancer", "f1"), ("regression", "diabetes", "rmse")],
)
def test_level2_project_tests_trains_tracks_and_lints(tmp_path: Path, task: str, dataset: str, metric: str):
    project = generate(2, tmp_path, task=task)
    recorded = answers_of(project)
    package = recorded["package_name"]
    assert recorded["level"] == 2
    assert (recorded["dataset"], recorded["primary_metric"]) == (dataset, metric)

    project.run_own_tests()

    demo = project.run(project.python, "-m", package, "demo")
    run_id = re.search(r"Trained run ([0-9a-f]{32})", demo.stdout).group(1)
    assert f"{package} ui" in demo.stdout

    # The run really is in the project's own SQLite store, with everything level 2 promises.
    database = project.path / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{database.as_posix()}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["task"] == task
    assert run.data.params["data.source"] == dataset
    assert run.data.params["model.n_estimators"] == "100"
    assert metric in run.data.metrics
    assert re.fullmatch(r"[0-9a-f]{64}", run.data.tags["data_fingerprint"])
    assert run.data.params["data_fingerprint"] == run.data.tags["data_fingerprint"]
    assert run.data.tags["git_commit"] == head_commit(project.path)
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == dataset

    [logged_model] = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    assert logged_model.name == "model"
    assert logged_model.artifact_location.startswith((project.path / "mlruns").as_uri())
    model = mlflow.sklearn.load_model(logged_model.artifact_location)
    assert model.n_features_in_ > 0

    # The demo's model scores a small CSV: bundled rows under the project's own column names.
    loader = {"breast_cancer": load_breast_cancer, "diabetes": load_diabetes}[dataset]
    rows = loader(as_frame=True).data.head(6).set_axis(model.feature_names_in_, axis=1)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    predicted = project.run(project.python, "-m", package, "predict", str(tmp_path / "rows.csv"))
    assert f"Scored 6 rows with the model of run {run_id}" in predicted.stdout
    assert len(pd.read_csv(project.path / "predictions.csv")["prediction"].dropna()) == 6

    project.run(project.python, "-m", "ruff", "check", ".")
    project.run(project.python, "-m", "ruff", "format", "--check", ".")
    project.run(project.python, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml")
    later = project.run("make", "pipeline", check=False)
    assert later.returncode != 0
    assert "arrives at level 3" in later.stdout


def test_level2_csv_project_trains_and_names_a_missing_target(tmp_path: Path):
    csv = tmp_path / "wine.csv"
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "label"})
    wine.to_csv(csv, index=False)
    project = generate(
        2,
        tmp_path,
        task="classification",
        dataset="csv",
        csv_path=str(csv),
        target_column="label",
    )
    package = answers_of(project)["package_name"]

    trained = project.run(project.python, "-m", package, "train")
    assert "Trained run" in trained.stdout

    wine.rename(columns={"label": "class"}).to_csv(csv, index=False)
    failed = project.run(project.python, "-m", package, "train", check=False)
    assert failed.returncode == 2
    assert "'label'" in failed.stderr
    assert "Traceback" not in failed.stderr


@pytest.mark.parametrize("answers", [CHURN, SPEND], ids=["churn-text-label", "spend-regression"])
def test_level2_trains_on_text_categories_and_gaps(tmp_path: Path, answers: dict):
    """The example CSVs at the relative path `new` records: the project's own test suite, its demo
    and scoring a CSV with gaps and an unseen category pass; then data.sha256 guards the data."""
    project = add_example_data(generate(2, tmp_path, **answers), answers)
    package = answers_of(project)["package_name"]

    project.run_own_tests()
    demo = project.run(project.python, "-m", package, "demo")
    fingerprint = re.search(r"Data fingerprint: ([0-9a-f]{64})", demo.stdout).group(1)

    rows = pd.read_csv(project.path / answers["csv_path"]).head(6).drop(columns=answers["target_column"])
    rows.loc[0, "plan"] = None
    rows.loc[1, "plan"] = "enterprise"
    rows.to_csv(tmp_path / "rows.csv", index=False)
    project.run(project.python, "-m", package, "predict", str(tmp_path / "rows.csv"))
    scored = pd.read_csv(project.path / "predictions.csv")
    assert scored["prediction"].notna().all()
    if answers is CHURN:
        assert set(scored["prediction"]) <= {"yes", "no"}
        assert list(scored.filter(like="probability_").columns) == ["probability_no", "probability_yes"]

    # Data kept out of git: the fingerprint in params.yaml accepts this data and refuses other data.
    params_file = project.path / "params.yaml"
    params_file.write_text(
        params_file.read_text(encoding="utf-8").replace("sha256: null", f"sha256: {fingerprint}"), encoding="utf-8"
    )
    project.run(project.python, "-m", package, "train")
    data_file = project.path / answers["csv_path"]
    data_file.write_text(data_file.read_text(encoding="utf-8") + data_file.read_text().splitlines()[1] + "\n")
    refused = project.run(project.python, "-m", package, "train", check=False)
    assert refused.returncode == 2
    assert f"expects {fingerprint}" in refused.stderr
    assert "Traceback" not in refused.stderr
