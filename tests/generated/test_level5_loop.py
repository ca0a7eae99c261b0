"""Level 5's loop for real: `python -m <pkg> loop` starts a Prefect server, the deployments and a
worker; a burst of ten drift events starts exactly one retrain; Ctrl-C (SIGINT) or SIGTERM stops
every process it started.

Too slow for the generated project's own suite (a server start, a training, a worker's flow runs:
a minute or two), so it runs here, against a rendered and installed level-5 project.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_harness import GeneratedProject, generate

pytestmark = pytest.mark.slow

READY = "Loop running."
STARTUP_SECONDS = 240  # a Prefect server took 20-60 s to answer on a busy 2-core machine

# Run with the project's python, PREFECT_API_URL set: send the burst, then wait until every retrain
# run is final and print their states and the retrain steps of the audit trail as JSON.
BURST = """
import json, sys, time
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.events import emit_event
from prefect.events.worker import EventsWorker

package, model = sys.argv[1], sys.argv[2]
for i in range(10):
    emit_event(f"{package}.drift.detected", resource={"prefect.resource.id": f"{package}.model.{model}"},
               payload={"burst": i})
EventsWorker.drain_all(timeout=30)
only_retrain = DeploymentFilter(name=DeploymentFilterName(any_=["retrain"]))
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    time.sleep(2)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=only_retrain)
    if len(runs) >= 10 and all(run.state and run.state.is_final() for run in runs):
        break
print(json.dumps(sorted(run.state_name for run in runs)))
"""


def process_table() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, start time), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """The processes below `root`, keyed by pid, with their start time (a reused pid differs)."""
    table = process_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, start) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = start
                frontier.append(pid)
    return found


def still_running(seen: dict[int, str]) -> list[int]:
    table = process_table()
    return [pid for pid, start in seen.items() if pid in table and table[pid][1] == start]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    return generate(5, tmp_path_factory.mktemp("loop"), project_name="Level5 Loop")


class RunningLoop:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log, self.seen = process, log, {}

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def watch_children(self) -> None:
        self.seen.update(descendants(self.process.pid))

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            assert self.process.poll() is None, f"loop exited {self.process.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} after {seconds} s:\n{self.output()}"
            self.watch_children()
            time.sleep(0.5)
        self.watch_children()

    def api_url(self) -> str:
        return re.search(r"http://127\.0\.0\.1:\d+", self.output()).group(0) + "/api"

    def stop(self, signum: int) -> int:
        self.watch_children()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=90)
        time.sleep(1)  # a killed group's last process may take a moment to be reaped
        return code


@pytest.fixture
def loop(project: GeneratedProject, tmp_path: Path) -> Iterator[RunningLoop]:
    log = tmp_path / "loop.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [project.python, "-m", project.package, "loop"],
            cwd=project.path,
            env=project.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = RunningLoop(process, log)
    try:
        yield running
    finally:
        if process.poll() is None:  # the test failed before stopping it: leave nothing behind
            running.watch_children()
            process.kill()
            process.wait()
        for pid in still_running(running.seen):
            os.kill(pid, signal.SIGKILL)


def retrain_steps(project: GeneratedProject) -> list[str]:
    lines = (project.path / "audit" / "audit.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    return [entry["what"]["step"] for entry in entries if entry["event"] == "retrain"]


def test_a_burst_of_drift_events_starts_one_retrain_and_ctrl_c_stops_everything(
    project: GeneratedProject, loop: RunningLoop
) -> None:
    loop.wait_for(READY, STARTUP_SECONDS)
    env = {**project.env, "PREFECT_API_URL": loop.api_url()}
    model = project.package  # registry.model_name defaults to the package name
    started = time.monotonic()
    burst = subprocess.Popen(
        [project.python, "-c", BURST, project.package, model],
        cwd=project.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while burst.poll() is None:  # flow runs are children of the worker: note them as they come
        loop.watch_children()
        time.sleep(0.5)
    out, err = burst.communicate()
    assert burst.returncode == 0, err[-3000:]
    states = json.loads(out.strip().splitlines()[-1])
    print(f"burst settled in {time.monotonic() - started:.0f} s: {states}")

    assert len(states) == 10, states
    # One run retrains; the others are cancelled by the concurrency limit (CANCEL_NEW) or, arriving
    # after it finished, skipped by the cooldown: in the audit trail, exactly one retrain started.
    assert states.count("Completed") >= 1
    assert set(states) <= {"Completed", "Cancelled"}, states
    steps = retrain_steps(project)
    assert steps.count("started") == 1, steps
    assert steps.count("finished") == 1, steps
    assert len(loop.seen) >= 2  # the server and the worker at least

    code = loop.stop(signal.SIGINT)

    assert code == 0, loop.output()
    assert "Stopped the worker." in loop.output() and "Stopped the Prefect server." in loop.output()
    assert still_running(loop.seen) == [], loop.output()


def test_sigterm_during_startup_stops_the_server_it_started(loop: RunningLoop) -> None:
    loop.wait_for("Prefect server ready", STARTUP_SECONDS)

    code = loop.stop(signal.SIGTERM)

    assert code == 0, loop.output()
    assert still_running(loop.seen) == [], loop.output()
