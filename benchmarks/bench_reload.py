"""Level-5 hot reload: how long from moving the `champion` alias to the new version answering, and
what clients get meanwhile.

    python benchmarks/bench_reload.py [--swaps 6] [--clients 4] [--poll 1.0]

It renders a level-5 project, trains and promotes a champion, registers two more versions of the
same model, and starts the service with its `serve` command (serving.reload_seconds set to
--poll) on a free loopback port. Client threads send single rows without pause while the
benchmark moves the champion alias --swaps times, waiting each time until an answer names the new
version. Reported per swap: the reload time (alias moved -> first answer from the new version;
it includes waiting for the next poll, so it lies between the load-and-warm time and that plus
--poll), the requests answered meanwhile, and errors (any status but 200, or a broken
connection); then the prediction log is checked against the answers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_serving_level4 import PACKAGE, holdout_bodies, render_and_train, run
from bench_shadow import start


@dataclass
class Answers:
    """(finished at, status, model version) of every request, from every client thread."""

    items: list[tuple[float, int, str]] = field(default_factory=list)
    rows: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, version: str) -> None:
        with self.lock:
            self.items.append((time.perf_counter(), status, version))
            self.rows += status == 200

    def between(self, begin: float, end: float) -> list[tuple[float, int, str]]:
        with self.lock:
            return [item for item in self.items if begin <= item[0] <= end]

    def seen_since(self, begin: float, version: str) -> float | None:
        with self.lock:
            done = [at for at, status, got in self.items if at >= begin and got == version]
        return min(done) if done else None


def client(port: int, headers: dict, bodies: list[bytes], answers: Answers, stop: threading.Event) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    index = 0
    while not stop.is_set():
        index += 1
        try:
            connection.request(
                "POST",
                "/predict",
                body=bodies[index % len(bodies)],
                headers={"Content-Type": "application/json", **headers},
            )
            response = connection.getresponse()
            payload = response.read()
        except OSError:
            answers.add(0, "")  # a broken connection counts as an error
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        version = json.loads(payload).get("model_version", "") if response.status == 200 else ""
        answers.add(response.status, version)
    connection.close()


def register_versions(project: Path, env: dict, count: int) -> tuple[str, list[str]]:
    code = (
        "from mlflow import MlflowClient\nimport mlflow\n"
        f"from {PACKAGE}.config import load_params\n"
        f"from {PACKAGE}.tracking import configure_tracking\n"
        "params = load_params(); configure_tracking(params); client = MlflowClient()\n"
        "name = params.registry.model_name\n"
        "first = client.get_model_version_by_alias(name, 'champion')\n"
        f"more = [mlflow.register_model(first.source, name).version for _ in range({count})]\n"
        "print(' '.join(map(str, [name, first.version, *more])))\n"
    )
    name, *versions = run([sys.executable, "-c", code], project, env).strip().splitlines()[-1].split()
    return name, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--poll", type=float, default=1.0, help="serving.reload_seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        service = render_and_train(Path(tmp), 5)
        params = service.project / "params.yaml"
        text = params.read_text()
        params.write_text(text.replace("  reload_seconds: 5 ", f"  reload_seconds: {args.poll} ", 1))
        name, versions = register_versions(service.project, service.env, 2)
        bodies = holdout_bodies(service)

        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(service.env["MLFLOW_TRACKING_URI"])
        registry = MlflowClient()
        answers, stop = Answers(), threading.Event()
        threads = []
        results = []
        try:
            start(service)
            for _ in range(args.clients):
                thread = threading.Thread(
                    target=client, args=(service.port, service.headers, bodies, answers, stop), daemon=True
                )
                thread.start()
                threads.append(thread)
            time.sleep(2)
            for swap in range(args.swaps):
                version = versions[(swap + 1) % len(versions)]
                moved = time.perf_counter()
                registry.set_registered_model_alias(name, "champion", version)
                deadline = moved + 60
                while (answered := answers.seen_since(moved, version)) is None:
                    if time.perf_counter() > deadline:
                        sys.exit(f"version {version} did not answer within 60 s")
                    time.sleep(0.01)
                during = answers.between(moved, answered)
                errors = sum(status != 200 for _, status, _ in during)
                results.append((version, answered - moved, len(during), errors))
                time.sleep(1)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            stop.set()
            if service.process is not None:
                service.process.terminate()
                service.process.wait(timeout=60)
        with sqlite3.connect(service.project / "predictions.db") as connection:
            rows = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]

    print(f"poll interval (serving.reload_seconds): {args.poll} s, {args.clients} clients sending without pause")
    print(f"{'swap':>4} {'to version':>10} {'reload s':>9} {'answered meanwhile':>19} {'errors':>7}")
    for number, (version, seconds, during, errors) in enumerate(results, 1):
        print(f"{number:>4} {version:>10} {seconds:>9.2f} {during:>19} {errors:>7}")
    times = sorted(seconds for _, seconds, _, _ in results)
    total_errors = sum(status != 200 for _, status, _ in answers.items)
    print(
        f"\nreload time: median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s; "
        f"requests answered during reloads: {sum(r[2] for r in results)}; "
        f"errors: {total_errors} of {len(answers.items)} requests in all"
    )
    print(f"prediction log: {rows} rows for {answers.rows} answered")
    if total_errors or rows != answers.rows:
        sys.exit("errors during reload, or the prediction log does not match the answers")


if __name__ == "__main__":
    main()
