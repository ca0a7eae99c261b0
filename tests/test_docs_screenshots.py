"""The docs' screenshots, taken from a real level-4 project in headless Chromium and saved in docs/images/.

A level-4 project is rendered, a champion and a challenger trained, its real service
started and sent traffic, and `monitor` run on that traffic. Then: the Evidently drift report it wrote,
the MLflow UI over its store (a real `mlflow ui`), and the service's /docs page. Run it after changing
what these show with `MLOPS_LADDER_UPDATE_SCREENSHOTS=1 pytest tests/test_docs_screenshots.py`; without it the
images go to a temporary folder, so a test run leaves the checkout clean. The site builds from the committed images.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from headless_browser import SWAGGER_DIR, SWAGGER_PACKAGE, ensure_npm_package, is_real_png, screenshot
from project_harness import GeneratedProject, generate
from serving import free_port, http, serving, started

pytestmark = pytest.mark.slow

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/images when asked to update the committed screenshots, else a scratch folder."""
    return DOCS_IMAGES if os.environ.get("MLOPS_LADDER_UPDATE_SCREENSHOTS") else tmp_path_factory.mktemp("images")


API_KEY = "docs-screenshot-key"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    project = generate(4, tmp_path_factory.mktemp("level4")).with_env(API_KEYS=API_KEY)
    # The pipeline's steps as plain commands (no Prefect flow to start): version 1 trained and
    # promoted to champion, then version 2 trained and registered as the challenger.
    for command in ("train", "promote", "train"):
        project.run(project.python, "-m", project.package, command, timeout=600)
    return project


def test_drift_report(project: GeneratedProject, images: Path, tmp_path: Path) -> None:
    with serving(project, tmp_path / "serve.log") as base:
        rows = example_rows(project)
        for start in range(0, 400, 50):
            batch = [rows[(start + i) % len(rows)] for i in range(50)]
            status, _ = http_with_key("POST", f"{base}/predict/batch", {"rows": batch})
            assert status == 200
    result = project.run(project.python, "-m", project.package, "monitor", check=False, timeout=600)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # quiet or alarm: both wrote the report
    report = next((project.path / "reports").glob("drift_report.html"))
    png = screenshot(report.as_uri(), images / "drift-report.png", height=1000)
    assert is_real_png(png)


def test_mlflow_ui_shows_champion_and_challenger(project: GeneratedProject, images: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [project.python, "-m", "mlflow", "ui", "--backend-store-uri", "sqlite:///mlflow.db"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**project.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with started(command, tmp_path / "mlflow.log", cwd=project.path, env=env) as server:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/health", server, tmp_path / "mlflow.log")
        name = registered_model(base)
        aliases = model_aliases(base, name)
        assert {"champion", "challenger"} <= set(aliases), aliases
        png = screenshot(f"{base}/#/models/{name}", images / "mlflow-champion-challenger.png", width=1600, height=1000)
    assert is_real_png(png)


def test_service_docs_page(project: GeneratedProject, images: Path, tmp_path: Path) -> None:
    swagger = ensure_npm_package(SWAGGER_PACKAGE, SWAGGER_DIR)
    with serving(project, tmp_path / "serve.log") as base, swagger_assets_served_locally(base, swagger) as docs:
        png = screenshot(f"{docs}/docs", images / "service-docs.png", height=1100)
    assert is_real_png(png)


def example_rows(project: GeneratedProject) -> list[dict]:
    """Rows of the project's own example file, as JSON objects."""
    import csv

    with (project.path / "examples" / "sample_rows.csv").open(encoding="utf-8") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def http_with_key(method: str, url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def wait_for(url: str, server, log: Path, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text()}")


def registered_model(base: str) -> str:
    _, found = http("GET", f"{base}/api/2.0/mlflow/registered-models/search")
    return found["registered_models"][0]["name"]


def model_aliases(base: str, name: str) -> list[str]:
    _, found = http("GET", f"{base}/api/2.0/mlflow/registered-models/get?name={name}")
    return [alias["alias"] for alias in found["registered_model"].get("aliases", [])]


@contextmanager
def swagger_assets_served_locally(service: str, swagger: Path) -> Iterator[str]:
    """A loopback proxy to the real service whose /docs page takes Swagger UI from npm, not from its CDN."""

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/swagger-ui-dist/"):
                body, kind = (swagger / self.path.removeprefix("/swagger-ui-dist/")).read_bytes(), None
            else:
                request = urllib.request.Request(service + self.path, headers={"X-API-Key": API_KEY})
                with urllib.request.urlopen(request, timeout=30) as response:
                    body, kind = response.read(), response.headers.get("Content-Type")
                if self.path == "/docs":
                    body = re.sub(rb"https://cdn\.jsdelivr\.net/npm/swagger-ui-dist@[^/]+/", b"/swagger-ui-dist/", body)
            self.send_response(200)
            guessed = "text/css" if self.path.endswith(".css") else "application/javascript"
            self.send_header("Content-Type", kind or guessed)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Proxy) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
