"""Level 5 beyond one machine, for real and without Docker: the pieces of deploy/ on loopback.

A throw-away PostgreSQL cluster holds three databases (made by `deploy/run.sh databases`); the
rendered project's own `deploy/run.sh` starts `mlflow server` and `prefect server` on them, creates
a process work pool and runs a `prefect worker`. Training and monitoring run THROUGH that worker
(deployments on that server). Two service replicas, behind nginx with the shipped `nginx.conf`,
serve the champion from the MLflow server and log every prediction to PostgreSQL. Drifted traffic
makes the monitoring run emit `<package>.drift.detected`, and that event starts a retrain run.

Every process started here carries a marker in its environment; at the end none may be left
(whatever started it), and each piece's process count, memory and time to healthy are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from postgres_server import INSTALL_HINT, postgres_server, server_bin_dir
from project_harness import GeneratedProject, generate
from serving import free_port

pytestmark = pytest.mark.slow

PACKAGE = "level5_servers"
POOL = "training"
API_KEY = f"servers-test-{uuid.uuid4().hex}"
MARKER = "MLOPS_LADDER_TEST_PIECE"  # environment variable: "<run id>:<piece>"
RUN = uuid.uuid4().hex[:12]

# The loop's own deployments (`python -m <package> loop deploy`, run by `deploy/run.sh deployments`),
# as "<flow name>/<deployment name>". The first champion is trained by running the retrain
# deployment by hand; monitoring's drift event then starts the same deployment through its trigger.
RETRAIN_DEPLOYMENT = "retrain/retrain"
MONITOR_DEPLOYMENT = "monitor/monitor"


# Processes, found by the marker in their environment (children and grandchildren included)


GROUPS: dict[str, int] = {}  # piece -> its process group (nginx rewrites its environment)


def marked_processes(piece: str | None = None) -> list[int]:
    """Pids of a piece (or of any): the marker in their environment, or in the piece's group."""
    wanted = f"{MARKER}={RUN}:{piece or ''}".encode()
    groups = {GROUPS[piece]} if piece in GROUPS else set(GROUPS.values()) if piece is None else set()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            # The group id is the 5th field of stat, after the command name in parentheses.
            group = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, IndexError, ValueError):
            continue  # gone already
        if group in groups or any(item.startswith(wanted) for item in environ):
            found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Measurements:
    rows: dict[str, dict] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)  # flow runs and events, in seconds

    def record(self, piece: str, seconds_to_healthy: float) -> None:
        pids = marked_processes(piece)
        self.rows[piece] = {
            "processes": len(pids),
            "rss_mb": round(sum(rss_mb(pid) for pid in pids)),
            "healthy_after_s": round(seconds_to_healthy, 1),
        }

    def report(self) -> str:
        lines = [f"{'piece':<16}{'processes':>10}{'RSS MB':>9}{'healthy after':>15}"]
        for piece, row in self.rows.items():
            lines.append(f"{piece:<16}{row['processes']:>10}{row['rss_mb']:>9}{row['healthy_after_s']:>13} s")
        lines += [f"{what}: {seconds:.1f} s" for what, seconds in self.durations.items()]
        return "\n".join(lines)


@contextmanager
def piece(name: str, command: list[str], env: dict[str, str], logs: Path, cwd: Path, stop=signal.SIGTERM):
    """A long-running piece in its own process group, stopped with `stop` (then SIGKILL after 30 s)."""
    log = logs / f"{name}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, MARKER: f"{RUN}:{name}"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log = log  # type: ignore[attr-defined]
    process.started = time.monotonic()  # type: ignore[attr-defined]
    GROUPS[name] = process.pid
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, stop)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while marked_processes(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        kill_all(marked_processes(name))
        process.wait()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_healthy(check: Callable[[], bool], process: subprocess.Popen, timeout: float = 180) -> float:
    """Seconds from the piece's start until `check()` holds; fails with its log when it exits or
    times out."""
    started = process.started
    while time.monotonic() - started < timeout:
        assert process.poll() is None, f"exited {process.returncode}:\n{process.log.read_text()[-4000:]}"
        try:
            if check():
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"not healthy within {timeout} s:\n{process.log.read_text()[-4000:]}")


def answers_ok(url: str, headers: dict[str, str] | None = None) -> Callable[[], bool]:
    return lambda: get(url, headers)[0] == 200


# The loop on loopback


@dataclass
class Loop:
    project: GeneratedProject
    env: dict[str, str]  # what a client machine sets: the servers' addresses
    postgres_url: str  # the cluster's admin database (SQLAlchemy, psycopg 3)
    prefect_api: str
    balancer: str  # the load balancer's base URL
    replicas: list[str]
    measurements: Measurements


def database_url(admin_url: str, database: str, driver: str = "psycopg") -> str:
    base = admin_url.rsplit("/", 1)[0].replace("+psycopg", f"+{driver}")
    return f"{base}/{database}"


def prefect_flow_runs(api: str, deployment_id: str) -> list[dict]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}}
    request = urllib.request.Request(
        f"{api}/flow_runs/filter",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def worker_online(api: str) -> bool:
    request = urllib.request.Request(f"{api}/work_pools/{POOL}/workers/filter", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return any(worker["status"] == "ONLINE" for worker in json.loads(response.read()))


def smaller_settings(project: GeneratedProject) -> None:
    """A small forest and no HTML report: the runs on the worker stay short (the test is about
    where things run, not about the model)."""
    path = project.path / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["model"]["n_estimators"] = 20
    params["monitoring"]["html_sample_rows"] = 0
    params["importance"]["n_repeats"] = 1
    params["gate"]["bootstrap_rounds"] = 200
    params["loop"]["cooldown_minutes"] = 0  # the drift retrain follows the first training at once
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def deployment_id(api: str, name: str) -> str:
    with urllib.request.urlopen(f"{api}/deployments/name/{name}", timeout=10) as response:
        return json.loads(response.read())["id"]


def run_deployment(loop: Loop, name: str) -> None:
    """Run a deployment on the worker and wait for it: `prefect deployment run --watch`."""
    command = [loop.project.python, "-m", "prefect", "deployment", "run", name, "--watch", "--watch-timeout", "400"]
    result = subprocess.run(command, cwd=loop.project.path, env=loop.env, capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, f"{name}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "Completed" in result.stdout, result.stdout[-3000:]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    if server_bin_dir() is None:
        pytest.skip(INSTALL_HINT)
    if shutil.which("nginx") is None:
        pytest.skip("nginx not found; install it with `apt-get install nginx-light`")
    logs = tmp_path_factory.mktemp("logs")
    measurements = Measurements()
    with ExitStack() as stack:
        stack.callback(assert_nothing_left_running)
        admin_url = stack.enter_context(postgres_server())
        project = generate(5, tmp_path_factory.mktemp("servers"), project_name="Level5 Servers", package_name=PACKAGE)
        yield from start_everything(stack, project, admin_url, logs, measurements)
    print("\n" + measurements.report())


def assert_nothing_left_running() -> None:
    left = marked_processes()
    kill_all(left)
    assert not left, f"processes outlived their piece: {left}"


def start_everything(
    stack: ExitStack, project: GeneratedProject, admin_url: str, logs: Path, measurements: Measurements
) -> Iterator[Loop]:
    run_sh = ["bash", "deploy/run.sh"]
    mlflow_port, prefect_port = free_port(), free_port()
    prefect_api = f"http://127.0.0.1:{prefect_port}/api"
    psql_url = admin_url.replace("postgresql+psycopg://", "postgresql://")
    env = {
        **project.env,
        "PYTHON": project.python,
        "POSTGRES_ADMIN_URL": psql_url,
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
        "PREFECT_API_URL": prefect_api,
        "PREFECT_WORK_POOL": POOL,
        "PREDICTION_LOG_URL": database_url(admin_url, "predictions"),
        "AUDIT_STORE": "database",
        "API_KEYS": API_KEY,
    }
    run_once(project, env, "databases")

    (project.path / "artifacts").mkdir()
    mlflow_env = {
        **env,
        "MLFLOW_BACKEND_STORE_URI": database_url(admin_url, "mlflow"),
        "MLFLOW_ARTIFACTS_DESTINATION": str(project.path / "artifacts"),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(mlflow_port),
    }
    prefect_env = {
        **env,
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url(admin_url, "prefect", driver="asyncpg"),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(prefect_port),
    }
    # The two servers start side by side, as on two machines.
    mlflow = stack.enter_context(piece("mlflow", [*run_sh, "mlflow"], mlflow_env, logs, project.path))
    prefect = stack.enter_context(piece("prefect-server", [*run_sh, "prefect-server"], prefect_env, logs, project.path))
    measurements.record("mlflow", wait_healthy(answers_ok(f"{env['MLFLOW_TRACKING_URI']}/health"), mlflow))
    measurements.record("prefect-server", wait_healthy(answers_ok(f"{prefect_api}/health"), prefect))

    run_once(project, env, "work-pool")
    # A worker stops on SIGINT (it ignored SIGTERM for over 8 s when measured).
    worker = stack.enter_context(piece("worker", [*run_sh, "worker"], env, logs, project.path, stop=signal.SIGINT))
    smaller_settings(project)
    run_once(project, env, "deployments")
    measurements.record("worker", wait_healthy(lambda: worker_online(prefect_api), worker))

    started = time.monotonic()
    loop = Loop(project, env, admin_url, prefect_api, "", [], measurements)
    run_deployment(loop, RETRAIN_DEPLOYMENT)  # the first champion, through both gates
    measurements.durations["training run through the worker"] = time.monotonic() - started

    replicas = []
    for number in (1, 2):
        port = free_port()
        replica_env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
        name = f"service-{number}"
        replica = stack.enter_context(piece(name, [*run_sh, "service"], replica_env, logs, project.path))
        replicas.append((name, replica, f"http://127.0.0.1:{port}"))
    for name, replica, base in replicas:
        measurements.record(name, wait_healthy(answers_ok(f"{base}/ready"), replica))

    balancer_port = free_port()
    conf = logs / "nginx"
    conf.mkdir()
    shipped = (project.path / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "listen 8080;" in shipped
    (conf / "nginx.conf").write_text(shipped.replace("listen 8080;", f"listen 127.0.0.1:{balancer_port};"))
    (conf / "replicas.conf").write_text("".join(f"server {base[7:]};\n" for _, _, base in replicas))
    nginx = ["nginx", "-p", str(conf), "-c", str(conf / "nginx.conf"), "-g", f"daemon off; pid {conf}/nginx.pid;"]
    balancer = stack.enter_context(piece("nginx", nginx, env, logs, project.path, stop=signal.SIGQUIT))
    base = f"http://127.0.0.1:{balancer_port}"
    measurements.record("nginx", wait_healthy(answers_ok(f"{base}/ready"), balancer))
    yield Loop(project, env, admin_url, prefect_api, base, [base for _, _, base in replicas], measurements)


def run_once(project: GeneratedProject, env: dict[str, str], command: str) -> None:
    """A one-off command of deploy/run.sh (databases, work-pool)."""
    result = subprocess.run(
        ["bash", "deploy/run.sh", command], cwd=project.path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"run.sh {command}: {result.stdout}{result.stderr}"


def holdout_rows(project: GeneratedProject) -> list[dict]:
    code = (
        f"from {PACKAGE}.config import load_params\n"
        f"from {PACKAGE}.promotion import load_holdout\n"
        "print(load_holdout(load_params()).x.to_json(orient='records'))\n"
    )
    return json.loads(project.run(project.python, "-c", code).stdout.strip().splitlines()[-1])


def champion_version(loop: Loop) -> str:
    url = f"{loop.env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/registered-models/alias?name={PACKAGE}&alias=champion"
    status, body = get(url)
    assert status == 200, body
    return json.loads(body)["model_version"]["version"]


def test_the_champion_is_served_by_every_replica_and_logged_in_postgresql(loop: Loop) -> None:
    version = champion_version(loop)
    rows = holdout_rows(loop.project)[:40]
    key = {"X-API-Key": API_KEY}
    with ThreadPoolExecutor(4) as clients:
        answers = list(clients.map(lambda row: post(f"{loop.balancer}/predict", row, key), rows))
    assert all(status == 200 for status, _ in answers), answers[:3]
    assert {answer["model_version"] for _, answer in answers} == {version}
    for replica in loop.replicas:  # each replica loaded the champion from the MLflow server itself
        status, body = get(f"{replica}/model", key)
        assert status == 200 and json.loads(body)["version"] == version, body

    engine = sa.create_engine(database_url(loop.postgres_url, "predictions"))
    deadline = time.monotonic() + 15  # the log is written off the request path
    while True:
        with engine.connect() as connection:
            logged = connection.execute(sa.text("SELECT request_id, model_version FROM predictions")).all()
            audited = connection.execute(sa.text("SELECT event FROM audit_entries")).scalars().all()
        if len(logged) >= len(rows) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    engine.dispose()
    assert {request_id for request_id, _ in logged} == {answer["request_id"] for _, answer in answers}
    assert {logged_version for _, logged_version in logged} == {version}
    # The worker's training run wrote the audit trail into the same PostgreSQL database.
    assert {"train", "register"} <= set(audited)


def test_a_drift_event_starts_a_retrain(loop: Loop) -> None:
    rows = holdout_rows(loop.project)
    feature = next(iter(rows[0]))
    drifted = [{**row, feature: row[feature] * 5 + 100} for row in (rows * 3)[:150]]
    status, _ = post(f"{loop.balancer}/predict/batch", {"rows": drifted}, {"X-API-Key": API_KEY})
    assert status == 200
    time.sleep(2)  # the prediction log is written off the request path
    retrain = deployment_id(loop.prefect_api, RETRAIN_DEPLOYMENT)
    before = {run["id"] for run in prefect_flow_runs(loop.prefect_api, retrain)}  # the first training

    started = time.monotonic()
    run_deployment(loop, MONITOR_DEPLOYMENT)
    loop.measurements.durations["monitoring run through the worker"] = time.monotonic() - started

    # The event starts a run of the retrain deployment; the worker picks it up and starts it.
    started = time.monotonic()

    def new_runs() -> list[dict]:
        return [run for run in prefect_flow_runs(loop.prefect_api, retrain) if run["id"] not in before]

    while not (runs := new_runs()) and time.monotonic() - started < 60:
        time.sleep(0.5)
    assert len(runs) == 1, "the drift event started no retrain run within 60 s"
    loop.measurements.durations["monitoring run finished -> retrain run created"] = time.monotonic() - started
    while runs[0]["state_type"] in ("SCHEDULED", "PENDING") and time.monotonic() - started < 120:
        time.sleep(0.5)
        runs = new_runs()
    assert runs[0]["state_type"] in ("RUNNING", "COMPLETED"), runs[0]["state"]
    loop.measurements.durations["monitoring run finished -> retrain running on the worker"] = time.monotonic() - started
