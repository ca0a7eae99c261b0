"""Level-3 prediction service vs `mlflow models serve`, on the same champion, same client, same run.

    python benchmarks/bench_serving.py [--requests 2000] [--rounds 3] [--batch-rows 1000]

It renders a level-3 project into a temporary folder, trains a champion there (`train` then
`promote`, the pipeline's steps without Prefect's start-up), then starts both servers on free
loopback ports:

- the level-3 service: `python -m <package> serve` (prediction logging on, as shipped);
- MLflow's scoring server: `mlflow models serve -m models:/<name>@champion --env-manager local`.

One client (a persistent `http.client` connection: keep-alive, no client-side pooling logic)
sends sequential requests. Rounds alternate between the two servers so that drift in machine
load hits both alike. Reported per server: single-row requests per second, p50 and p99
latency, and rows per second for batches; plus the floor, `model.predict` on one row in this
process. At the end it checks that the service's prediction log holds one row per prediction it
served, so the figures are the ones with logging on.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PACKAGE = "bench_serving"


@dataclass
class Server:
    name: str
    port: int
    path: str  # single-row endpoint
    batch_path: str
    body: callable  # rows (list of dicts) -> request body bytes
    process: subprocess.Popen | None = None
    latencies: list[float] = field(default_factory=list)  # seconds, single rows
    elapsed: float = 0.0  # wall time of the single-row rounds
    per_round: list[tuple[float, float]] = field(default_factory=list)  # (req/s, p50 ms)
    batch_rows: int = 0
    batch_elapsed: float = 0.0
    batch_per_round: list[float] = field(default_factory=list)  # rows/s
    predictions: int = 0  # every row answered, warm-up included: the log must hold as many


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(
    command: list[str], cwd: Path, env: dict[str, str], input: str | None = None, allowed: tuple[int, ...] = (0,)
) -> str:
    """Run a command in the project; its stdout, or stop the benchmark with its output."""
    result = subprocess.run(command, cwd=cwd, env=env, input=input, capture_output=True, text=True)
    if result.returncode not in allowed:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def render_and_train(folder: Path, n_estimators: int | None) -> tuple[Path, dict[str, str]]:
    project = folder / "project"
    copier.run_copy(
        str(TEMPLATES),
        project,
        data={"level": 3, "project_name": "Bench Serving", "package_name": PACKAGE},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    if n_estimators is not None:
        params_file = project / "params.yaml"
        text, found = re.subn(r"n_estimators: \d+", f"n_estimators: {n_estimators}", params_file.read_text("utf-8"))
        if found != 1:
            sys.exit("params.yaml has no `n_estimators:` line to change")
        params_file.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))}
    # The project runs from its source folder; mlflow's server needs `uvicorn` on PATH.
    env["PYTHONPATH"] = str(project / "src")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{(project / 'mlflow.db').as_posix()}"
    env["PREDICTION_LOG_URL"] = f"sqlite:///{(project / 'predictions.db').as_posix()}"
    started = time.perf_counter()
    run([sys.executable, "-m", PACKAGE, "train"], project, env)
    run([sys.executable, "-m", PACKAGE, "promote"], project, env)
    print(f"trained and promoted a champion in {time.perf_counter() - started:.1f} s")
    return project, env


def wait_until_up(server: Server, probe: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"{server.name} exited with {server.process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            connection.request("GET", probe)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{server.name} not up after {timeout} s")


def post(connection: http.client.HTTPConnection, path: str, body: bytes) -> bytes:
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST {path} answered {response.status}: {payload[:300]!r}")
    return payload


def single_rows(server: Server, bodies: list[bytes], count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    for body in bodies[:50]:  # warm-up, not measured
        post(connection, server.path, body)
    server.predictions += min(50, len(bodies)) + count
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        sent = time.perf_counter()
        post(connection, server.path, bodies[index % len(bodies)])
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    server.latencies += latencies
    server.elapsed += elapsed
    server.per_round.append((count / elapsed, percentile(latencies, 0.5) * 1000))
    connection.close()


def batches(server: Server, body: bytes, rows: int, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port)
    post(connection, server.batch_path, body)  # warm-up
    server.predictions += rows * (count + 1)
    started = time.perf_counter()
    for _ in range(count):
        post(connection, server.batch_path, body)
    elapsed = time.perf_counter() - started
    server.batch_elapsed += elapsed
    server.batch_rows += rows * count
    server.batch_per_round.append(rows * count / elapsed)
    connection.close()


def floor(project: Path, env: dict[str, str], rows: list[dict], batch_rows: int) -> dict:
    """`model.predict` in-process on the same champion: one row, and one batch.

    Twice: under the warning filters a process has after `import mlflow` (what a plain script
    gets), and under a single filter, the way the service calls the model (see service.py).
    """
    code = f"""
import json, sys, time, warnings
import numpy as np, mlflow
mlflow.set_tracking_uri({env["MLFLOW_TRACKING_URI"]!r})
model = mlflow.sklearn.load_model("models:/{PACKAGE}@champion")
rows = json.loads(sys.stdin.read())
one = np.array([list(rows[0].values())], dtype=np.float64)
batch = np.array([list(row.values()) for row in rows] * ({batch_rows} // len(rows) + 1))[:{batch_rows}]
def timed(values, count):
    for _ in range(20):
        model.predict(values)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        model.predict(values)
        times.append(time.perf_counter() - started)
    return times
def measure():
    single = sorted(timed(one, 300))
    many = timed(batch, 10)
    return {{"p50": single[len(single) // 2], "mean": sum(single) / len(single),
             "batch_rows_per_s": {batch_rows} * len(many) / sum(many)}}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # the feature-name warning
    default = measure()
with warnings.catch_warnings():
    warnings.resetwarnings()
    warnings.simplefilter("ignore")
    single_filter = measure()
print(json.dumps({{"default": default, "single_filter": single_filter}}))
"""
    output = run([sys.executable, "-c", code], project, env, input=json.dumps(rows))
    return json.loads(output.strip().splitlines()[-1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="single-row requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=20, help="batch requests per round")
    parser.add_argument(
        "--n-estimators",
        type=int,
        help="trees in the champion's forest (default: the template's params.yaml, 100)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        project, env = render_and_train(Path(tmp), args.n_estimators)
        rows = holdout_rows(project, env)

        ours = Server(
            "level-3 service",
            free_port(),
            "/predict",
            "/predict/batch",
            lambda batch: json.dumps({"rows": batch}).encode(),
        )
        theirs = Server(
            "mlflow models serve",
            free_port(),
            "/invocations",
            "/invocations",
            lambda batch: json.dumps(
                {
                    "dataframe_split": {
                        "columns": list(batch[0]),
                        "data": [list(row.values()) for row in batch],
                    }
                }
            ).encode(),
        )
        ours.process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "serve", "--port", str(ours.port)],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                f"models:/{PACKAGE}@champion",
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(theirs.port),
            ],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(ours, "/ready")
            wait_until_up(theirs, "/ping")
            single_bodies = {
                ours.name: [json.dumps(row).encode() for row in rows],
                theirs.name: [theirs.body([row]) for row in rows],
            }
            batch = (rows * (args.batch_rows // len(rows) + 1))[: args.batch_rows]
            check_same_predictions(ours, theirs, rows[:20])
            for round_number in range(args.rounds):
                order = (ours, theirs) if round_number % 2 == 0 else (theirs, ours)
                for server in order:
                    single_rows(server, single_bodies[server.name], args.requests)
                for server in order:
                    batches(server, server.body(batch), args.batch_rows, args.batches)
        finally:
            for server in (ours, theirs):
                if server.process is not None:
                    server.process.terminate()
                    server.process.wait(timeout=30)
        logged = count_logged(project)
        model_floor = floor(project, env, rows, args.batch_rows)

    report(ours, theirs, model_floor, args)
    print(f"\nprediction log: {logged} rows for {ours.predictions} predictions served by the level-3 service")
    if logged != ours.predictions:
        sys.exit("the prediction log lost records")


def holdout_rows(project: Path, env: dict[str, str]) -> list[dict]:
    """Rows of the test split, as JSON objects keyed by feature name."""
    code = (
        "import json\n"
        f"from {PACKAGE}.config import load_params\n"
        f"from {PACKAGE}.promotion import load_holdout\n"
        "print(load_holdout(load_params()).x.to_json(orient='records'))\n"
    )
    return json.loads(run([sys.executable, "-c", code], project, env).strip().splitlines()[-1])


def check_same_predictions(ours: Server, theirs: Server, rows: list[dict]) -> None:
    """Both servers must answer the same predictions, or the comparison means nothing."""
    mine = http.client.HTTPConnection("127.0.0.1", ours.port)
    other = http.client.HTTPConnection("127.0.0.1", theirs.port)
    single = [json.loads(post(mine, ours.path, json.dumps(row).encode()))["prediction"] for row in rows]
    batch = json.loads(post(mine, ours.batch_path, ours.body(rows)))["predictions"]
    reference = json.loads(post(other, theirs.batch_path, theirs.body(rows)))["predictions"]
    ours.predictions += 2 * len(rows)
    if not single == batch == reference:
        sys.exit(f"predictions differ: {single} / {batch} / {reference}")


def count_logged(project: Path) -> int:
    with sqlite3.connect(project / "predictions.db") as connection:
        return connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]


def report(ours: Server, theirs: Server, model_floor: dict, args: argparse.Namespace) -> None:
    def figures(server: Server) -> tuple[float, float, float, float]:
        return (
            len(server.latencies) / server.elapsed,
            percentile(server.latencies, 0.50) * 1000,
            percentile(server.latencies, 0.99) * 1000,
            server.batch_rows / server.batch_elapsed,
        )

    mine, other = figures(ours), figures(theirs)
    print("\nper round (single rows, then batches):")
    rounds = zip(ours.per_round, theirs.per_round, ours.batch_per_round, theirs.batch_per_round, strict=True)
    for number, (mine_round, other_round, mine_batch, other_batch) in enumerate(rounds):
        print(
            f"  round {number + 1}: level-3 {mine_round[0]:.0f} req/s, p50 {mine_round[1]:.2f} ms; "
            f"mlflow {other_round[0]:.0f} req/s, p50 {other_round[1]:.2f} ms; "
            f"throughput x{mine_round[0] / other_round[0]:.2f}; "
            f"batch rows/s {mine_batch:.0f} vs {other_batch:.0f}, x{mine_batch / other_batch:.2f}"
        )
    print(
        f"\n{args.rounds} alternating rounds: {args.requests} sequential single-row requests and "
        f"{args.batches} batches of {args.batch_rows} rows per server per round\n"
    )
    print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'batch rows/s':>15}")
    for server, values in ((ours, mine), (theirs, other)):
        print(f"{server.name:24}{values[0]:10.0f}{values[1]:10.2f}{values[2]:10.2f}{values[3]:15.0f}")
    labels = {
        "default": "predict, default filters",
        "single_filter": "predict, one filter",
    }
    for key, label in labels.items():
        values = model_floor[key]
        print(
            f"{label:24}{1 / values['mean']:10.0f}{values['p50'] * 1000:10.2f}{'':10}{values['batch_rows_per_s']:15.0f}"
        )
    print("(the last two rows are model.predict in-process: the floor; 'one filter' is how the service calls it)")
    print(
        f"\nlevel-3 / mlflow: throughput x{mine[0] / other[0]:.2f} (target >= 3), "
        f"p50 x{mine[1] / other[1]:.2f} (target <= 0.33), p99 x{mine[2] / other[2]:.2f}, "
        f"batch rows/s x{mine[3] / other[3]:.2f} (target >= 1.5)"
    )
    best = model_floor["single_filter"]["p50"] * 1000
    print(f"p50 above the floor (one filter): level-3 {mine[1] - best:.2f} ms, mlflow {other[1] - best:.2f} ms")


if __name__ == "__main__":
    main()
