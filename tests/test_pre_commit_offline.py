"""The generated pre-commit hooks run offline, with the tools `make setup` installed, and really check."""

from __future__ import annotations

import os
import subprocess

from upgrade_helpers import scaffold

# A proxy that refuses every connection: any download attempt fails instead of reaching a registry.
NO_NETWORK = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}


def test_first_commit_runs_every_hook_without_network(tmp_path):
    project = scaffold(tmp_path, 2, name="offline")
    env = {**os.environ, **NO_NETWORK, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)

    assert run("pre-commit", "install").returncode == 0
    package = next(path for path in (project / "src").iterdir() if path.is_dir())
    badly_formatted = package / "scratch.py"
    badly_formatted.write_text("import os\nvalues=[1,2 ,3]   \n")
    run("git", "add", "-A")

    refused = run("git", "commit", "-qm", "Add scratch")
    assert refused.returncode != 0, refused.stdout
    assert "files were modified by this hook" in refused.stdout + refused.stderr
    assert badly_formatted.read_text() == "values = [1, 2, 3]\n"  # unused import removed, then formatted

    run("git", "add", "-A")
    accepted = run("git", "commit", "-qm", "Add scratch")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Passed" in run("pre-commit", "run", "--all-files").stdout
    # Nothing was cloned: local hooks need no repository of hooks.
    assert not list((tmp_path / "pre-commit-home").glob("repo*/"))
