"""Shared by the exercise checks: `--project=PATH` names the learner's generated project."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml


def pytest_addoption(parser: pytest.Parser) -> None:
    # Give it as --project=PATH: pytest reads a separate PATH as a test folder before it knows this option.
    parser.addoption("--project", help="the folder of your generated project (the one with .copier-answers.yml)")


@pytest.fixture(scope="session")
def project(request: pytest.FixtureRequest) -> Path:
    given = request.config.getoption("--project")
    if not given:
        pytest.exit("Give your project's folder: --project=PATH", returncode=4)
    path = Path(given).expanduser().resolve()
    if not (path / ".copier-answers.yml").is_file():
        pytest.exit(f"{path} is not a project made by mlops-ladder (it has no .copier-answers.yml)", returncode=4)
    return path


@pytest.fixture(scope="session")
def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def params(project: Path) -> dict:
    path = project / "params.yaml"
    if not path.is_file():
        pytest.fail("params.yaml is missing: this exercise is for level 2 and up.")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tracking(project: Path, params: dict):
    """An MLflow client on the project's own store (params.yaml's tracking.uri, relative to the project)."""
    from mlflow import MlflowClient

    uri = params["tracking"]["uri"]
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri.removeprefix(prefix)).is_absolute():
        database = project / uri.removeprefix(prefix)
        if not database.is_file():
            pytest.fail(f"No tracking store at {database}: train at least once (`make train`).")
        uri = prefix + str(database)
    return MlflowClient(tracking_uri=uri)


def git(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=check)
