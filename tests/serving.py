"""Start a generated project's service the way its Dockerfile does, and talk to it over loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from project_harness import GeneratedProject


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until_ready(base: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve exited {server.returncode}:\n{log.read_text()}"
        try:
            if http("GET", f"{base}/ready")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    pytest.fail(f"/ready did not answer 200 within {timeout} s:\n{log.read_text()}")


@contextmanager
def serving(project: GeneratedProject, log: Path) -> Iterator[str]:
    """Run `python -m <pkg> serve` on a free port until the block ends; yield its base URL.

    The server is stopped with SIGTERM, as a container runtime would: a clean shutdown, which
    writes out the prediction log's queue.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [project.python, "-m", project.package, "serve", "--port", str(port)]
    with started(command, log, cwd=project.path, env=project.env) as server:
        wait_until_ready(base, server, log)
        yield base


@contextmanager
def started(command: list[str], log: Path, **kwargs: object) -> Iterator[subprocess.Popen]:
    """A process writing to `log`, stopped when the block ends: SIGTERM, then SIGKILL after 20 s."""
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **kwargs)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
