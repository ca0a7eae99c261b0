"""The maturity levels as data, read from the one file the templates and docs also read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from mlops_ladder.templates import built_levels, templates_dir

# The ladder's bounds; templates/levels.yml describes exactly these levels (a test holds them equal).
LOWEST, HIGHEST = 1, 5


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    summary: str
    why: str
    adds: list[str]
    lacks: list[str]
    verbs: list[str]
    built: bool


@cache
def all_levels() -> dict[int, Level]:
    with (templates_dir() / "levels.yml").open(encoding="utf-8") as file:
        raw: dict[int, dict[str, Any]] = yaml.safe_load(file)
    built = set(built_levels())
    return {n: Level(number=n, built=n in built, **facts) for n, facts in sorted(raw.items())}


def next_steps(level: int) -> list[str]:
    """The set-up steps once `new` or `upgrade` reaches `level`: install, test, then the level's main job.

    One list for both commands, so what they tell the user cannot drift apart.
    """
    if "setup" not in all_levels()[level].verbs:  # level 1: a script and pinned requirements, no Makefile
        return ["python -m pip install -r requirements.txt", "python -m pytest -q", "python train.py"]
    return ["make setup  (or: python -m pip install -e '.[dev]' && pre-commit install)", "make test", "make demo"]


def levels_markdown() -> str:
    """The levels as a Markdown page; docs/levels.md is this text, checked by a test."""
    levels = all_levels()
    built = [str(n) for n, level in levels.items() if level.built]
    planned = [str(n) for n, level in levels.items() if not level.built]
    lines = [
        "# The five levels",
        "",
        "Generated from `templates/levels.yml` by `mlops-ladder levels --markdown`; edit that file, not this page.",
        "",
        f"Built in this version: levels {', '.join(built)}."
        + (f" Planned, not built yet: {', '.join(planned)}." if planned else ""),
        "",
    ]
    for level in levels.values():
        planned_mark = "" if level.built else " (planned)"
        lines += [f"## Level {level.number}: {level.name}{planned_mark}", "", f"**{level.summary}**", "", level.why, ""]
        lines += ["What it adds:", ""]
        lines += [f"- {item}" for item in level.adds]
        lines += ["", "What it still lacks:", ""]
        lines += [f"- {item}" for item in level.lacks]
        if level.verbs:
            lines += ["", "Commands: " + ", ".join(f"`make {verb}`" for verb in level.verbs)]
        lines.append("")
    return "\n".join(lines)
