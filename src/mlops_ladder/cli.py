"""The `mlops-ladder` command line: new, upgrade, levels, info."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mlops_ladder import __version__
from mlops_ladder.answers import parse_data
from mlops_ladder.errors import LadderError
from mlops_ladder.levels import all_levels, levels_markdown, next_steps

if TYPE_CHECKING:
    from mlops_ladder.info import ProjectInfo
    from mlops_ladder.upgrade import UpgradeResult

console = Console()
errors = Console(stderr=True)
# Typer 0.29 prints `<bool>` after a flag, as if it took a value; an empty metavar shows it as the flag it is.
FLAG = ""
Command = TypeVar("Command", bound=Callable[..., Any])


def print_error(problem: str, then: str) -> None:
    errors.print(f"[bold red]Error:[/] {problem}\n{then}", highlight=False)


def _reporting_user_errors(command: Command) -> Command:
    """Turn a user mistake into one red sentence, its fix, and exit code 2."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LadderError as error:
            print_error(error.problem, f"[bold]Fix:[/] {error.fix}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            errors.print("Interrupted; nothing was changed.")
            raise typer.Exit(130) from None

    return run  # type: ignore[return-value]  # same signature: functools.wraps copies it for typer


class LadderApp(typer.Typer):
    """Every command reports user mistakes the same way, in one place."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Command], Command]:
        register = super().command(*args, **kwargs)
        return lambda command: register(_reporting_user_errors(command))


app = LadderApp(
    help="Scaffold an ML project at an MLOps maturity level, and climb one level at a time.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        console.print(f"mlops-ladder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_show_version, is_eager=True, metavar=FLAG, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Scaffold an ML project at an MLOps maturity level, and climb one level at a time."""


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="Directory to create; its name is the default project name.")],
    level: Annotated[int | None, typer.Option("--level", "-l", help="Maturity level 1-5.")] = None,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Answer a template question: key=value (repeatable).")
    ] = None,
    data_file: Annotated[
        Path | None, typer.Option("--data-file", help="YAML file of answers, e.g. another project's answers file.")
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", metavar=FLAG, help="Take the default for every question not given.")
    ] = False,
) -> None:
    """Create a working ML project at a maturity level, as a git repository ready to upgrade.

    Example: [bold]mlops-ladder new churn-model --level 2 --data task=classification[/]
    """
    from mlops_ladder.scaffold import new_project

    answers = parse_data(data or [], data_file)
    if level is not None:
        answers["level"] = level
    interactive = not defaults and sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        result = new_project(path, answers, interactive=True, step=lambda text: console.print(f"[dim]{text}...[/]"))
    else:
        with console.status("Scaffolding...") as status:
            result = new_project(path, answers, step=lambda text: status.update(f"{text}..."))
        if not defaults:  # no terminal to ask in: say so, rather than silently answering for the user
            console.print("No terminal to ask in: took the default for every question not given.")
    _print_created(result)


def _print_created(result: dict[str, object]) -> None:
    number = result["level"]
    assert isinstance(number, int)  # new_project reads it from the rendered answers file
    level = all_levels()[number]
    console.print(f"[bold green]Created[/] {result['path']} at level {level.number}: {level.name}.")
    console.print("Next steps (the project's README.md says more):")
    for command in [f"cd {result['path']}", *next_steps(level.number)]:
        console.print(f"  {command}", highlight=False, markup=False)


@app.command()
def levels(
    markdown: Annotated[
        bool, typer.Option("--markdown", metavar=FLAG, help="Print the levels as the docs page.")
    ] = False,
) -> None:
    """Show the five levels: what each adds and what each still lacks (and which are built).

    Example: [bold]mlops-ladder levels[/]
    """
    if markdown:
        console.print(levels_markdown(), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title="The MLOps ladder", show_lines=True)
    table.add_column("Level", justify="center")
    table.add_column("Adds")
    table.add_column("Still lacks")
    for level in all_levels().values():
        title = f"[bold]{level.number}[/]\n{level.name}" + ("" if level.built else "\n[dim](not built yet)[/]")
        table.add_row(
            title, "\n".join(f"• {item}" for item in level.adds), "\n".join(f"• {item}" for item in level.lacks)
        )
    console.print(table)


@app.command()
def upgrade(
    path: Annotated[Path, typer.Argument(help="The project to upgrade (a git work tree).")] = Path("."),
    to: Annotated[int | None, typer.Option("--to", help="Climb several levels, one merge per level.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar=FLAG, help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Move a project one level up with a 3-way merge that keeps every edit you made.

    Example: [bold]mlops-ladder upgrade my-project --dry-run[/]
    """
    from mlops_ladder.gitrepo import GitError
    from mlops_ladder.info import require_directory
    from mlops_ladder.upgrade import upgrade_project

    require_directory(path)
    try:
        with console.status("Upgrading...") as status:
            result = upgrade_project(path, to, dry_run, step=lambda text: status.update(f"{text}..."))
    except GitError as error:
        print_error(str(error), "Nothing was changed.")
        raise typer.Exit(1) from None
    _print_upgrade(result)
    if result.conflicts:
        raise typer.Exit(1)


def _print_upgrade(result: UpgradeResult) -> None:
    from mlops_ladder.upgrade import ACTIONS

    verb = "Would upgrade" if result.dry_run else "Upgraded"
    if result.adopted:
        recorded = "would be recorded" if result.dry_run else "is recorded"
        console.print(
            f"No pristine rendering in the project's history (plain `copier copy`, or squashed history): "
            f"level {result.steps[0].from_level} as rendered today {recorded} as the base, so wherever "
            "your files differ from it, that counts as your edit and is kept."
        )
    for step in result.steps:
        console.print(f"\n[bold]{verb} level {step.from_level} -> {step.to_level}[/]")
        for action, meaning in ACTIONS.items():
            paths = [change.path for change in step.changes if change.action == action]
            if paths:
                console.print(f"  [bold]{action}[/] ({len(paths)}): {meaning}")
                for changed in sorted(paths):
                    console.print(f"    {changed}", highlight=False, markup=False)
        console.print(f"  left alone: {step.left_alone} file(s) only you changed")
        if step.carried:
            console.print(
                f"  [bold]carried[/] ({len(step.carried)}): you added them to requirements.txt; now in pyproject.toml"
            )
            for requirement in step.carried:
                console.print(f"    {requirement}", highlight=False, markup=False)
    last = result.steps[-1]
    if result.conflicts:
        console.print(
            f"\n[bold red]Conflicts in {len(result.conflicts)} file(s).[/] Edit the <<<<<<< / >>>>>>> blocks, "
            "then `git add -A && git commit`.\n"
            f"To undo the upgrade entirely: [bold]git reset --hard {result.start_commit[:12]}[/]"
        )
    elif result.dry_run:
        console.print("\nDry run: nothing was changed.")
    else:
        console.print(f"\n[bold green]Now at level {last.to_level}[/] (committed). Next steps:")
        for command in next_steps(last.to_level):
            console.print(f"  {command}", highlight=False, markup=False)
        console.print(f"To undo: git reset --hard {result.start_commit[:12]}")


@app.command()
def info(
    path: Annotated[Path, typer.Argument(help="The project to describe.")] = Path("."),
) -> None:
    """Show a project's level, its recorded answers, and what `upgrade` would add next.

    Example: [bold]mlops-ladder info my-project[/]
    """
    from mlops_ladder.info import project_info

    _print_info(project_info(path))


def _print_info(project: ProjectInfo) -> None:
    level = project.level
    console.print(f"[bold]{project.path}[/] is at level {level.number}: {level.name}.", highlight=False)
    table = Table(title="Answers (.copier-answers.yml)", show_header=False, title_justify="left")
    for key, value in project.answers.items():
        table.add_row(key, str(value))
    console.print(table)
    following = project.next_level
    if following is None:
        console.print(
            f"Level {level.number} is the top of the built ladder: `upgrade` has nothing to add yet "
            "(`mlops-ladder levels` shows what is planned)."
        )
        return
    console.print(f"`mlops-ladder upgrade` would take it to level {following.number}: {following.name}, adding:")
    for item in following.adds:
        console.print(f"  • {item}", highlight=False, markup=False)
