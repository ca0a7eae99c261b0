"""Level 5's deploy/ folder, checked offline: everything in it that a tool can check without servers.

The script passes shellcheck and answers --help, a missing variable and an unknown command the
documented way; the compose file fits the Compose specification's schema (and a broken one does
not, so the check has teeth); nginx accepts the shipped config; every variable a command requires
is explained in env.example. The integration test (test_level5_servers.py) runs the commands.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from project_harness import render


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(5, tmp_path_factory.mktemp("rendered") / "project", project_name="Deploy Check")
    return project / "deploy"


def run(*command: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: install the test extras (pip install -e '.[dev]')"
    return path


def test_the_script_passes_shellcheck(deploy: Path) -> None:
    result = run(tool("shellcheck"), "--severity=style", "run.sh", cwd=deploy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_script_lists_its_commands(deploy: Path) -> None:
    result = run("bash", "run.sh", "--help", cwd=deploy)
    assert result.returncode == 0, result.stderr
    commands = re.findall(r"^  ([a-z-]+) ", result.stdout, flags=re.MULTILINE)
    assert commands == [
        "databases",
        "mlflow",
        "prefect-server",
        "work-pool",
        "deployments",
        "worker",
        "dask-worker",
        "dask-scheduler",
        "service",
        "load-balancer",
    ]
    # Every listed command is one the script dispatches.
    script = (deploy / "run.sh").read_text(encoding="utf-8")
    assert all(f"    {command}) " in script for command in commands)


def test_a_missing_variable_and_an_unknown_command_say_how_to_fix_them(deploy: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    missing = run("bash", "run.sh", "mlflow", cwd=deploy, env=env)
    assert missing.returncode == 2
    assert "MLFLOW_BACKEND_STORE_URI is not set. Fix:" in missing.stderr
    assert "MLFLOW_ARTIFACTS_DESTINATION is not set. Fix:" in missing.stderr
    unknown = run("bash", "run.sh", "mlfow", cwd=deploy, env=env)
    assert unknown.returncode == 2 and "unknown command 'mlfow'" in unknown.stderr
    assert run("bash", "run.sh", cwd=deploy, env=env).returncode == 2


def test_every_required_variable_is_explained_in_env_example(deploy: Path) -> None:
    script = (deploy / "run.sh").read_text(encoding="utf-8")
    required = {name for line in re.findall(r"^\s+require (.+)$", script, re.MULTILINE) for name in line.split()}
    explained = set(re.findall(r"^([A-Z_]+)=", (deploy / "env.example").read_text(encoding="utf-8"), re.MULTILINE))
    assert required, "no `require` line found"
    assert required <= explained, f"not in env.example: {sorted(required - explained)}"


def test_compose_file_fits_the_compose_specification(deploy: Path, tmp_path: Path) -> None:
    checker = tool("check-jsonschema")
    valid = run(checker, "--builtin-schema", "vendor.compose-spec", "compose.yaml", cwd=deploy)
    assert valid.returncode == 0, valid.stdout + valid.stderr

    compose = yaml.safe_load((deploy / "compose.yaml").read_text(encoding="utf-8"))
    compose["services"]["mlflow"]["depends_on"] = {"postgres": {"condition": "when_ready"}}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(compose), encoding="utf-8")
    invalid = run(checker, "--builtin-schema", "vendor.compose-spec", str(broken), cwd=tmp_path)
    assert invalid.returncode == 1, invalid.stdout


def test_compose_runs_the_scripts_commands(deploy: Path) -> None:
    compose = yaml.safe_load((deploy / "compose.yaml").read_text(encoding="utf-8"))
    listed = run("bash", "run.sh", "--help", cwd=deploy).stdout
    for name, service in compose["services"].items():
        command = " ".join(service.get("command", []))
        for used in re.findall(r"deploy/run\.sh ([a-z-]+)", command):
            assert f"  {used} " in listed, f"{name} runs an unknown command: {used}"


def test_nginx_accepts_the_shipped_config(deploy: Path, tmp_path: Path) -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx not found; install it with `apt-get install nginx-light`")
    result = run(
        nginx, "-t", "-p", str(tmp_path), "-c", str(deploy / "nginx.conf"), "-g", f"pid {tmp_path}/pid;", cwd=deploy
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
