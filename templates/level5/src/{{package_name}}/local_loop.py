"""`python -m <package> loop`: the whole loop on this machine, stopped cleanly by Ctrl-C.

It starts, in order, and stops in reverse order:

1. a Prefect server on 127.0.0.1 (a free port), its database in `.prefect/` in this folder;
2. the loop's deployments (deployments.py) on it, for a process work pool named `local`;
3. a Prefect worker for that pool, which starts each flow run as a process of its own.

This is the same arrangement as on servers (`loop deploy --pool NAME` there, workers on other
machines), only all on one machine: what works here works there. The server and the worker run
in sessions of their own, so Ctrl-C (SIGINT) or SIGTERM reaches this command alone, which then
stops the worker (and the flow run it is executing) before the server, and waits for both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config import Params, UserError

LOCAL_POOL = "local"
STARTUP_TIMEOUT = 120.0  # seconds for the server to answer: 10-60 s measured on 2 busy cores
STOP_TIMEOUT = 20.0  # seconds a process gets to stop before it is killed
# How often the worker asks the server for runs (Prefect's default: 10 s). Shorter, an event's
# retrain starts sooner; the cost is one small query every 2 s.
WORKER_POLL_SECONDS = "2"

console = Console()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_environment(root: Path, api_url: str) -> dict[str, str]:
    """The environment of the server, the worker and this process: all on the same server."""
    return {
        **os.environ,
        "PREFECT_HOME": str(root / ".prefect"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": WORKER_POLL_SECONDS,
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a process in a session of its own, its output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        if sys.platform == "win32":
            return subprocess.Popen(
                command,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,  # type: ignore[attr-defined]
            )
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen, name: str) -> None:
    """Ask a process and its children to stop (SIGINT, as Ctrl-C would), kill them if they don't.

    SIGINT, not SIGTERM: a Prefect worker ignored a SIGTERM for more than 8 s, and stops at once
    on SIGINT."""
    if process.poll() is None:
        with console.status(f"Stopping the {name}..."):
            signal_group(process, signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL if sys.platform != "win32" else signal.SIGTERM)
                process.wait()
    if sys.platform != "win32":
        # Children that outlived their parent (a flow run, say) are still in its process group.
        kill_leftovers(process.pid)
    console.print(f"Stopped the {name}.")


def signal_group(process: subprocess.Popen, signum: int) -> None:
    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT if signum == signal.SIGINT else signum)  # type: ignore[attr-defined]
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def kill_leftovers(group: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def wait_until_healthy(
    api_url: str, server: subprocess.Popen, log: Path, stopping: threading.Event
) -> None:
    """Return once the server answers (or Ctrl-C was pressed meanwhile)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and not stopping.is_set():
        if server.poll() is not None:
            raise UserError(f"The Prefect server stopped at start. Fix: read {log}.")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise UserError(f"The Prefect server did not answer in {STARTUP_TIMEOUT:g} s. Fix: read {log}.")


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (SIGINT) or SIGTERM, instead of an exception at a random line."""
    stopping = threading.Event()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda *_: stopping.set())
    try:
        yield stopping
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_loop(params: Params, params_file: str) -> int:
    """Start the server, the deployments and a worker; run until Ctrl-C or SIGTERM; stop all."""
    root = params.root
    logs = root / ".prefect" / "logs"
    port = str(free_port())
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_environment(root, api_url)
    prefect = [sys.executable, "-m", "prefect"]
    started: list[tuple[subprocess.Popen, str]] = []
    with stop_signals() as stopping:
        try:
            with console.status("Starting a Prefect server (10 s on a quiet machine, up to 60)..."):
                server = start(
                    [*prefect, "server", "start", "--host", "127.0.0.1", "--port", port],
                    env,
                    logs / "server.log",
                )
                started.append((server, "Prefect server"))
                wait_until_healthy(api_url, server, logs / "server.log", stopping)
            if stopping.is_set():
                return 0
            console.print(f"Prefect server ready: {api_url.removesuffix('/api')} (UI)")
            with console.status("Registering the loop's deployments..."):
                planned = deploy_here(params, params_file, env)
            if stopping.is_set():
                return 0
            worker = start(
                [*prefect, "worker", "start", "--pool", LOCAL_POOL, "--type", "process"],
                env,
                logs / "worker.log",
            )
            started.append((worker, "worker"))
            show_ready(planned, api_url, logs)
            return watch(started, stopping)
        finally:
            for process, name in reversed(started):
                stop(process, name)


def deploy_here(params: Params, params_file: str, env: dict[str, str]) -> list:
    """Deploy from this process, on the local server: Prefect reads its settings at import, so
    the environment is set first (Prefect is imported only here and below)."""
    for key in ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        os.environ[key] = env[key]
    from .deployments import deploy

    return deploy(params, params_file, LOCAL_POOL)


def show_ready(planned: list, api_url: str, logs: Path) -> None:
    table = Table(title="The loop's deployments (work pool 'local')")
    table.add_column("deployment")
    table.add_column("runs")
    for deployment in planned:
        table.add_row(deployment.name, deployment.when)
    console.print(table)
    console.print(
        f"Loop running. Watch it at {api_url.removesuffix('/api')}/runs; logs in {logs}. "
        "Ctrl-C stops everything.",
        soft_wrap=True,
    )


def watch(started: list[tuple[subprocess.Popen, str]], stopping: threading.Event) -> int:
    """Wait for Ctrl-C or SIGTERM (exit 0), or for a process to die on its own (exit 1)."""
    while not stopping.wait(1.0):
        for process, name in started:
            if process.poll() is not None:
                console.print(f"[red]The {name} stopped on its own (exit {process.returncode}).")
                return 1
    console.print("Stopping the loop...")
    return 0
