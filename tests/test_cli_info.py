"""`mlops-ladder info`, the shared "Next steps" of new and upgrade, and paths that do not exist."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner
from upgrade_helpers import scaffold

from mlops_ladder import cli
from mlops_ladder.cli import app
from mlops_ladder.levels import all_levels, next_steps
from mlops_ladder.templates import built_levels

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def wide_console(monkeypatch):
    """Print wide enough that no line wraps, so long temporary paths and items can be found whole."""
    monkeypatch.setattr(cli, "console", Console(width=400))
    monkeypatch.setattr(cli, "errors", Console(width=400, stderr=True))


def test_info_shows_level_answers_and_what_upgrade_adds_next(tmp_path, wide_console):
    lowest = built_levels()[0]
    project = scaffold(tmp_path, lowest, name="churn-model", task="regression")
    result = invoke("info", str(project))
    assert result.exit_code == 0, result.output
    level, following = all_levels()[lowest], all_levels()[lowest + 1]
    assert f"is at level {lowest}: {level.name}." in result.output
    assert "churn_model" in result.output and "regression" in result.output
    assert "_src_path" not in result.output and "_commit" not in result.output
    assert f"`mlops-ladder upgrade` would take it to level {following.number}: {following.name}" in flat(result.output)
    for item in following.adds:
        assert f"• {item}" in result.output, item


def test_info_at_the_top_of_the_built_ladder_says_so(tmp_path, monkeypatch, wide_console):
    top = built_levels()[-1]
    project = scaffold(tmp_path, top)
    monkeypatch.chdir(project)
    result = invoke("info")  # the current folder by default
    assert result.exit_code == 0, result.output
    assert f"Level {top} is the top of the built ladder" in result.output


def test_info_refuses_a_folder_that_is_not_a_project(tmp_path, wide_console):
    result = invoke("info", str(tmp_path))
    assert result.exit_code == 2
    assert "is not an mlops-ladder project: it has no .copier-answers.yml." in flat(result.output)
    assert "Fix:" in result.output


@pytest.mark.parametrize("command", ["info", "upgrade"])
def test_a_missing_path_is_named_as_missing(tmp_path, command, wide_console):
    missing = tmp_path / "no-such-project"
    result = invoke(command, str(missing))
    assert result.exit_code == 2
    assert f"{missing} does not exist." in flat(result.output)
    assert "Fix:" in result.output
    assert not missing.exists()


@pytest.mark.parametrize("command", ["info", "upgrade"])
def test_a_file_is_refused_as_a_project(tmp_path, command, wide_console):
    (tmp_path / "notes.txt").write_text("not a project")
    result = invoke(command, str(tmp_path / "notes.txt"))
    assert result.exit_code == 2
    assert "is a file, not a project folder." in flat(result.output)


def test_new_without_a_terminal_says_it_took_the_defaults(tmp_path):
    quiet = invoke("new", str(tmp_path / "given"), "--level", "1", "--defaults")
    told = invoke("new", str(tmp_path / "taken"), "--level", "1")
    assert quiet.exit_code == told.exit_code == 0
    line = "No terminal to ask in: took the default for every question not given."
    assert line not in flat(quiet.output)
    assert line in flat(told.output)


def steps_printed(output: str) -> list[str]:
    """The indented command lines under "Next steps", in order."""
    start = next(i for i, line in enumerate(output.splitlines()) if "Next steps" in line)
    lines = output.splitlines()[start + 1 :]
    return [line.strip() for line in lines if line.startswith("  ") and not line.strip().startswith("cd ")]


@pytest.mark.skipif(len(built_levels()) < 2, reason="needs two built levels")
def test_new_and_upgrade_give_the_same_next_steps(tmp_path, wide_console):
    low, high = built_levels()[:2]
    created = invoke("new", str(tmp_path / "high"), "--level", str(high), "--defaults")
    assert steps_printed(created.output) == next_steps(high)
    invoke("new", str(tmp_path / "low"), "--level", str(low), "--defaults")
    upgraded = invoke("upgrade", str(tmp_path / "low"))
    assert upgraded.exit_code == 0, upgraded.output
    assert steps_printed(upgraded.output) == next_steps(high)


def test_level_one_steps_install_its_requirements_and_level_two_uses_make():
    assert next_steps(1)[0] == "python -m pip install -r requirements.txt"
    if 2 in built_levels():
        assert next_steps(2)[0].startswith("make setup") and "make demo" in next_steps(2)
