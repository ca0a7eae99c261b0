"""The docs site: it builds with `mkdocs build --strict`, and its generated pages match the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_site import REPO, build_site
from typer.testing import CliRunner

from mlops_ladder import docs_pages
from mlops_ladder.cli import app
from mlops_ladder.cli_reference import command_names
from mlops_ladder.error_catalogue import error_messages
from mlops_ladder.levels import all_levels
from mlops_ladder.troubleshooting import MEANINGS, catalogue

DOCS = REPO / "docs"


def test_the_site_builds_strict(tmp_path: Path) -> None:
    result = build_site(tmp_path / "site")
    assert result.returncode == 0, result.stderr[-4000:]
    for number in all_levels():
        page = (tmp_path / "site" / "levels" / f"level{number}" / "index.html").read_text(encoding="utf-8")
        assert '<pre class="mermaid"><code>' in page, f"level {number} has no diagram"
        assert all_levels()[number].summary in page  # the facts block was included


def test_generated_pages_are_current() -> None:
    stale = docs_pages.stale_pages(DOCS)
    assert not stale, f"regenerate with `python -m mlops_ladder.docs_pages`: {stale}"


def test_troubleshooting_lists_every_message_the_code_raises() -> None:
    page = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    messages = error_messages()
    assert len(messages) > 50  # the extraction found the catalogue, not a handful
    for message in messages:
        assert message.problem.replace("<", "&lt;").replace(">", "&gt;").split("`")[0] in page, message


def test_every_module_that_raises_has_its_meaning_written_and_no_meaning_is_stale() -> None:
    found = catalogue()
    assert not found.modules_without_meaning, "add their meaning to MEANINGS in troubleshooting.py"
    assert set(MEANINGS) == set(found.by_module), "MEANINGS names a module that no longer prints an error"


def test_the_catalogue_spells_out_constants_and_marks_run_time_values() -> None:
    by_text = {message.problem: message for message in error_messages()}
    assert "<path> does not exist." in by_text  # an f-string's value: a placeholder
    csv_fix = next(message.fix for text, message in by_text.items() if text.endswith("not by commas."))
    assert csv_fix.startswith("Export the table as a comma-separated CSV file")  # a module constant, spelled out


def test_the_cli_reference_has_every_command_and_every_option_its_help_shows() -> None:
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert command_names(), "no command found"
    for name in command_names():
        assert f"## mlops-ladder {name}" in page
        assert f"mlops-ladder {name} [OPTIONS]" in page
        shown = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).output
        for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", shown)) - {"--help"}:
            assert f"`{option}" in page, f"mlops-ladder {name} --help shows {option}; the reference does not"


@pytest.mark.parametrize("number", sorted(all_levels()))
def test_each_level_page_includes_its_facts_diagram_and_exercises(number: int) -> None:
    page = (DOCS / "levels" / f"level{number}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# Level {number}: {all_levels()[number].name}\n")
    assert f'--8<-- "levels/facts/level{number}.md"' in page
    assert "```mermaid" in page
    assert page.rstrip().endswith(f'## Exercises\n\n--8<-- "exercises/level{number}.md"')
    if number > 1:
        assert f'--8<-- "diffs/level{number - 1}-to-{number}.txt"' in page
    for heading in ("## Where it sits in the maturity models", "## What the team needs to sustain it"):
        assert heading in page
