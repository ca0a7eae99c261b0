"""The stack the generated projects use imports and runs together, so the next version breakage shows here.

Two breakages are pinned around in pyproject.toml (shared/STACK.md): Prefect 3.8 with FastAPI >= 0.155
fails every flow run, and Evidently 0.7.23 fails to import with pandas 3.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from project_harness import EPHEMERAL_STARTUP_TIMEOUT
from pydantic import BaseModel


def test_evidently_imports_and_reports_drift():
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 300), "y": rng.normal(0, 1, 300)})
    current = pd.DataFrame({"x": rng.normal(3, 1, 300), "y": rng.normal(0, 1, 300)})
    snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
    assert "DriftedColumnsCount" in snapshot.json()


def test_prefect_flow_runs_on_the_ephemeral_server(tmp_path):
    script = textwrap.dedent(
        """
        from prefect import flow, task

        @task(retries=1)
        def double(x):
            return 2 * x

        @flow
        def pipeline(x):
            return double(x) + 1

        print("result", pipeline(20))
        """
    )
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": EPHEMERAL_STARTUP_TIMEOUT,
    }
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert "result 41" in result.stdout, result.stderr[-3000:]


def test_mlflow_tracks_and_registers_a_scikit_learn_model(tmp_path):
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(x, y)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("stack", artifact_location=(tmp_path / "mlruns").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(x, model.predict(x)), registered_model_name="stack"
        )
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert (loaded.predict(x) == model.predict(x)).all()
    mlflow.set_tracking_uri(None)


class Row(BaseModel):
    x: float


def test_fastapi_serves_with_pydantic_validation():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.post("/double")
    def double(row: Row) -> dict:
        return {"y": 2 * row.x}

    client = TestClient(app)
    assert client.post("/double", json={"x": 2}).json() == {"y": 4}
    assert client.post("/double", json={"x": "two"}).status_code == 422


def test_a_generated_projects_venv_sees_the_stack_of_the_interpreter_running_the_tests(tmp_path):
    """From a venv, the base interpreter or beside a wheel install: the stack is where this interpreter has it."""
    import nbformat
    import sklearn
    from project_harness import host_site_dirs, stack_venv

    for module in (sklearn, nbformat):
        assert str(Path(module.__file__).resolve().parents[1]) in {str(Path(d).resolve()) for d in host_site_dirs()}
    python = stack_venv(tmp_path / "venv")
    probe = "import sys, sklearn, nbformat; print(sys.prefix); print(sklearn.__file__)"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    prefix, sklearn_file = result.stdout.splitlines()
    assert Path(prefix) == tmp_path / "venv"  # its own prefix, so editable installs land in it, not in the host
    assert Path(sklearn_file).resolve() == Path(sklearn.__file__).resolve()
