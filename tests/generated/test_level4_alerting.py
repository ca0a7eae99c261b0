"""Level 4's alerting, for real: the shipped Prometheus config and rules pass promtool, and an alert
travels from a monitoring finding to a team's webhook.

The end-to-end test starts, on loopback, the generated service (with an API key), Debian's
Prometheus scraping its /metrics with the key and evaluating the shipped rules every second, and
Alertmanager sending to a local HTTP receiver. A monitoring run publishes drift; the receiver must
get the ModelInputDrift alert for the served version. Every process it starts is stopped.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from project_harness import GeneratedProject, generate, render
from serving import free_port, started

pytestmark = pytest.mark.slow

INSTALL_HINT = "needs Debian's Prometheus and Alertmanager: apt-get install -y prometheus prometheus-alertmanager"
PACKAGE = "level4_alerting"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(INSTALL_HINT)
    return path


def check(*command: str, cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered project's monitoring/ folder, with a throw-away key where Prometheus reads it."""
    project = render(4, tmp_path_factory.mktemp("rendered") / "project", project_name="Alerting", package_name=PACKAGE)
    folder = project / "monitoring"
    (folder / "api_key").write_text("check-only-key-0123456789abcdef\n", encoding="utf-8")
    return folder


def test_prometheus_config_and_rules_pass_promtool(monitoring: Path) -> None:
    assert "SUCCESS" in check(tool("promtool"), "check", "config", "prometheus.yml", cwd=monitoring)
    output = check(tool("promtool"), "check", "rules", "alert_rules.yml", cwd=monitoring)
    assert "SUCCESS: 7 rules found" in output


def test_alert_rules_fire_on_their_unit_test_series(monitoring: Path) -> None:
    assert "SUCCESS" in check(tool("promtool"), "test", "rules", "alert_rules_test.yml", cwd=monitoring)


def test_alertmanager_config_passes_amtool(monitoring: Path) -> None:
    assert "SUCCESS" in check(tool("amtool"), "check-config", "alertmanager.yml", cwd=monitoring)


def test_the_api_key_file_is_kept_out_of_git(monitoring: Path) -> None:
    assert "/api_key" in (monitoring / ".gitignore").read_text(encoding="utf-8").splitlines()


# End to end


class Receiver:
    """A local webhook: collects every JSON body Alertmanager posts."""

    def __init__(self) -> None:
        self.payloads: list[dict] = []
        received = self.payloads

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def alerts(self) -> list[dict]:
        return [alert for payload in list(self.payloads) for alert in payload.get("alerts", [])]

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(condition, what: str, processes: dict[str, tuple[subprocess.Popen, Path]], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, (process, log) in processes.items():
            assert process.poll() is None, f"{name} exited {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if condition():
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    logs = "\n".join(f"--- {name}\n{log.read_text()[-2000:]}" for name, (_, log) in processes.items())
    pytest.fail(f"{what} within {timeout} s\n{logs}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    project = generate(4, tmp_path_factory.mktemp("alerting"), task="classification", dataset="breast_cancer")
    project.run(project.python, "-m", project.package, "train", timeout=300)
    project.run(project.python, "-m", project.package, "promote", timeout=300)
    return project


def prometheus_config(project: GeneratedProject, folder: Path, service: int, alertmanager: int, key: Path) -> Path:
    """The shipped config and rules, pointed at this test's ports, checked every second, and with
    each rule's `for` wait removed (the expressions stay as shipped)."""
    shipped = project.path / "monitoring"
    rules = yaml.safe_load((shipped / "alert_rules.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    (folder / "alert_rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = yaml.safe_load((shipped / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(folder / "alert_rules.yml")]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager}"]}]
    (scrape,) = config["scrape_configs"]
    scrape["authorization"]["credentials_file"] = str(key)
    scrape["static_configs"] = [{"targets": [f"127.0.0.1:{service}"]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def alertmanager_config(project: GeneratedProject, folder: Path, webhook: str) -> Path:
    config = yaml.safe_load((project.path / "monitoring" / "alertmanager.yml").read_text(encoding="utf-8"))
    config["route"].update(group_wait="0s", group_interval="1s")
    config["receivers"][0]["webhook_configs"][0]["url"] = webhook
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_published_drift_reaches_the_webhook_as_an_alert(project: GeneratedProject, tmp_path: Path) -> None:
    # Debian names the Alertmanager binary prometheus-alertmanager.
    prometheus = tool("prometheus")
    alertmanager = shutil.which("alertmanager") or tool("prometheus-alertmanager")
    key = secrets.token_urlsafe(32)
    key_file = tmp_path / "api_key"
    key_file.write_text(key, encoding="utf-8")
    ports = {"service": free_port(), "prometheus": free_port(), "alertmanager": free_port()}
    receiver = Receiver()
    am_config = alertmanager_config(project, tmp_path, receiver.url)
    prom_config = prometheus_config(project, tmp_path, ports["service"], ports["alertmanager"], key_file)
    processes: dict[str, tuple[subprocess.Popen, Path]] = {}
    with ExitStack() as stack:
        stack.enter_context(receiver.running())
        commands = {
            "service": [project.python, "-m", project.package, "serve", "--port", str(ports["service"])],
            "alertmanager": [
                alertmanager,
                f"--config.file={am_config}",
                f"--storage.path={tmp_path / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                "--cluster.listen-address=",  # one instance: no gossip port
            ],
            "prometheus": [
                prometheus,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
            ],
        }
        for name, command in commands.items():
            log = tmp_path / f"{name}.log"
            env = {**project.env, "API_KEYS": key} if name == "service" else None
            process = stack.enter_context(started(command, log, cwd=project.path, env=env))
            processes[name] = (process, log)
        service = f"http://127.0.0.1:{ports['service']}"
        wait_for(lambda: get(f"{service}/ready")[0] == 200, "the service was not ready", processes)
        assert get(f"{service}/metrics")[0] == 401  # the key guards the metrics too
        version = json.loads(get(f"{service}/ready")[1])["version"]

        def scraped_with_the_key() -> bool:
            status, body = get(f"http://127.0.0.1:{ports['prometheus']}/api/v1/targets")
            targets = json.loads(body)["data"]["activeTargets"] if status == 200 else []
            return any(target["health"] == "up" for target in targets)

        wait_for(scraped_with_the_key, "Prometheus did not scrape /metrics with the key", processes)
        time.sleep(2)  # a few evaluations with no drift published: nothing may fire
        assert [a for a in receiver.alerts() if a["labels"]["alertname"] == "ModelInputDrift"] == []

        publish = (
            f"from {project.package}.config import load_params\n"
            f"from {project.package}.metrics import publish_gauges\n"
            "publish_gauges(load_params(), {'drift_detected': 1})\n"
        )
        project.run(project.python, "-c", publish)
        published = time.monotonic()

        def drift_alert() -> list[dict]:
            return [
                alert
                for alert in receiver.alerts()
                if alert["labels"]["alertname"] == "ModelInputDrift" and alert["status"] == "firing"
            ]

        wait_for(drift_alert, "no ModelInputDrift alert reached the webhook", processes, timeout=60)
        print(f"alert received {time.monotonic() - published:.1f} s after the drift was published")
        (alert,) = drift_alert()[:1]
        assert alert["labels"]["model_version"] == version
        assert alert["labels"]["severity"] == "warning"
        assert "drift_summary.json" in alert["annotations"]["description"]
    for name, (process, _) in processes.items():
        assert process.poll() is not None, f"{name} still runs"
