"""Level-4 service (API key, Prometheus metrics, prediction log) vs the level-3 service, and /explain.

    python benchmarks/bench_serving_level4.py [--requests 200] [--rounds 30] [--explains 200]

It renders a level-3 and a level-4 project (same dataset, same seed, so the same forest), trains
and promotes a champion in each, and starts both services with their `serve` command on free
loopback ports: level 3 as shipped, level 4 with an API key that every request sends, its metrics
middleware on, and Prometheus-style scrapes of /metrics once a second while the rounds run (what a
deployment does). One client (a persistent `http.client` connection) sends sequential single-row
requests; short rounds alternate between the two services so that changes in machine load (other
jobs on a shared machine) hit both alike.

Reported: requests per second, p50 and p99 per service, and level 4's throughput as a share of
level 3's (the target: at least 85%), overall and as the median over pairs of adjacent rounds
(the figure least moved by load changing between rounds); then /explain latency on level 4: the first call (it
imports SHAP) and p50/p99 of the following ones. It checks that both prediction logs hold every
prediction served.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PACKAGE = "bench_level4"
TARGET_SHARE = 0.85


@dataclass
class Service:
    level: int
    project: Path
    env: dict[str, str]
    port: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    per_round: list[float] = field(default_factory=list)  # requests per second
    served: int = 0  # predictions answered, warm-up included: the log must hold as many


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def render_and_train(folder: Path, level: int) -> Service:
    """Render a project, commit it (level 4's compliance gate wants the run's git commit), train
    and promote its first champion."""
    project = folder / f"level{level}"
    copier.run_copy(
        str(TEMPLATES),
        project,
        data={"level": level, "project_name": "Bench Level4", "package_name": PACKAGE},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "rendered"]):
        subprocess.run(["git", *command], cwd=project, check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREDICTION_", "PREFECT_", "API_KEYS"))}
    env["PYTHONPATH"] = str(project / "src")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{(project / 'mlflow.db').as_posix()}"
    env["PREDICTION_LOG_URL"] = f"sqlite:///{(project / 'predictions.db').as_posix()}"
    run([sys.executable, "-m", PACKAGE, "train"], project, env)
    promoted = run([sys.executable, "-m", PACKAGE, "promote"], project, env)
    if "not promoted" in promoted:
        sys.exit(f"level {level}: the first model was not promoted: {promoted.strip()}")
    service = Service(level, project, env)
    if level >= 4:
        key = secrets.token_urlsafe(32)
        service.env["API_KEYS"] = key
        service.headers = {"X-API-Key": key}
    return service


def start(service: Service) -> None:
    service.port = free_port()
    service.process = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, "serve", "--port", str(service.port)],
        cwd=service.project,
        env=service.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            sys.exit(f"level {service.level} service exited {service.process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=2)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"level {service.level} service not ready after 120 s")


def request(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict) -> bytes:
    connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
    return payload


def single_rows(service: Service, bodies: list[bytes], count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", service.port)
    for body in bodies[:10]:  # warm-up, not measured
        request(connection, "POST", "/predict", body, service.headers)
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        sent = time.perf_counter()
        request(connection, "POST", "/predict", bodies[index % len(bodies)], service.headers)
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    service.elapsed += elapsed
    service.per_round.append(count / elapsed)
    service.latencies += latencies
    service.served += min(10, len(bodies)) + count
    connection.close()


def scrape_every_second(service: Service, stop: threading.Event) -> None:
    """What Prometheus does to the level-4 service while it serves."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port)
    while not stop.wait(1.0):
        request(connection, "GET", "/metrics", None, service.headers)
    connection.close()


def explain_latency(service: Service, bodies: list[bytes], count: int) -> tuple[float, list[float]]:
    connection = http.client.HTTPConnection("127.0.0.1", service.port)
    started = time.perf_counter()
    request(connection, "POST", "/explain", bodies[0], service.headers)
    first = time.perf_counter() - started
    latencies = []
    for index in range(count):
        sent = time.perf_counter()
        request(connection, "POST", "/explain", bodies[index % len(bodies)], service.headers)
        latencies.append(time.perf_counter() - sent)
    connection.close()
    return first, latencies


def holdout_bodies(service: Service) -> list[bytes]:
    code = (
        f"from {PACKAGE}.config import load_params\n"
        f"from {PACKAGE}.promotion import load_holdout\n"
        "print(load_holdout(load_params()).x.to_json(orient='records'))\n"
    )
    rows = json.loads(run([sys.executable, "-c", code], service.project, service.env).strip().splitlines()[-1])
    return [json.dumps(row).encode() for row in rows]


def logged(service: Service) -> int:
    with sqlite3.connect(service.project / "predictions.db") as connection:
        return connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="single-row requests per round")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--explains", type=int, default=200, help="/explain requests after the first")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-level4-") as tmp:
        level3, level4 = render_and_train(Path(tmp), 3), render_and_train(Path(tmp), 4)
        bodies = holdout_bodies(level3)
        stop = threading.Event()
        scraper = None
        try:
            start(level3)
            start(level4)
            scraper = threading.Thread(target=scrape_every_second, args=(level4, stop), daemon=True)
            scraper.start()
            for round_number in range(args.rounds):
                order = (level3, level4) if round_number % 2 == 0 else (level4, level3)
                for service in order:
                    single_rows(service, bodies, args.requests)
            stop.set()
            scraper.join()
            first, explains = explain_latency(level4, bodies, args.explains)
        finally:
            stop.set()
            for service in (level3, level4):
                if service.process is not None:
                    service.process.terminate()
                    service.process.wait(timeout=30)
        counts = {service.level: logged(service) for service in (level3, level4)}

    print(f"{'service':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    throughput = {}
    for service, name in ((level3, "level 3 (logging)"), (level4, "level 4 (API key, metrics, logging)")):
        throughput[service.level] = len(service.latencies) / service.elapsed
        p50, p99 = percentile(service.latencies, 0.5) * 1000, percentile(service.latencies, 0.99) * 1000
        print(f"{name:<44} {throughput[service.level]:>8.0f} {p50:>8.2f} {p99:>8.2f}")
    share = throughput[4] / throughput[3]
    paired = sorted(four / three for three, four in zip(level3.per_round, level4.per_round, strict=True))
    median = paired[len(paired) // 2]
    verdict = "within" if median >= TARGET_SHARE else "NOT within"
    print(
        f"\nlevel 4 / level 3 throughput: {share:.1%} overall, median over {len(paired)} paired rounds "
        f"{median:.1%} (quartiles {paired[len(paired) // 4]:.1%}-{paired[3 * len(paired) // 4]:.1%}): "
        f"{verdict} 15% of level 3"
    )
    print(
        f"/explain on level 4: first call {first * 1000:.0f} ms (imports SHAP), then "
        f"p50 {percentile(explains, 0.5) * 1000:.2f} ms, p99 {percentile(explains, 0.99) * 1000:.2f} ms "
        f"over {len(explains)} calls"
    )
    for service in (level3, level4):
        # /explain predicts but does not log: only /predict rows count.
        print(f"prediction log, level {service.level}: {counts[service.level]} rows for {service.served} served")
        if counts[service.level] != service.served:
            sys.exit("a prediction log lost records")


if __name__ == "__main__":
    main()
