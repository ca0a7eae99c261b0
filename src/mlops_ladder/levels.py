"""The five maturity levels as data, read from the one file the templates and docs also read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from mlops_ladder.templates import built_levels, templates_dir

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
        raw = yaml.safe_load(file)
    built = set(built_levels())
    return {n: Level(number=n, built=n in built, **facts) for n, facts in sorted(raw.items())}


def levels_markdown() -> str:
    """The levels as a Markdown page; docs/levels.md is this text, checked by a test."""
    lines = [
        "# The five levels",
        "",
        "Generated from `templates/levels.yml` by `mlops-ladder levels --markdown`; edit that file, not this page.",
        "",
    ]
    for level in all_levels().values():
        lines += [f"## Level {level.number}: {level.name}", "", f"**{level.summary}**", "", level.why, ""]
        lines += ["What it adds:", ""]
        lines += [f"- {item}" for item in level.adds]
        lines += ["", "What it still lacks:", ""]
        lines += [f"- {item}" for item in level.lacks]
        if level.verbs:
            lines += ["", "Commands: " + ", ".join(f"`make {verb}`" for verb in level.verbs)]
        lines.append("")
    return "\n".join(lines)
