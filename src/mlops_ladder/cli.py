"""The `mlops-ladder` command line: new, upgrade, levels, info, assess, diff."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mlops_ladder import __version__
from mlops_ladder.answers import parse_data
from mlops_ladder.errors import ExitCode, LadderError
from mlops_ladder.levels import all_levels, levels_markdown, next_steps
from mlops_ladder.templates import questions

if TYPE_CHECKING:
    from mlops_ladder.assess_catalogue import Question
    from mlops_ladder.assess_questionnaire import QuestionnaireResult
    from mlops_ladder.info import ProjectInfo
    from mlops_ladder.upgrade import AnswerChanges, StepResult, UpgradeResult

console = Console()
errors = Console(stderr=True)
# Typer 0.29 prints `<bool>` after a flag, as if it took a value; an empty metavar shows it as the flag it is.
FLAG = ""
Command = TypeVar("Command", bound=Callable[..., Any])


def print_error(problem: str, then: str) -> None:
    # soft_wrap: a command in the fix must stay on one line, so it can be copied as is.
    errors.print(f"[bold red]Error:[/] {problem}\n{then}", highlight=False, soft_wrap=True)


def _reporting_user_errors(command: Command) -> Command:
    """Turn a user mistake into one red sentence, its fix, and exit code 2."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LadderError as error:
            print_error(error.problem, f"[bold]Fix:[/] {error.fix}")
            raise typer.Exit(ExitCode.REFUSED) from None
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


# The levels `new` offers: the `level` question's choices, which a test holds equal to the built templates.
LEVEL_CHOICES = ", ".join(str(level) for level in questions()["level"]["choices"])


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="Directory to create; its name is the default project name.")],
    level: Annotated[
        int | None, typer.Option("--level", "-l", help=f"Maturity level: {LEVEL_CHOICES} (see `mlops-ladder levels`).")
    ] = None,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Answer a template question: key=value (repeatable).")
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data-file",
            help="YAML file of answers, e.g. another project's .copier-answers.yml. Its project_name and "
            "package_name are not copied (the project is named after PATH; set them with --data); a relative "
            "csv_path in it is read from the file's folder.",
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", metavar=FLAG, help="Take the default for every question not given.")
    ] = False,
) -> None:
    """Create a working ML project at a maturity level, as a git repository ready to upgrade.

    With [bold]--data dataset=csv --data csv_path=FILE[/], the CSV is checked and copied into data/.

    Example: [bold]mlops-ladder new churn-model --level 2 --data task=classification[/]
    """
    from mlops_ladder.scaffold import new_project

    answers = parse_data(data or [], data_file, level)
    interactive = not defaults and sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        result = new_project(
            path,
            answers,
            interactive=True,
            step=lambda text: console.print(f"[dim]{text}...[/]"),
            refused=lambda error: print_error(error.problem, f"[bold]Fix:[/] {error.fix} Asking again:"),
        )
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
    data = result.get("data")
    if isinstance(data, tuple):  # (the user's CSV, its path in the project); None without a CSV dataset
        source, copy = data
        console.print(f"Training data: {copy} (copied from {source}, committed).", markup=False, soft_wrap=True)
    console.print("Next steps (the project's README.md says more):")
    for command in [f"cd {result['path']}", *next_steps(level.number)]:
        console.print(f"  {command}", highlight=False, markup=False, soft_wrap=True)


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
    to: Annotated[
        int | None,
        typer.Option(
            "--to", help="Climb several levels, one merge per level; the current level takes today's templates."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar=FLAG, help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Move a project one level up with a 3-way merge that keeps every edit you made.

    Exit codes: 0 done, 1 conflicts to resolve, 2 refused (nothing changed), 3 failed (everything restored).
    Example: [bold]mlops-ladder upgrade my-project --dry-run[/]
    """
    from mlops_ladder.info import require_directory
    from mlops_ladder.upgrade import upgrade_project

    require_directory(path)
    try:
        with console.status("Upgrading...") as status:
            result = upgrade_project(path, to, dry_run, step=lambda text: status.update(f"{text}..."))
    except LadderError:
        raise
    except Exception as error:  # git or anything unexpected: upgrade_project has already put everything back
        restored = "Nothing was changed." if dry_run else "Everything was put back as it was before the upgrade."
        print_error(f"Upgrade failed: {' '.join(str(error).split()) or type(error).__name__}", restored)
        raise typer.Exit(ExitCode.FAILED) from None
    _print_upgrade(result)
    if result.conflicts:
        raise typer.Exit(ExitCode.CONFLICTS)


def _say(text: str, **options: Any) -> None:
    """Print one line of the upgrade summary; commands in it are never wrapped, so they can be copied."""
    console.print(text, soft_wrap=True, **options)


def _print_upgrade(result: UpgradeResult) -> None:
    if result.adopted:
        recorded = "would be recorded" if result.dry_run or result.up_to_date else "is recorded"
        _say(
            f"No verified pristine rendering to merge from: {result.adoption_reason}. Level "
            f"{result.steps[0].from_level} as rendered today {recorded} as the base, so wherever "
            "your files differ from it, that counts as your edit and is kept."
        )
    if result.answer_changes:
        _print_answer_changes(result.answer_changes)
    for step in result.steps:
        _print_step(step, result.dry_run)
    _print_outcome(result)


def _print_answer_changes(changes: AnswerChanges) -> None:
    edits = ", ".join(f"{key}: {old} -> {new}" for key, (old, new) in changes.changed.items())
    _say(f"[bold]Your answers changed[/] since the base was rendered ({edits}), so the upgrade also re-renders:")
    for path in changes.files or ["(no file changes because of them)"]:
        _say(f"    {path}", highlight=False, markup=False)


def _print_step(step: StepResult, dry_run: bool) -> None:
    from mlops_ladder.upgrade import ACTIONS

    if step.up_to_date:
        _say(f"\nLevel {step.to_level} is already up to date with this mlops-ladder's templates.")
        return
    verb = ("Would update" if dry_run else "Updated") if step.from_level == step.to_level else None
    verb = verb or ("Would upgrade" if dry_run else "Upgraded")
    _say(f"\n[bold]{verb} level {step.from_level} -> {step.to_level}[/]")
    for action, meaning in ACTIONS.items():
        changes = sorted((change for change in step.changes if change.action == action), key=lambda c: c.path)
        if changes:
            _say(f"  [bold]{action}[/] ({len(changes)}): {meaning}")
            for change in changes:
                _say(
                    f"    {change.path}" + (f"  ({change.detail})" if change.detail else ""),
                    highlight=False,
                    markup=False,
                )
    _say(f"  left alone: {step.left_alone} file(s) only you changed")
    sections: list[tuple[Sequence[object], str, str]] = [
        (step.dependencies, "dependencies", "what the merge did with each package you changed in pyproject.toml"),
        (step.carried, "carried", "you added them to requirements.txt; now in pyproject.toml"),
        (step.carried_params, "carried", "settings you changed in train.py; now in params.yaml"),
        (step.not_carried, "not carried", "left where they were; why, and where each belongs now"),
        (step.moved, "moved", f"you changed them, but level {step.to_level} no longer runs them; the code lives here"),
    ]
    for items, title, meaning in sections:
        if items:
            _say(f"  [bold]{title}[/] ({len(items)}): {meaning}")
            for item in items:
                _say(f"    {item}", highlight=False, markup=False)


def _print_outcome(result: UpgradeResult) -> None:
    last = result.steps[-1]
    undo = f"git reset --hard {result.start_commit[:12]}"
    if result.conflicts:
        _say(
            f"\n[bold red]Conflicts in {len(result.conflicts)} file(s).[/] Resolve each one (edit the "
            "<<<<<<< / >>>>>>> blocks; for a file git put in a folder you renamed, keep it or move it), "
            "then `git add -A && git commit`."
        )
        _say(f"To undo the upgrade entirely: [bold]{undo}[/]")
    elif result.dry_run:
        if result.uncommitted:
            _say(
                f"\nYour {len(result.uncommitted)} uncommitted change(s) are not included: "
                "the dry run merged your last commit."
            )
        _say("\nDry run: nothing was changed.")
    elif result.up_to_date:
        _say("Nothing was changed.")
    else:
        _say(f"\n[bold green]Now at level {last.to_level}[/] (committed). Next steps:")
        for command in next_steps(last.to_level):
            _say(f"  {command}", highlight=False, markup=False)
        _say(f"To undo: {undo}", highlight=False)


ASSESS_FORMATS = ("table", "json", "markdown")


@app.command()
def assess(
    path: Annotated[Path, typer.Argument(help="The repository to assess (any Python ML project).")] = Path("."),
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (default), json or markdown (a report to paste into a review).")
    ] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json (schema: docs/assess.md).")] = False,
    fail_under: Annotated[
        int | None, typer.Option("--fail-under", help="Exit 1 when the level reached is below N (for CI).")
    ] = None,
    questionnaire: Annotated[
        bool, typer.Option("--questionnaire", "-q", help="Also ask what code cannot show: roles, reviews, incidents.")
    ] = False,
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="YAML file of questionnaire answers (`question-id: yes`); implies -q."),
    ] = None,
    docs_page: Annotated[
        bool, typer.Option("--docs-page", help="Print the practices catalogue as the docs page (docs/assess.md).")
    ] = False,
) -> None:
    """Where does a project stand on the ladder, and what does the next level take?

    Reads the code (with Python's ast) and config files (with their parsers); never imports or runs them.
    Exit codes: 0 done, 1 below --fail-under, 2 refused.
    Example: [bold]mlops-ladder assess . --fail-under 2[/]
    """
    from mlops_ladder.assess import assess_project, overall_level
    from mlops_ladder.assess_docs import assess_docs_markdown

    if docs_page:
        typer.echo(assess_docs_markdown())
        return
    output_format = _assess_format(output_format, as_json)
    if fail_under is not None and not 1 <= fail_under <= 5:
        raise LadderError(f"--fail-under {fail_under} is not a level.", "Give a level from 1 to 5.")
    result = assess_project(path)
    answered = _questionnaire(answers) if questionnaire or answers else None
    if output_format == "json":
        import json

        from mlops_ladder.assess_json import assessment_json

        typer.echo(json.dumps(assessment_json(result, answered), indent=2, ensure_ascii=False))
    elif output_format == "markdown":
        from mlops_ladder.assess_markdown import assessment_markdown

        typer.echo(assessment_markdown(result, answered))
    else:
        from mlops_ladder.assess_table import print_assessment

        print_assessment(console, result, answered)
    if fail_under is not None and overall_level(result, answered) < fail_under:
        errors.print(f"Below level {fail_under}: the assessment reached level {overall_level(result, answered)}.")
        raise typer.Exit(1)


def _assess_format(output_format: str, as_json: bool) -> str:
    chosen = output_format.strip().lower()
    if chosen not in ASSESS_FORMATS:
        raise LadderError(
            f"--format {output_format} is not a report format.", f"Use one of: {', '.join(ASSESS_FORMATS)}."
        )
    if as_json and chosen not in ("table", "json"):
        raise LadderError(f"--json and --format {chosen} contradict each other.", "Give one of them.")
    return "json" if as_json else chosen


def _questionnaire(answers_file: Path | None) -> QuestionnaireResult:
    """The questionnaire's answers: from the file, then asked one at a time (on stderr, so --json stays clean)."""
    from rich.prompt import Confirm

    from mlops_ladder.assess_catalogue import load_catalogue
    from mlops_ladder.assess_questionnaire import complete_answers, read_answers_file

    catalogue = load_catalogue()
    given = read_answers_file(answers_file, catalogue) if answers_file else {}

    def ask(question: Question, number: int, total: int) -> bool:
        aspect = catalogue.aspects[question.aspect]
        errors.print(f"\n[dim]{number}/{total} · {aspect} · level {question.level}[/]", highlight=False)
        return Confirm.ask(question.question, console=errors)

    return complete_answers(catalogue, given, ask if sys.stdin.isatty() else None)


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


# How each line of a unified diff is shown in a terminal; piped, Rich prints it plain.
DIFF_STYLES = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}


@app.command()
def diff(
    lower: Annotated[int, typer.Argument(help="The level to compare from.", show_default=False)],
    higher: Annotated[int, typer.Argument(help="The higher level: what it adds or changes is shown.")],
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Answer a template question: key=value (repeatable).")
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data-file", "--answers-file", help="YAML file of answers, e.g. a project's .copier-answers.yml."
        ),
    ] = None,
    stat: Annotated[
        bool, typer.Option("--stat", metavar=FLAG, help="Only list the files added, changed and removed.")
    ] = False,
) -> None:
    """Show what level HIGHER adds or changes over level LOWER, both rendered with the same answers.

    Nothing is written: both levels are rendered in a temporary folder, removed afterwards.
    Example: [bold]mlops-ladder diff 2 3 --stat --data task=regression --data dataset=diabetes[/]
    """
    from mlops_ladder.level_diff import diff_answers, diff_levels, stat_text

    result = diff_levels(lower, higher, diff_answers(data or [], data_file))
    if stat:
        console.print(stat_text(result), markup=False, highlight=False, soft_wrap=True, end="")
        return
    for change in result.changes:
        for line in change.diff:
            if not console.is_terminal:  # piped: the exact text, tabs kept, so `patch` can apply it
                typer.echo(line)
                continue
            style = next((style for start, style in DIFF_STYLES.items() if line.startswith(start)), None)
            console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)
