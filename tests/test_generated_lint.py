"""Every built level renders files that pass the linters a team's CI would run on them."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from example_data import CHURN, EXAMPLES
from linters import actionlint, hadolint
from upgrade_helpers import scaffold

from mlops_ladder.templates import built_levels

# The bundled datasets of both tasks, and a CSV with text categories, gaps and a text label (its
# own Jinja branches): tests/generated/ runs the suites of the upper levels on fewer of these.
CASES = {
    "classification": {"task": "classification"},
    "regression": {"task": "regression"},
    "churn-csv": {**CHURN, "csv_path": str(EXAMPLES / "churn.csv")},
}


@pytest.fixture(scope="module", params=built_levels(), ids=lambda n: f"level{n}")
def project(request, tmp_path_factory):
    return scaffold(tmp_path_factory.mktemp(f"lint{request.param}"), request.param, name="lint-me")


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1 and "nope" in result.stdout


def test_workflows_pass_actionlint(project):
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    if not workflows:
        pytest.skip("this level has no CI workflow (level 1 has none on purpose)")
    result = actionlint(*workflows)
    assert result.returncode == 0, result.stdout


def test_dockerfile_passes_hadolint(project):
    dockerfile = project / "Dockerfile"
    if not dockerfile.exists():
        pytest.skip("this level has no Dockerfile (it arrives at level 3)")
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("level", built_levels())
def test_generated_code_passes_ruff(tmp_path, level, case):
    project = scaffold(tmp_path, level, name="ruff-me", **CASES[case])
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


SET_PASSWORD = re.compile(r"password\s*[=:]\s*(?!CHANGE_ME\b|\$|\?|\s|$)\S", re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize("level", built_levels())
def test_no_todo_stubs_or_secrets(tmp_path, level):
    project = scaffold(tmp_path, level, name="clean-me")
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="ignore")
            assert "TODO" not in text and "FIXME" not in text, path
            assert "BEGIN PRIVATE KEY" not in text, path
            # A password with a value; an example file's CHANGE_ME or an unset variable is not one.
            assert not SET_PASSWORD.search(text), path


@pytest.mark.parametrize("level", [n for n in built_levels() if n >= 2])
def test_generated_package_passes_mypy(tmp_path, level):
    project = scaffold(tmp_path, level, name="mypy-me")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


LATER = [(n, m) for n in built_levels() for m in built_levels() if m > n]


@pytest.mark.parametrize(("level", "later"), LATER, ids=lambda pair: str(pair))
def test_kept_files_pass_the_linters_of_every_later_level(tmp_path, level, later):
    """An upgrade keeps the team's files: under the next levels' ruff and mypy settings they stay green."""
    kept = scaffold(tmp_path, level, name="kept")
    config = str(scaffold(tmp_path / "later", later, name="kept") / "pyproject.toml")
    commands = [["ruff", "check", "--config", config, "."], ["ruff", "format", "--check", "--config", config, "."]]
    if (kept / "src").is_dir():
        commands.append([sys.executable, "-m", "mypy", "--config-file", config, "src"])
    for command in commands:
        result = subprocess.run(command, cwd=kept, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
