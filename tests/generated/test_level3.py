"""Level 3 rendered for classification and regression, then used the way its README says.

For each task: the project's own test suite passes, lint is clean, `python -m <pkg> pipeline`
leaves a `champion` in the project's mlflow.db whose run carries its lineage (read straight from
SQLite, not through the project's code), and `python -m <pkg> serve`, the command the Dockerfile
runs, answers /ready and /predict over real HTTP.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from example_data import CHURN, add_example_data
from project_harness import GeneratedProject, generate
from serving import http, serving

pytestmark = pytest.mark.slow

CASES = {
    "classification": {"task": "classification", "dataset": "breast_cancer"},
    "regression": {"task": "regression", "dataset": "diabetes"},
    # Numbers, text categories, empty cells and a text label, at the relative path `new` records.
    "churn-csv": CHURN,
}


@pytest.fixture(scope="module", params=sorted(CASES))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    answers = CASES[request.param]
    project = generate(3, tmp_path_factory.mktemp(request.param), **answers)
    return add_example_data(project, answers) if answers["dataset"] == "csv" else project


@pytest.fixture(scope="module")
def pipeline_ran(project: GeneratedProject) -> subprocess.CompletedProcess:
    """`python -m <pkg> pipeline` once, on the project's own default stores."""
    return project.run(project.python, "-m", project.package, "pipeline", timeout=300)


def test_own_test_suite_passes(project: GeneratedProject) -> None:
    project.run_own_tests(timeout=600)


def test_lint_is_clean(project: GeneratedProject) -> None:
    project.run("ruff", "check", ".")
    project.run("ruff", "format", "--check", ".")


def test_pipeline_promotes_a_champion_that_leads_back_to_data_and_code(
    project: GeneratedProject, pipeline_ran: subprocess.CompletedProcess
) -> None:
    package = project.package
    assert "champion" in pipeline_ran.stdout
    commit = project.run("git", "rev-parse", "HEAD").stdout.strip()

    with sqlite3.connect(project.path / "mlflow.db") as db:
        (version,) = db.execute(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = 'champion'",
            (package,),
        ).fetchone()
        (run_id,) = db.execute(
            "SELECT run_id FROM model_versions WHERE name = ? AND version = ?", (package, version)
        ).fetchone()
        tags = dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)))
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)))
        digests = [
            digest
            for (digest,) in db.execute(
                "SELECT d.digest FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
                "WHERE i.destination_id = ? AND i.source_type = 'DATASET'",
                (run_id,),
            )
        ]
        decision = dict(
            db.execute(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                (package, version),
            )
        )

    fingerprint = tags["data_fingerprint"]
    assert len(fingerprint) == 64
    assert tags["git_commit"] == commit
    assert params["data_fingerprint"] == fingerprint
    assert params["registry.model_name"] == package
    assert params["data.seed"] == "42"
    assert digests == [fingerprint[:16]]
    assert decision["promotion.decision"] == "promoted"
    assert decision["data_fingerprint"] == fingerprint


def test_serve_command_answers_ready_and_predict(
    project: GeneratedProject, pipeline_ran: subprocess.CompletedProcess, tmp_path: Path
) -> None:
    with serving(project, tmp_path / "serve.log") as base:
        status, card = http("GET", f"{base}/model")
        assert status == 200, card
        status, answer = http("POST", f"{base}/predict", card["input_example"])
        assert status == 200, answer
        assert answer["prediction"] is not None
        assert str(answer["model_version"]) == str(card["version"])
        if project.path.joinpath("data", "churn.csv").exists():
            # The label as trained, and each class's probability keyed by it.
            assert answer["prediction"] in ("yes", "no")
            assert sorted(answer["probabilities"]) == ["no", "yes"]
            status, batch = http("POST", f"{base}/predict/batch", {"rows": [card["input_example"]] * 3})
            assert status == 200, batch
            assert batch["predictions"] == [answer["prediction"]] * 3
