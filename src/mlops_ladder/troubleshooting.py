"""The troubleshooting page: every error message the CLI can print, what it means and the fix.

The messages come from the code (error_catalogue) and from the questions' validators; only the
sentence that says when each group of messages appears is written here, by hand, per module.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass

from mlops_ladder.error_catalogue import Message, error_messages
from mlops_ladder.templates import questions

# What a module's messages mean: when they appear and what state they protect. A module that starts
# raising LadderError needs a line here (a test says which).
MEANINGS = {
    "answers": "Your answers (`--level`, `--data`, `--data-file`) or the project's `.copier-answers.yml` "
    "cannot be used as they are. Nothing was written.",
    "names": "The project name gives no usable Python package name. Nothing was written.",
    "render": "The templates' own validators refused an answer: the same rule applies to `mlops-ladder new` "
    "and to plain `copier copy`. Nothing was written.",
    "questions.yml": "An answer breaks a rule of the questions every level asks (`templates/questions.yml`): "
    "`new` says so, in a terminal asks again, and with `--defaults` stops with nothing written.",
    "scaffold": "`mlops-ladder new` refused the target folder or the training data before writing anything.",
    "training_csv": "With `--data dataset=csv`, `new` checks your CSV before it scaffolds: a file that would "
    "make training fail later is refused now, with what to change. Nothing was written.",
    "gitrepo": "mlops-ladder drives git for `new` and `upgrade`, and could not find it.",
    "info": "The folder given to `info` or `upgrade` is not a project mlops-ladder can read.",
    "preflight": "`upgrade` checks the project before it touches anything: it refuses a state in which a merge "
    "could lose work or could not be undone. Nothing was changed.",
    "assess": "`assess` needs the folder of a repository to read.",
    "assess_questionnaire": "`assess --questionnaire` or `--answers FILE` could not use the answers given.",
    "level_diff": "`mlops-ladder diff N M` renders two levels with the same answers to compare them, and "
    "could not: a level that is not built, N not below M, or answers it cannot use. Nothing was written.",
    "cli": "Messages the command line itself prints: a refused option, an interrupted command, an upgrade "
    "that failed and was rolled back, or `assess --fail-under` below the level asked for.",
}
# The order of the page: the order a user meets the commands.
ORDER = list(MEANINGS)
TITLES = {
    "answers": "Answers and levels",
    "names": "Project and package names",
    "render": "Answers the templates refuse",
    "questions.yml": "The questions' own rules",
    "scaffold": "mlops-ladder new",
    "training_csv": "Your CSV file (dataset=csv)",
    "gitrepo": "git",
    "info": "Project folders",
    "preflight": "mlops-ladder upgrade: before anything changes",
    "assess": "mlops-ladder assess",
    "assess_questionnaire": "mlops-ladder assess: the questionnaire",
    "level_diff": "mlops-ladder diff",
    "cli": "The command line itself",
}


@dataclass(frozen=True)
class Catalogue:
    by_module: dict[str, list[Message]]

    @property
    def modules_without_meaning(self) -> list[str]:
        return sorted(set(self.by_module) - set(MEANINGS))


def catalogue() -> Catalogue:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in error_messages() + validator_messages():
        grouped[message.module].append(message)
    return Catalogue(dict(grouped))


def validator_messages() -> list[Message]:
    """The refusals written in templates/questions.yml's validators (question and choice validators)."""
    messages = []
    for name, question in questions().items():
        validators = [question.get("validator", "")]
        choices = question.get("choices")
        if isinstance(choices, dict):
            validators += [choice.get("validator", "") for choice in choices.values() if isinstance(choice, dict)]
        for validator in filter(None, validators):
            for text in _validator_texts(validator):
                messages.append(Message("questions.yml", name, text, f"Answer {name} again (--data {name}=...)."))
    return list(dict.fromkeys(messages))


def _validator_texts(validator: str) -> list[str]:
    """The sentences between a validator's `{% if %}` tags, with `{{ value }}` shown as `<value>`."""
    shown = re.sub(r"{{\s*(\w+)[^}]*}}", r"<\1>", validator)
    return [" ".join(part.split()) for part in re.split(r"{%.*?%}", shown, flags=re.DOTALL) if part.strip()]


def troubleshooting_markdown() -> str:
    found = catalogue()
    missing = found.modules_without_meaning
    if missing:
        raise ValueError(f"No meaning written for the messages of {', '.join(missing)}: add them to MEANINGS.")
    count = sum(len(messages) for messages in found.by_module.values())
    lines = [
        "# Troubleshooting",
        "",
        "Generated from the code by `python -m mlops_ladder.docs_pages`: every message the CLI can print on",
        "its error stream, read from `LadderError(problem, fix)` and the CLI's own error lines, plus the rules",
        "of `templates/questions.yml`. A test fails when this page and the code disagree.",
        "",
        f"{count} messages. Words in `<angle brackets>` are filled in when the message is printed (a path,",
        "a column name, a level). A refusal prints `Error: <problem>` then `Fix: <fix>` and exits with code 2,",
        "having changed nothing; see [exit codes](upgrade.md) for 0, 1 (conflicts) and 3 (failed, rolled back).",
        "",
    ]
    for module in sorted(found.by_module, key=ORDER.index):
        lines += [f"## {TITLES[module]}", "", MEANINGS[module], ""]
        for message in found.by_module[module]:
            lines += [f"- **{_escaped(message.problem)}**", ""]
            if message.fix:
                lines += [f"    Fix: {_escaped(message.fix)}", ""]
    return "\n".join(lines)


def _escaped(text: str) -> str:
    """Markdown that shows the message as printed: `<path>` is text, not an HTML tag."""
    parts = re.split(r"(`[^`]*`)", text)  # code spans stay as they are
    return "".join(part if part.startswith("`") else html.escape(part, quote=False) for part in parts)
