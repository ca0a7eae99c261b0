"""Where the templates live, and the questions they ask."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

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
    """Levels whose template exists in this version of mlops-ladder."""
    return [n for n in range(1, 6) if level_dir(n).is_dir()]


@cache
def _questions(root: Path) -> dict[str, dict]:
    with (root / "questions.yml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def questions() -> dict[str, dict]:
    """The shared questions of every level, keyed by answer name."""
    return _questions(templates_dir())
