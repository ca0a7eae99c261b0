"""The CLI reference page, read from the CLI's own command objects: usage, help text, arguments and options.

Built from the click commands Typer makes (as mkdocs-click does), not from a terminal rendering of
`--help`, so the page is the same whatever the terminal width or the version of Rich. Read by duck
typing: Typer 0.29 ships its own copy of click, so click's classes are not the ones it uses.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

import typer

from mlops_ladder.cli import app

PROGRAM = "mlops-ladder"


def _root() -> Any:
    return typer.main.get_command(app)


def command_names() -> list[str]:
    return list(_root().commands)


def cli_reference_markdown() -> str:
    root = _root()
    lines = [
        "# CLI reference",
        "",
        "Generated from the CLI itself by `python -m mlops_ladder.docs_pages` (its commands, arguments, options",
        "and help texts); a test fails when the CLI and this page disagree. `mlops-ladder COMMAND --help` prints",
        "the same in a terminal.",
        "",
        *_command_section(root, PROGRAM, "```text\nmlops-ladder [OPTIONS] COMMAND [ARGS]...\n```"),
    ]
    for name, command in root.commands.items():
        lines += [f"## {PROGRAM} {name}", ""]
        lines += _command_section(command, f"{PROGRAM} {name}", f"```text\n{_usage(name, command)}\n```")
    return "\n".join(lines)


def _command_section(command: Any, title: str, usage: str) -> list[str]:
    lines = [usage, ""]
    for paragraph in _paragraphs(command.help or ""):
        lines += [paragraph, ""]
    rows = [_row(param) for param in command.params if not getattr(param, "hidden", False)]
    if rows:
        lines += ["| argument or option | what it does | default |", "|---|---|---|", *rows, ""]
    return lines


def _usage(name: str, command: Any) -> str:
    arguments = [param for param in command.params if not _is_option(param)]
    shown = [param.name.upper() if param.required else f"[{param.name.upper()}]" for param in arguments if param.name]
    return " ".join([PROGRAM, name, "[OPTIONS]", *shown])


def _paragraphs(text: str) -> list[str]:
    """Help text as Markdown: Rich's `[bold]...[/]` becomes code, since it marks commands to type."""
    text = re.sub(r"\[bold\](.*?)\[/\]", r"`\1`", text, flags=re.DOTALL)
    return [" ".join(paragraph.split()) for paragraph in text.split("\n\n") if paragraph.strip()]


def _row(param: Any) -> str:
    if _is_option(param):
        value = "" if param.is_flag else f" {(param.name or 'value').upper()}"
        names = ", ".join(f"`{option}{value}`" for option in param.opts + param.secondary_opts)
        repeat = " (repeatable)" if param.multiple and "repeatable" not in str(param.help) else ""
    else:
        names, repeat = f"`{(param.name or '').upper()}`", ""
    help_text = " ".join(str(getattr(param, "help", "") or "").split()).replace("|", "\\|")
    return f"| {names} | {help_text}{repeat} | {_default(param)} |"


def _is_option(param: Any) -> bool:
    return bool(param.param_type_name == "option")


def _default(param: Any) -> str:
    default = param.default
    if param.required:
        return "required"
    if default is None or default is False or (isinstance(default, list | tuple) and not default):
        return ""
    shown = str(default) if isinstance(default, PurePath | str | int) else repr(default)
    return f"`{shown}`"
