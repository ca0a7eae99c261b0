"""Where the templates live, and the questions they ask."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# Tests point this at a modified copy of the templates to play an older mlops-ladder version.
TEMPLATES_ENV = "MLOPS_LADDER_TEMPLATES"


def templates_dir() -> Path:
    """The templates folder: an override, the installed package data, or the source checkout."""
    if override := os.environ.get(TEMPLATES_ENV):
        return Path(override).resolve()
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def level_dir(level: int) -> Path:
    return templates_dir() / f"level{level}"


def built_levels() -> list[int]:
    """Levels whose template exists in this version of mlops-ladder: the `levelN` folders.

    Read from disk rather than from a range, so the ladder's bounds live in one place (levels.py).
    """
    numbers = (path.name.removeprefix("level") for path in templates_dir().glob("level*") if path.is_dir())
    return sorted(int(number) for number in numbers if number.isdigit())


Question = dict[str, Any]


@cache
def _questions(root: Path) -> dict[str, Question]:
    with (root / "questions.yml").open(encoding="utf-8") as file:
        loaded: dict[str, Question] = yaml.safe_load(file)
    return loaded


def questions() -> dict[str, Question]:
    """The shared questions of every level, keyed by answer name."""
    return _questions(templates_dir())
