"""Once per run: the highest built level installs into a fresh venv from its own lock file and passes its tests.

Every other test reuses the stack installed for this repository; this one installs what the project itself pins
(real pip, real registry, hash-checked), as `make setup` and the generated CI do, so an undeclared import or a lock
file that does not hold a dependency fails here.
"""

from __future__ import annotations

import subprocess
import time
import venv

from upgrade_helpers import scaffold

from mlops_ladder.templates import built_levels


def install_commands(level: int) -> list[list[str]]:
    if level == 1:
        return [["-r", "requirements.txt"]]
    # The same two steps as `make setup` and the CI workflow: the lock, then the package without dependencies.
    return [["--require-hashes", "-r", "requirements-dev.lock"], ["--no-deps", "-e", "."]]


def test_highest_level_installs_from_its_own_lock_file_and_passes_its_tests(tmp_path):
    level = max(built_levels())
    project = scaffold(tmp_path, level, name="fresh-install")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # Python 3.11's bundled pip (23.2) refuses a hashed lock in which a package is also required with an extra
    # (evidently needs pandas[parquet]); pip 24 installs it. CI runners and python images ship pip >= 24.
    subprocess.run([python, "-m", "pip", "install", "--quiet", "pip>=24"], check=True, capture_output=True)
    for arguments in install_commands(level):
        started = time.perf_counter()
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *arguments]
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=1500)
        errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location"))
        assert result.returncode == 0, errors[-5000:]
        print(f"pip install {' '.join(arguments)}: {time.perf_counter() - started:.0f} s")
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cov"],
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
    assert "TOTAL" in tests.stdout, "the coverage report is missing"
