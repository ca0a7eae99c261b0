"""The docs pages generated from the code and templates/levels.yml; `python -m mlops_ladder.docs_pages` writes them.

Run it after changing a level's facts, an error message or a command's help; a test fails until you do.
`--check` only says which pages are stale.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from mlops_ladder.levels import all_levels

DOCS = Path(__file__).resolve().parents[2] / "docs"


def level_facts_markdown(number: int) -> str:
    """The facts block of one level page (included by docs/levels/levelN.md)."""
    level = all_levels()[number]
    lines = [
        "<!-- Generated from templates/levels.yml by `python -m mlops_ladder.docs_pages`; edit that file. -->",
        "",
        f"**{level.summary}**",
        "",
        level.why,
        "",
        "## What it adds",
        "",
        *[f"- {item}" for item in level.adds],
        "",
        "## What it still lacks",
        "",
        *[f"- {item}" for item in level.lacks],
        "",
    ]
    if level.verbs:
        lines += ["Commands: " + ", ".join(f"`make {verb}`" for verb in level.verbs), ""]
    else:
        lines += ["Commands: plain Python (`python train.py`, `python predict.py FILE`), no Makefile yet.", ""]
    return "\n".join(lines)


def generated_pages() -> dict[str, Callable[[], str]]:
    """Each generated page (path under docs/) and what makes it; imports stay lazy so a page's errors stay its own."""
    from mlops_ladder.cli_reference import cli_reference_markdown
    from mlops_ladder.troubleshooting import troubleshooting_markdown

    pages: dict[str, Callable[[], str]] = {
        "troubleshooting.md": troubleshooting_markdown,
        "reference/cli.md": cli_reference_markdown,
    }
    for number in all_levels():
        pages[f"levels/facts/level{number}.md"] = lambda number=number: level_facts_markdown(number)  # type: ignore[misc]
    return pages


def stale_pages(docs: Path = DOCS) -> list[str]:
    return [path for path, make in generated_pages().items() if _read(docs / path) != _ending(make())]


def write_pages(docs: Path = DOCS) -> list[str]:
    written = stale_pages(docs)
    for path in written:
        (docs / path).parent.mkdir(parents=True, exist_ok=True)
        (docs / path).write_text(_ending(generated_pages()[path]()), encoding="utf-8")
    return written


def _ending(text: str) -> str:
    return text.rstrip("\n") + "\n"


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def main(arguments: list[str]) -> int:
    if "--check" in arguments:
        stale = stale_pages()
        print("\n".join(f"stale: docs/{path}" for path in stale) or "every generated page is current")
        return 1 if stale else 0
    print("\n".join(f"wrote docs/{path}" for path in write_pages()) or "every generated page is current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
