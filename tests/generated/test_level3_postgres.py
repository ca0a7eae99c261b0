"""Level 3's prediction log on PostgreSQL, the store its README offers beside SQLite.

A real PostgreSQL server (a throw-away cluster), the real service started with its serve
command and `PREDICTION_LOG_URL` pointing at the server, concurrent clients; then the rows are
read straight from PostgreSQL, and the drift report is built from them.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from postgres_server import INSTALL_HINT, postgres_server, server_bin_dir
from project_harness import GeneratedProject, generate
from serving import http, serving

pytestmark = pytest.mark.slow

CLIENTS = 4
SINGLE_ROWS = 60
BATCH_ROWS = 30


@pytest.fixture(scope="module")
def postgres_url():
    if server_bin_dir() is None:
        pytest.skip(INSTALL_HINT)
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> GeneratedProject:
    project = generate(3, tmp_path_factory.mktemp("postgres"), task="classification", dataset="breast_cancer")
    project.run(project.python, "-m", project.package, "pipeline", timeout=300)
    return project.with_env(PREDICTION_LOG_URL=postgres_url)


def holdout_rows(project: GeneratedProject) -> list[dict]:
    """Rows of the project's test split, keyed by feature name: realistic, undrifted inputs."""
    code = (
        f"from {project.package}.config import load_params\n"
        f"from {project.package}.promotion import load_holdout\n"
        "print(load_holdout(load_params()).x.to_json(orient='records'))\n"
    )
    return json.loads(project.run(project.python, "-c", code).stdout.strip().splitlines()[-1])


def test_every_prediction_served_lands_in_postgresql(
    project: GeneratedProject, postgres_url: str, tmp_path: Path
) -> None:
    holdout = holdout_rows(project)
    rows, batch = holdout[:SINGLE_ROWS], holdout[:BATCH_ROWS]
    # The clients finish before the server stops (the `with` items close in reverse order).
    with serving(project, tmp_path / "serve.log") as base, ThreadPoolExecutor(CLIENTS) as clients:
        singles = list(clients.map(lambda row: http("POST", f"{base}/predict", row), rows))
        batches = list(clients.map(lambda _: http("POST", f"{base}/predict/batch", {"rows": batch}), range(2)))
    answers = singles + batches
    assert all(status == 200 for status, _ in answers), answers

    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        logged = connection.execute(sa.text("SELECT request_id, row, prediction FROM predictions")).all()
    engine.dispose()

    expected = {(answer["request_id"], 0, answer["prediction"]) for _, answer in singles}
    for _, answer in batches:
        expected |= {(answer["request_id"], row, value) for row, value in enumerate(answer["predictions"])}
    assert len(logged) == SINGLE_ROWS + 2 * BATCH_ROWS
    assert {(request_id, row, prediction) for request_id, row, prediction in logged} == expected

    # The drift report reads the same log: served holdout rows are no drift (exit 0).
    monitor = project.run(project.python, "-m", project.package, "monitor", check=False)
    assert monitor.returncode == 0, monitor.stdout + monitor.stderr
    assert f"Compared the last {SINGLE_ROWS + 2 * BATCH_ROWS} logged inputs" in monitor.stdout
