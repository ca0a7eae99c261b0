"""A throw-away PostgreSQL server for tests: its own cluster in a temp folder, on a free loopback port.

It uses the server programs of the machine (Debian's `postgresql` package). PostgreSQL refuses
to run as root, so under root the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from serving import free_port

INSTALL_HINT = "PostgreSQL server programs not found; install them with `apt-get install postgresql`"


def server_bin_dir() -> Path | None:
    """Where initdb and pg_ctl live: on PATH, or in Debian's versioned folder."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def run(*command: str) -> None:
    """Run a server program, as the `postgres` user when we are root."""
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster and yield a SQLAlchemy URL (psycopg 3) to its `postgres` database.

    The cluster lives in its own folder under the system temp dir (not pytest's, which the
    `postgres` user cannot enter) and is removed afterwards.
    """
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="mlops-ladder-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    data = folder / "data"
    port = free_port()
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
