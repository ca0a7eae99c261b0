"""The assessment for a terminal: a Rich table per practice, the level reached, and the next steps."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mlops_ladder.assess import level_title, overall_level
from mlops_ladder.assess_questionnaire import QuestionnaireResult
from mlops_ladder.assess_result import Assessment, NextSteps

SHOWN_EVIDENCE = 3  # per practice in the table; --json has them all


def print_assessment(console: Console, result: Assessment, questionnaire: QuestionnaireResult | None) -> None:
    console.print(_practices_table(result))
    _print_scan(console, result)
    console.print(f"\n[bold]Code: {escape(level_title(result.level))}[/]")
    if questionnaire:
        _print_questionnaire(console, result, questionnaire)
    steps = result.next_steps()
    if steps:
        _print_next_steps(console, steps)
    else:
        console.print("Every practice of every level was found: the top of the ladder.")


def _practices_table(result: Assessment) -> Table:
    table = Table(title=f"MLOps practices in {escape(str(result.root))}", show_lines=False)
    table.add_column("Level", justify="center")
    table.add_column("Practice")
    table.add_column("Found", justify="center")
    table.add_column("Evidence (file:line)")
    previous = None
    steps = result.next_steps()
    described_up_to = steps.level if steps else 0  # what counts as evidence, for the practices the next level needs
    for item in result.practices:
        level = str(item.practice.level) if item.practice.level != previous else ""
        previous = item.practice.level
        if item.found:
            shown = [
                f"{escape(found.where)}  [dim]{escape(found.detail)}[/]" for found in item.evidence[:SHOWN_EVIDENCE]
            ]
            if len(item.evidence) > SHOWN_EVIDENCE:
                shown.append(f"[dim]... {len(item.evidence) - SHOWN_EVIDENCE} more[/]")
            table.add_row(level, escape(item.practice.name), "[green]found[/]", "\n".join(shown))
        else:
            wanted = item.practice.level <= described_up_to
            looked_for = f"[dim]looked for {escape(item.practice.evidence)}[/]" if wanted else ""
            table.add_row(level, escape(item.practice.name), "[red]missing[/]", looked_for)
    return table


def _print_scan(console: Console, result: Assessment) -> None:
    line = f"[dim]{result.scanned} files seen"
    if result.skipped:
        line += f", {len(result.skipped)} skipped (too large, binary, unreadable or not parsable; --json lists them)"
    if result.truncated:
        line += "; the walk stopped at its file limit, so evidence beyond it was not read"
    console.print(line + ".[/]")


def _print_questionnaire(console: Console, result: Assessment, questionnaire: QuestionnaireResult) -> None:
    table = Table(title="Organisation and process (your answers)")
    table.add_column("Aspect")
    table.add_column("Yes", justify="right")
    for aspect, (yes, asked) in questionnaire.aspects().items():
        table.add_row(escape(questionnaire.catalogue.aspects[aspect]), f"{yes}/{asked}")
    console.print(table)
    console.print(f"[bold]Organisation: {escape(level_title(questionnaire.level))}[/]")
    overall = overall_level(result, questionnaire)
    held = " (held back by the organisation)" if questionnaire.level < result.level else ""
    held = " (held back by the code)" if result.level < questionnaire.level else held
    console.print(f"[bold]Overall: {escape(level_title(overall))}{held}[/]")
    for question in questionnaire.missing(overall + 1):
        console.print(f"  [yellow]no[/] (level {question.level}) {escape(question.question)}")


def _print_next_steps(console: Console, steps: NextSteps) -> None:
    console.print(f"\n[bold]To reach {escape(level_title(steps.level))}:[/]")
    for practice in steps.missing:
        console.print(f"  • [bold]{escape(practice.name)}[/] (level {practice.level}): {escape(practice.next_step)}")
        console.print(f"    [dim]costs: {escape(practice.cost)}[/]")
    if steps.upgrade_command:
        console.print(
            f"\n`mlops-ladder upgrade` does this for you: [bold]{escape(steps.upgrade_command)}[/]", soft_wrap=True
        )
        return
    console.print(f"\n`mlops-ladder upgrade` cannot do it: {escape(steps.why_not_upgrade or '')}.")
    if steps.read:
        console.print("Read how the ladder does it (in mlops-ladder's templates/ folder):")
        for path in steps.read:
            console.print(f"  templates/{escape(path)}", highlight=False, soft_wrap=True)
