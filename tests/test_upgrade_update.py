"""`upgrade --to <current level>`: take a newer mlops-ladder's fixes to the project's own level, edits kept."""

from __future__ import annotations

import shutil

import pytest
import yaml
from upgrade_helpers import STEPS, commit_all, files, fresh_render, git, scaffold, state, team_line, upgrade

from mlops_ladder.errors import ExitCode
from mlops_ladder.templates import TEMPLATES_ENV, templates_dir

LEVEL = STEPS[0][0]
OLD_LINE = "A paragraph only the old version had."


@pytest.fixture
def project_from_an_older_version(tmp_path, monkeypatch):
    """A level-N project made by an 'older mlops-ladder' (templates with one more README paragraph), then edited."""
    old_templates = tmp_path / "old-templates"
    shutil.copytree(templates_dir(), old_templates)
    readme = old_templates / f"level{LEVEL}" / "README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{OLD_LINE}\n")
    monkeypatch.setenv(TEMPLATES_ENV, str(old_templates))
    project = scaffold(tmp_path, LEVEL)
    monkeypatch.delenv(TEMPLATES_ENV)
    shutil.rmtree(old_templates)
    (project / "NOTES.md").write_text("Our decisions.\n")
    with (project / ".gitignore").open("a") as file:
        file.write(team_line(".gitignore") + "\n")
    commit_all(project)
    return project


def test_to_the_current_level_merges_todays_templates_and_keeps_the_team_edits(tmp_path, project_from_an_older_version):
    project = project_from_an_older_version
    result = upgrade(project, "--to", str(LEVEL))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    output = " ".join(result.output.split())
    assert f"Updated level {LEVEL} -> {LEVEL}" in output and "README.md" in output
    assert OLD_LINE not in (project / "README.md").read_text()
    expected = fresh_render(tmp_path, LEVEL)
    expected["NOTES.md"] = b"Our decisions.\n"
    expected[".gitignore"] += (team_line(".gitignore") + "\n").encode()
    assert files(project) == expected
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["level"] == LEVEL
    assert git(project, "log", "-1", "--format=%s").startswith(f"Update level {LEVEL} to the templates of mlops-ladder")
    assert git(project, "status", "--porcelain") == ""

    before = state(project)
    again = upgrade(project, "--to", str(LEVEL))
    assert again.exit_code == ExitCode.SUCCESS
    assert "already up to date" in again.output
    assert state(project) == before

    assert upgrade(project).exit_code == ExitCode.SUCCESS  # the update's rendering is the next upgrade's base
    next_level = fresh_render(tmp_path / "next", LEVEL + 1)
    assert {p: b for p, b in files(project).items() if p not in ("NOTES.md", ".gitignore")} == {
        p: b for p, b in next_level.items() if p != ".gitignore"
    }


def test_dry_run_of_an_update_changes_nothing(project_from_an_older_version):
    project = project_from_an_older_version
    before = state(project)
    result = upgrade(project, "--to", str(LEVEL), "--dry-run")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert f"Would update level {LEVEL} -> {LEVEL}" in " ".join(result.output.split())
    assert state(project) == before


def test_a_project_made_by_this_version_is_already_up_to_date(tmp_path):
    project = scaffold(tmp_path, LEVEL)
    before = state(project)
    result = upgrade(project, "--to", str(LEVEL))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert "already up to date" in result.output
    assert state(project) == before
