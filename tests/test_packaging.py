"""A plain wheel install (templates as package data, no git checkout) renders and upgrades every level."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from project_harness import stack_venv

from mlops_ladder.templates import built_levels

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """A venv holding mlops-ladder installed from its wheel; the libraries it needs come from the host."""
    scratch = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(scratch),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(scratch.glob("mlops_ladder-*.whl"))
    env_dir = scratch / "venv"
    python = stack_venv(env_dir)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True, capture_output=True
    )
    return env_dir


# Without the PYTHONPATH a contributor may set to run from a source tree, so the wheel is what runs.
WHEEL_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(env_dir / "bin" / "mlops-ladder"), *args], cwd=cwd, capture_output=True, text=True, env=WHEEL_ENV
    )


def test_the_wheel_carries_the_templates(wheel_env, tmp_path):
    where = subprocess.run(
        [
            wheel_env / "bin" / "python",
            "-c",
            "from mlops_ladder.templates import templates_dir; print(templates_dir())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env=WHEEL_ENV,
    ).stdout.strip()
    assert where.startswith(str(wheel_env)), where
    assert (Path(where) / "levels.yml").is_file()


@pytest.mark.parametrize("level", built_levels())
def test_wheel_install_renders_every_level(wheel_env, tmp_path, level):
    result = run(wheel_env, "new", "project", "--level", str(level), "--defaults", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "project" / ".copier-answers.yml").read_text())
    assert answers["level"] == level
    assert answers["_src_path"].startswith(str(wheel_env))


def test_wheel_install_upgrades_without_a_template_repository(wheel_env, tmp_path):
    levels = built_levels()
    if len(levels) < 2:
        pytest.skip("needs two built levels")
    assert run(wheel_env, "new", "project", "--level", str(levels[0]), "--defaults", cwd=tmp_path).returncode == 0
    result = run(wheel_env, "upgrade", "project", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = yaml.safe_load((tmp_path / "project" / ".copier-answers.yml").read_text())
    assert answers["level"] == levels[1]
