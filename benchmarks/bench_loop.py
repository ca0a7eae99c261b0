"""Level 5's loop: how fast an event starts a retrain, and what Prefect adds to a retrain.

Renders a level-5 project, starts `python -m <pkg> loop` (a local Prefect server, the deployments
and a process worker), then measures:

1. overhead: the same retrain (train, register, both gates) called directly, as a warm call in
   this process and as a fresh `python -c` process, against the same retrain run through Prefect
   (`run_deployment`: scheduled, picked up by the worker, run in a process of its own), alternating
   rounds; the ratio is Prefect's wall time over the direct call's;
2. event -> retrain start: one drift event at a time, the time from emitting it until the retrain
   flow run it triggers is Running (and until the run exists), median and max. The target is 30 s.
   The cooldown is on in this phase, so each run only checks the trail and skips: what is measured
   is Prefect's reaction, not the training. "Decided" is when the retrain wrote its audit entry.

Run: python benchmarks/bench_loop.py [--rounds 3] [--events 5]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PACKAGE = "loop_bench"
TARGET_SECONDS = 30.0


def render(folder: Path) -> Path:
    project = folder / "project"
    copier.run_copy(
        str(TEMPLATES),
        project,
        data={"level": 5, "project_name": "Bench Loop", "package_name": PACKAGE},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    # A git repository, as a team's project is: the compliance gate wants each run's commit.
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Scaffold"]):
        subprocess.run(["git", *command], cwd=project, check=True, capture_output=True)
    return project


def set_cooldown(project: Path, minutes: float) -> None:
    """The runs read params.yaml when they start: the next run sees the new cooldown."""
    path = project / "params.yaml"
    text = re.sub(r"cooldown_minutes: [0-9.]+", f"cooldown_minutes: {minutes:g}", path.read_text())
    path.write_text(text)


def project_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_", "AUDIT_"))}
    env["PYTHONPATH"] = str(project / "src")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{(project / 'mlflow.db').as_posix()}"
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    return env


def start_loop(project: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    log = project / "loop.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "loop"], cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 300
    while "Loop running." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the loop did not start:\n{log.read_text()}")
        time.sleep(0.5)
    url = re.search(r"http://127\.0\.0\.1:\d+", log.read_text()).group(0) + "/api"
    return process, url


def direct_fresh(project: Path, env: dict[str, str]) -> float:
    """A retrain in a process of its own, as a cron job would run it: imports included."""
    code = f"from {PACKAGE} import loop; from {PACKAGE}.config import load_params; loop.retrain(load_params(), 'bench')"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=project, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure_overhead(project: Path, env: dict[str, str], rounds: int) -> dict[str, list[float]]:
    from prefect.deployments import run_deployment

    loop = importlib.import_module(f"{PACKAGE}.loop")  # the rendered package, on sys.path
    load_params = importlib.import_module(f"{PACKAGE}.config").load_params

    samples: dict[str, list[float]] = {"direct, warm call": [], "direct, fresh process": [], "Prefect": []}
    samples["Prefect, flow run only"] = []
    for _ in range(rounds):
        started = time.perf_counter()
        loop.retrain(load_params(project / "params.yaml"), "bench")
        samples["direct, warm call"].append(time.perf_counter() - started)
        samples["direct, fresh process"].append(direct_fresh(project, env))
        started = time.perf_counter()
        run = run_deployment("retrain/retrain", parameters={"reason": "bench"}, timeout=900)
        samples["Prefect"].append(time.perf_counter() - started)
        assert run.state is not None and run.state.is_completed(), run.state
        samples["Prefect, flow run only"].append(run.total_run_time.total_seconds())
    return samples


def last_retrain_entry_time(project: Path) -> float:
    """When the latest `retrain` audit entry was written: the retrain's own decision (skip or start)."""
    from datetime import datetime

    lines = (project / "audit" / "audit.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    latest = [entry for entry in entries if entry["event"] == "retrain"][-1]
    return datetime.fromisoformat(latest["at"]).timestamp()


def measure_event_latency(project: Path, events: int) -> dict[str, list[float]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    only_retrain = DeploymentFilter(name=DeploymentFilterName(any_=["retrain"]))
    latency: dict[str, list[float]] = {"event -> run created": [], "event -> run started": []}
    latency["event -> retrain decided"] = []
    with get_client(sync_client=True) as client:
        known = {run.id for run in client.read_flow_runs(deployment_filter=only_retrain)}
        for number in range(events):
            sent = time.time()
            resource = {"prefect.resource.id": f"{PACKAGE}.model.{PACKAGE}"}
            emit_event(f"{PACKAGE}.drift.detected", resource=resource, payload={"bench": number})
            EventsWorker.drain_all(timeout=30)
            run = wait_for_new_run(client, only_retrain, known)
            known.add(run.id)
            latency["event -> run created"].append(run.created.timestamp() - sent)
            latency["event -> run started"].append(run.start_time.timestamp() - sent)
            latency["event -> retrain decided"].append(last_retrain_entry_time(project) - sent)
    return latency


def wait_for_new_run(client: Any, deployments: Any, known: set) -> Any:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        fresh = [run for run in client.read_flow_runs(deployment_filter=deployments) if run.id not in known]
        if fresh and fresh[0].state is not None and fresh[0].state.is_final():
            return fresh[0]
        time.sleep(0.2)
    sys.exit("no retrain run within 300 s of the event")


def show(name: str, values: list[float]) -> None:
    print(f"  {name:<24} median {statistics.median(values):7.2f} s   min {min(values):7.2f}   max {max(values):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="retrains per contender")
    parser.add_argument("--events", type=int, default=5, help="events for the latency")
    args = parser.parse_args()
    project = render(Path(tempfile.mkdtemp(prefix="bench-loop-")))
    env = project_env(project)
    set_cooldown(project, 0)
    started = time.perf_counter()
    process, api_url = start_loop(project, env)
    print(f"`{PACKAGE} loop` ready in {time.perf_counter() - started:.1f} s (server, 4 deployments, worker)")
    os.environ.update({k: env[k] for k in ("MLFLOW_TRACKING_URI", "PREFECT_SERVER_ANALYTICS_ENABLED")})
    os.environ.update({"PREFECT_API_URL": api_url, "PREFECT_HOME": str(project / ".prefect")})
    sys.path.insert(0, str(project / "src"))
    try:
        samples = measure_overhead(project, env, args.rounds)
        print(f"Retrain (train, register, paired gate, compliance), {args.rounds} rounds each:")
        for name, values in samples.items():
            show(name, values)
        prefect = statistics.median(samples["Prefect"])
        for name in ("direct, warm call", "direct, fresh process"):
            print(f"  Prefect / {name}: {prefect / statistics.median(samples[name]):.2f}x")
        set_cooldown(project, 600)
        latency = measure_event_latency(project, args.events)
        print(f"Drift event -> retrain flow run, {args.events} events one at a time:")
        for name, values in latency.items():
            show(name, values)
        to_start = latency["event -> run started"]
        verdict = "met" if max(to_start) < TARGET_SECONDS else "MISSED"
        print(f"  target: started within {TARGET_SECONDS:g} s: {verdict} (max {max(to_start):.1f} s)")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    print(f"Project and loop log: {project}")


if __name__ == "__main__":
    main()
