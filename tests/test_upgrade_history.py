"""Upgrade after the team rewrote or undid history: amend, squash, fixup, squash-merge, revert, legacy trailers.

Each of these copies the pristine trailer onto a commit that also holds the team's work, or puts an
older rendering back in front; the base must be verified, never trusted, so no team edit is lost.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml
from upgrade_helpers import STEPS, commit_all, files, fresh_render, git, scaffold, state, team_line, upgrade

from mlops_ladder.templates import TEMPLATES_ENV, built_levels, templates_dir

ANSWERS = ".copier-answers.yml"
START = STEPS[0][0]
NEXT = START + 1


class TeamWork:
    """A team's edits at the first level: a note added, a line in .gitignore, a file deleted."""

    deleted = "tests/test_smoke.py" if START == 1 else "tests/test_config.py"
    note = "NOTES.md"

    def apply(self, project) -> None:
        (project / self.note).write_text("Our decisions.\n")
        with (project / ".gitignore").open("a") as file:
            file.write(team_line(".gitignore") + "\n")
        (project / self.deleted).unlink()

    def assert_kept(self, project) -> None:
        assert (project / self.note).read_text() == "Our decisions.\n"
        assert (project / ".gitignore").read_text().endswith(team_line(".gitignore") + "\n")
        assert not (project / self.deleted).exists()

    def expected(self, tmp_path, level: int) -> dict[str, bytes]:
        """A fresh rendering of `level` with this work applied."""
        expected = fresh_render(tmp_path, level)
        expected[self.note] = b"Our decisions.\n"
        expected[".gitignore"] += (team_line(".gitignore") + "\n").encode()
        expected.pop(self.deleted, None)
        return expected


def level_of(project) -> int:
    return yaml.safe_load((project / ANSWERS).read_text())["level"]


def rebase_root(project, action: str) -> None:
    """`git rebase -i --root`, turning the second commit (the team's) into `action` of the scaffold commit."""
    env = {**os.environ, "GIT_SEQUENCE_EDITOR": f"sed -i '2s/^pick/{action}/'", "GIT_EDITOR": "true"}
    subprocess.run(["git", "rebase", "-q", "-i", "--root"], cwd=project, env=env, check=True, capture_output=True)


def amend(project) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "--amend", "--no-edit")


def squash(project) -> None:
    commit_all(project)
    rebase_root(project, "squash")


def fixup(project) -> None:
    commit_all(project)
    rebase_root(project, "fixup")


@pytest.mark.parametrize("rewrite", [amend, squash, fixup], ids=lambda f: f.__name__)
def test_team_work_folded_into_the_scaffold_commit_is_kept(tmp_path, rewrite):
    project = scaffold(tmp_path, START)
    work = TeamWork()
    work.apply(project)
    rewrite(project)
    assert len(git(project, "rev-list", "HEAD").splitlines()) == 1  # the trailer now sits on the team's work
    assert "Mlops-Ladder-Pristine: level" in git(project, "log", "-1", "--format=%B")

    result = upgrade(project)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "No verified pristine rendering" in output and "amend, squash, fixup or squash-merge" in output
    work.assert_kept(project)
    assert files(project) == work.expected(tmp_path, NEXT)


@pytest.mark.skipif(len(built_levels()) < 3, reason="needs three built levels")
def test_a_squash_merged_upgrade_branch_is_not_taken_for_a_rendering(tmp_path):
    project = scaffold(tmp_path, START)
    git(project, "switch", "-qc", "feature")
    assert upgrade(project).exit_code == 0
    work = TeamWork()
    work.apply(project)
    commit_all(project)
    git(project, "switch", "-q", "main")
    git(project, "merge", "--squash", "feature")
    git(project, "commit", "-q", "--no-edit")  # git's squash message copies every message, trailers included
    assert f"Mlops-Ladder-Pristine: level {NEXT}" in git(project, "log", "-1", "--format=%B")

    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert "No verified pristine rendering" in result.output
    work.assert_kept(project)
    assert files(project) == work.expected(tmp_path, NEXT + 1)


def legacy_trailer(project) -> None:
    """Rewrite the scaffold commit's message as an older mlops-ladder wrote it: no recorded tree."""
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    message = f"Scaffold level {START} with mlops-ladder\n\nMlops-Ladder-Pristine: level {START}, mlops-ladder 0.0.9"
    git(project, "commit", "-q", "--amend", "-m", message)


def test_a_legacy_trailer_is_used_when_its_tree_is_todays_rendering(tmp_path):
    project = scaffold(tmp_path, START)
    legacy_trailer(project)
    work = TeamWork()
    work.apply(project)
    commit_all(project)
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert "No verified" not in result.output  # verified by rendering the level again, so not adopted
    assert files(project) == work.expected(tmp_path, NEXT)


def test_a_legacy_trailer_that_differs_from_todays_rendering_is_adopted(tmp_path, monkeypatch):
    old_templates = tmp_path / "old-templates"
    shutil.copytree(templates_dir(), old_templates)
    with (old_templates / f"level{START}" / ".gitignore").open("a") as file:
        file.write("# a line the old version had\n")
    monkeypatch.setenv(TEMPLATES_ENV, str(old_templates))
    project = scaffold(tmp_path, START)
    monkeypatch.delenv(TEMPLATES_ENV)
    legacy_trailer(project)
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert "older mlops-ladder" in " ".join(result.output.split())
    assert "# a line the old version had" in (project / ".gitignore").read_text()  # counted as the team's: kept


def test_a_reverted_upgrade_is_redone_from_the_level_below(tmp_path):
    project = scaffold(tmp_path, START)
    scaffold_commit = git(project, "rev-parse", "HEAD")
    work = TeamWork()
    work.apply(project)
    commit_all(project)
    assert upgrade(project).exit_code == 0
    first_upgrade = git(project, "rev-parse", "HEAD")
    git(project, "revert", "--no-edit", "-m", "1", "HEAD")
    assert level_of(project) == START

    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert files(project) == work.expected(tmp_path, NEXT)
    assert level_of(project) == NEXT
    # A new commit of the next level whose parent is the level below: git's merge base is that level.
    theirs = git(project, "rev-parse", "HEAD^2")
    assert theirs != git(project, "rev-parse", f"{first_upgrade}^2")
    assert git(project, "rev-parse", f"{theirs}^") == scaffold_commit
    assert git(project, "merge-base", "HEAD^1", "HEAD^2") == scaffold_commit


def test_an_answers_level_edited_by_hand_is_named_with_the_command_that_restores_it(tmp_path):
    project = scaffold(tmp_path, START)
    answers = project / ANSWERS
    answers.write_text(answers.read_text().replace(f"level: {START}", f"level: {NEXT}"))
    commit_all(project, "Claim the next level by hand")
    before = state(project)
    result = upgrade(project, "--dry-run")
    assert state(project) == before
    output = " ".join(result.output.split())
    assert f"holds no rendering of level {NEXT}" in output and "by hand" in output
    fix = re.search(r"`(git checkout \w+ -- \.copier-answers\.yml)`", output).group(1)
    subprocess.run(fix.split(), cwd=project, check=True)
    commit_all(project, "Restore the answers")
    assert upgrade(project).exit_code == 0
    assert files(project) == fresh_render(tmp_path, NEXT)


def test_a_deleted_answers_file_is_found_in_history_and_the_printed_fix_restores_it(tmp_path):
    project = scaffold(tmp_path, START)
    git(project, "rm", "-q", ANSWERS)
    commit_all(project, "Tidy up")
    result = upgrade(project)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    deleted_in = git(project, "rev-parse", "HEAD")[:12]
    assert f"commit {deleted_in} deleted it" in output
    fix = re.search(r"`(git checkout \w+ -- \.copier-answers\.yml)`", output).group(1)
    subprocess.run(fix.split(), cwd=project, check=True)
    commit_all(project, "Restore the answers")
    assert upgrade(project).exit_code == 0
    assert files(project) == fresh_render(tmp_path, NEXT)
