"""Build the docs site with MkDocs (the same `mkdocs build --strict` as a contributor runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_site(site_dir: Path, mermaid_js: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    if mermaid_js is not None:
        env["MLOPS_LADDER_MERMAID_JS"] = str(mermaid_js)
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
