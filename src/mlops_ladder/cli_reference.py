"""The CLI reference page: the `--help` of the CLI and of every command, as the CLI prints it today."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from mlops_ladder.cli import app

# A fixed width and no colour, so the page is the same on every machine.
HELP_ENVIRONMENT = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb"}


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    return list(getattr(group, "commands", {}))


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], prog_name="mlops-ladder", env=HELP_ENVIRONMENT)
    if result.exit_code != 0:
        raise RuntimeError(f"mlops-ladder {' '.join(command)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def cli_reference_markdown() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from the CLI itself by `python -m mlops_ladder.docs_pages` (each block is the command's",
        "`--help`); a test fails when the CLI and this page disagree.",
        "",
        "```text",
        help_text(),
        "```",
        "",
    ]
    for name in command_names():
        lines += [f"## mlops-ladder {name}", "", "```text", help_text(name), "```", ""]
    return "\n".join(lines)
