"""Render one level of the templates with Copier, the only place mlops-ladder calls Copier."""

from __future__ import annotations

from pathlib import Path

import copier
from copier.errors import CopierError

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
    except (CopierError, ValueError) as error:
        raise LadderError(
            f"The templates refused these answers: {_first_line(error)}",
            "Correct that answer (the --data value, or the line in .copier-answers.yml when upgrading).",
        ) from None


def known_answers(recorded: dict[str, object]) -> dict[str, object]:
    """Keep the recorded answers the current templates still ask (drops `_src_path`, `_commit`...)."""
    return {key: value for key, value in recorded.items() if key in questions()}


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
