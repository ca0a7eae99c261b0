"""`mlops-ladder levels`, `--version` and `--help`: the ladder as data, shown whole."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mlops_ladder import __version__, cli
from mlops_ladder.cli import app
from mlops_ladder.levels import HIGHEST, LOWEST, all_levels
from mlops_ladder.templates import built_levels

runner = CliRunner()


@pytest.fixture
def wide_console(monkeypatch):
    """Print tables wide enough that no cell wraps, so every item can be found whole."""
    monkeypatch.setattr(cli, "console", Console(width=400))


def table_lines(output: str) -> list[str]:
    """The text in each cell of each table row, borders and padding removed."""
    return [cell.strip() for line in output.splitlines() for cell in line.split("│")]


def test_levels_shows_every_item_each_level_adds_and_lacks(wide_console):
    result = runner.invoke(app, ["levels"], catch_exceptions=False)
    assert result.exit_code == 0
    cells = table_lines(result.output)
    for level in all_levels().values():
        assert level.name in cells, level.name
        for item in level.adds + level.lacks:
            assert f"• {item}" in cells, item


def test_levels_marks_the_levels_not_built_yet(wide_console):
    cells = table_lines(runner.invoke(app, ["levels"], catch_exceptions=False).output)
    unbuilt = [level for level in all_levels().values() if not level.built]
    assert cells.count("(not built yet)") == len(unbuilt)


def test_the_levels_file_describes_exactly_the_ladder():
    assert list(all_levels()) == list(range(LOWEST, HIGHEST + 1))
    assert built_levels(), "no level template found"
    assert set(built_levels()) <= set(all_levels())
    assert [n for n, level in all_levels().items() if level.built] == built_levels()


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    result = runner.invoke(app, [flag])
    assert result.exit_code == 0
    assert result.output.strip() == f"mlops-ladder {__version__}"


@pytest.mark.parametrize("command", ["new", "upgrade", "levels", "info"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


@pytest.mark.parametrize(("command", "flag"), [("new", "--defaults"), ("upgrade", "--dry-run"), (None, "--version")])
def test_flags_are_shown_as_flags_not_as_options_taking_a_value(command, flag):
    result = runner.invoke(app, [*([command] if command else []), "--help"], env={"COLUMNS": "200"})
    line = next(line for line in result.output.splitlines() if f"{flag} " in line)
    assert "<bool>" not in line and f"{flag}/--no-" not in line, line
