"""Once per run: the highest built level installs into a fresh venv from its own dependency list and passes its tests.

Every other test reuses the stack installed for this repository; this one would catch an import the generated
project uses but does not declare.
"""

from __future__ import annotations

import subprocess
import venv

from upgrade_helpers import scaffold

from mlops_ladder.templates import built_levels


def test_highest_level_installs_from_its_own_dependencies_and_passes_its_tests(tmp_path):
    level = max(built_levels())
    project = scaffold(tmp_path, level, name="fresh-install")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install += ["-r", "requirements.txt"] if level == 1 else ["-e", ".[dev]"]
    result = subprocess.run(install, cwd=project, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-5000:]
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={
            "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PREFECT_HOME": str(tmp_path / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        },
    )
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-3000:]
