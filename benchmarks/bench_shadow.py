"""Level-5 service: what shadow scoring costs the champion, and level 5 (shadow and canary off) vs level 4.

    python benchmarks/bench_shadow.py [--requests 1000] [--rounds 21]

It renders a level-4 and a level-5 project (same dataset, same seed, so the same forest), trains
and promotes a champion in each, registers a second version in level 5 as its `challenger`, and
starts three services with their `serve` command on free loopback ports: level 4; level 5 with
shadow and canary off (the defaults); level 5 with `serving.shadow: true`, which also scores every
request with the challenger, in a process of its own. One client sends sequential single-row
requests (with the API key, as bench_serving_level4.py does); short rounds rotate over the three
services so that changes in machine load hit them alike.

Reported: the load average before and after (the machine is shared: say how busy it was); req/s,
p50 and p99 per service; the shadow's p50 and p99 over the plain level-5 ones, overall and as the
median and quartiles over rounds, and whether the p99 target (at most 1.10) holds by each; level
5's throughput as a share of level 4's (target: within a few percent). A round's p99 is the 10th
slowest of 1000 requests by default: with 200 it was the 2nd slowest, one stall decided it, and the
median over rounds swung by 10% between runs. The services are stopped with
SIGTERM, as in production; then it checks that each prediction log holds every prediction served,
and that the shadow's own account (its last log line: scored, skipped, failed) adds up to the
requests served and matches its rows in the log. Skipped requests are not an error: on a machine
too busy for the lower-priority shadow process, the shadow skips rather than hold the champion up;
the share it scored is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_serving_level4 import (
    PACKAGE,
    Service,
    free_port,
    holdout_bodies,
    percentile,
    render_and_train,
    request,
    run,
    single_rows,
)

SHADOW_P99_TARGET = 1.10


def register_challenger(service: Service) -> None:
    """A second version of the champion's model, as `challenger`: the shadow scores it."""
    code = (
        "from mlflow import MlflowClient\nimport mlflow\n"
        f"from {PACKAGE}.config import load_params\n"
        f"from {PACKAGE}.tracking import configure_tracking\n"
        "params = load_params(); configure_tracking(params); client = MlflowClient()\n"
        "name = params.registry.model_name\n"
        "source = client.get_model_version_by_alias(name, 'champion').source\n"
        "version = mlflow.register_model(source, name).version\n"
        "client.set_registered_model_alias(name, 'challenger', version)\n"
    )
    run([sys.executable, "-c", code], service.project, service.env)


def with_log(service: Service, name: str) -> Service:
    """The same project served again, logging to a database of its own."""
    env = {**service.env, "PREDICTION_LOG_URL": f"sqlite:///{(service.project / name).as_posix()}"}
    return Service(service.level, service.project, env, headers=service.headers)


def start(service: Service, params: Path | None = None) -> None:
    service.port = free_port()
    command = [sys.executable, "-m", PACKAGE, "serve", "--port", str(service.port)]
    if params is not None:
        command += ["--params", str(params)]
    with (service.project / f"service-{service.port}.log").open("w") as output:  # the shadow's account
        service.process = subprocess.Popen(command, cwd=service.project, env=service.env, stdout=output, stderr=output)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            sys.exit(f"a service exited {service.process.returncode}")
        try:
            import http.client

            connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=2)
            request(connection, "GET", "/ready", None, {})
            return
        except (OSError, RuntimeError):
            time.sleep(0.3)
    sys.exit("a service was not ready after 180 s")


def logged(service: Service, role: str) -> int:
    database = service.env["PREDICTION_LOG_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        query = "SELECT COUNT(*) FROM predictions WHERE role = ?" if service.level == 5 else None
        if query is None:
            return connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        return connection.execute(query, (role,)).fetchone()[0]


def shadow_account(service: Service) -> tuple[int, int, int]:
    """(scored, skipped, failed) from the line the service logs when its shadow stops."""
    text = (service.project / f"service-{service.port}.log").read_text()
    found = re.findall(r"shadow: (\d+) requests scored, (\d+) skipped, (\d+) failed", text)
    if not found:
        sys.exit(f"the shadow service logged no account:\n{text[-2000:]}")
    scored, skipped, failed = (int(number) for number in found[-1])
    return scored, skipped, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="single-row requests per round")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp:
        level4, level5 = render_and_train(Path(tmp), 4), render_and_train(Path(tmp), 5)
        register_challenger(level5)
        shadow = with_log(level5, "shadow_predictions.db")
        shadow_params = level5.project / "params_shadow.yaml"
        text = (level5.project / "params.yaml").read_text()
        shadow_params.write_text(text.replace("  shadow: false", "  shadow: true", 1))
        bodies = holdout_bodies(level4)
        services = (level4, level5, shadow)
        p50s: dict[int, list[float]] = {id(service): [] for service in services}
        p99s: dict[int, list[float]] = {id(service): [] for service in services}
        try:
            start(level4)
            start(level5)
            start(shadow, shadow_params)
            for round_number in range(args.rounds):
                shift = round_number % 3
                for service in services[shift:] + services[:shift]:
                    before = len(service.latencies)
                    single_rows(service, bodies, args.requests)
                    p50s[id(service)].append(percentile(service.latencies[before:], 0.5))
                    p99s[id(service)].append(percentile(service.latencies[before:], 0.99))
        finally:
            for service in services:
                if service.process is not None:
                    service.process.terminate()
                    service.process.wait(timeout=60)
        counts = {
            "level 4": (logged(level4, "champion"), level4.served),
            "level 5": (logged(level5, "champion"), level5.served),
            "level 5 shadow on": (logged(shadow, "champion"), shadow.served),
        }
        shadow_rows, (scored, skipped, failed) = logged(shadow, "shadow"), shadow_account(shadow)

    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load_before}, after: {load_after}, on {os.cpu_count()} cores")
    print(f"{'service':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    names = ("level 4", "level 5 (shadow, canary off)", "level 5 (shadow on)")
    for service, name in zip(services, names, strict=True):
        p50, p99 = percentile(service.latencies, 0.5) * 1000, percentile(service.latencies, 0.99) * 1000
        print(f"{name:<34} {len(service.latencies) / service.elapsed:>8.0f} {p50:>8.2f} {p99:>8.2f}")
    overall = percentile(shadow.latencies, 0.99) / percentile(level5.latencies, 0.99)
    per_round = sorted(on / off for on, off in zip(p99s[id(shadow)], p99s[id(level5)], strict=True))
    median = per_round[len(per_round) // 2]
    print(
        f"\nshadow on / off, champion p99: {overall:.3f} overall, median over {len(per_round)} rounds "
        f"{median:.3f} (quartiles {per_round[len(per_round) // 4]:.3f}-{per_round[3 * len(per_round) // 4]:.3f})"
    )
    for name, ratio in (("overall", overall), ("median of rounds", median)):
        print(f"  p99 ratio <= {SHADOW_P99_TARGET:.2f} {name}: {'yes' if ratio <= SHADOW_P99_TARGET else 'NO'}")
    p50_rounds = sorted(on / off for on, off in zip(p50s[id(shadow)], p50s[id(level5)], strict=True))
    p50_overall = percentile(shadow.latencies, 0.5) / percentile(level5.latencies, 0.5)
    print(
        f"shadow on / off, champion p50: {p50_overall:.3f} overall, median over rounds "
        f"{p50_rounds[len(p50_rounds) // 2]:.3f} "
        f"(quartiles {p50_rounds[len(p50_rounds) // 4]:.3f}-{p50_rounds[3 * len(p50_rounds) // 4]:.3f})"
    )
    shares = sorted(five / four for four, five in zip(level4.per_round, level5.per_round, strict=True))
    throughput = {service.level: len(service.latencies) / service.elapsed for service in (level4, level5)}
    print(
        f"level 5 (off) / level 4 throughput: {throughput[5] / throughput[4]:.1%} "
        f"overall, median over {len(shares)} rounds {shares[len(shares) // 2]:.1%} "
        f"(quartiles {shares[len(shares) // 4]:.1%}-{shares[3 * len(shares) // 4]:.1%})"
    )
    for name, (rows, served) in counts.items():
        print(f"prediction log, {name}: {rows} rows for {served} served")
        if rows != served:
            sys.exit("a prediction log lost records")
    print(
        f"shadow: {scored} requests scored ({scored / shadow.served:.1%}), {skipped} skipped, {failed} failed "
        f"of {shadow.served} served; {shadow_rows} shadow rows in the log"
    )
    if scored + skipped + failed != shadow.served or shadow_rows != scored:  # single rows: one row a request
        sys.exit("the shadow's account does not add up")


if __name__ == "__main__":
    main()
