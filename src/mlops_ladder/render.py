"""Render one level of the templates with Copier, the only place mlops-ladder calls Copier."""

from __future__ import annotations

import re
from pathlib import Path

import copier
from copier.errors import CopierAnswersInterrupt, CopierError

from mlops_ladder.errors import LadderError
from mlops_ladder.templates import questions, templates_dir


def render_level(
    dst: Path, answers: dict[str, object], suggested: dict[str, object] | None = None, interactive: bool = False
) -> None:
    """Render the level named in `answers` into `dst` (which must not hold a project yet).

    `answers` are never asked; `suggested` are the defaults offered when asking interactively.
    Non-interactive renders take every other question's default, so the same answers always give
    the same files: that is what makes a rendering "pristine" and reproducible for upgrades.
    """
    suggested = suggested or {}
    try:
        copier.run_copy(
            str(templates_dir()),
            dst,
            data=answers if interactive else {**suggested, **answers},
            defaults=not interactive,
            user_defaults=suggested if interactive else {},
            quiet=True,
            unsafe=False,
            overwrite=True,
        )
    except CopierAnswersInterrupt:
        raise KeyboardInterrupt from None  # Ctrl-C at a prompt: the caller says so in one line
    except (CopierError, ValueError) as error:
        raise _refusal(_first_line(error)) from None


def known_answers(recorded: dict[str, object]) -> dict[str, object]:
    """Keep the recorded answers the current templates still ask (drops `_src_path`, `_commit`...)."""
    return {key: value for key, value in recorded.items() if key in questions()}


# How Copier words a refused answer: the question's name, then the template validator's own sentence.
COPIER_REFUSAL = re.compile(r"(?:Validation error for question|Invalid choice for) '(\w+)': (.+)")
COPIER_REQUIRED = re.compile(r'Question "(\w+)" is required')


def _refusal(message: str) -> LadderError:
    if refused := COPIER_REFUSAL.fullmatch(message):
        question, reason = refused.groups()
        if " is not in [" in reason:  # a value outside the choices: say which question it answered
            reason = f"{question}={reason.replace(' is not in ', ' is not one of ')}."
        return LadderError(
            reason,
            f"Give another {question} (--data {question}=..., or the line in .copier-answers.yml when upgrading).",
        )
    if required := COPIER_REQUIRED.fullmatch(message):
        return LadderError(
            f"The question {required[1]} has no answer and no default.", f"Pass --data {required[1]}=..."
        )
    return LadderError(
        f"The templates refused these answers: {message}",
        "Correct that answer (the --data value, or the line in .copier-answers.yml when upgrading).",
    )


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
