"""`mlops-ladder upgrade` on real projects with real git: every merge case, refusal and failure."""

from __future__ import annotations

import shutil
import subprocess

import copier
import pytest
import yaml
from upgrade_helpers import (
    PRISTINE_BRANCH,
    STEPS,
    commit_all,
    files,
    fresh_render,
    git,
    insert_line,
    level_diff,
    replace_line,
    scaffold,
    state,
    team_line,
    upgrade,
)

from mlops_ladder.errors import LadderError
from mlops_ladder.templates import TEMPLATES_ENV, templates_dir
from mlops_ladder.upgrade import upgrade_project

pytestmark = pytest.mark.skipif(not STEPS, reason="needs two consecutive built levels")
ANSWERS = ".copier-answers.yml"


def answers_of(project) -> dict:
    return yaml.safe_load((project / ANSWERS).read_text())


@pytest.fixture(params=STEPS, ids=lambda step: f"{step[0]}to{step[1]}")
def step(request):
    return request.param


def test_untouched_project_becomes_exactly_the_next_level(tmp_path, step):
    project = scaffold(tmp_path, step[0])
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert files(project) == fresh_render(tmp_path, step[1])
    assert answers_of(project)["level"] == step[1]
    assert git(project, "status", "--porcelain") == ""
    assert f"level {step[0]} to level {step[1]}" in git(project, "log", "-1", "--format=%s")
    assert "Now at level" in result.output


def test_edit_in_a_file_the_next_level_leaves_alone_is_kept(tmp_path, step):
    diff = level_diff(tmp_path, step)
    path = next((p for p in diff.unchanged if diff.editable(p)), None)
    if path is None:
        pytest.skip(f"level {step[1]} changes every text file of level {step[0]}")
    project = scaffold(tmp_path, step[0])
    with (project / path).open("a") as file:
        file.write(team_line(path) + "\n")
    commit_all(project)
    assert upgrade(project).exit_code == 0
    assert (project / path).read_text().endswith(team_line(path) + "\n")


def test_edits_on_other_lines_than_the_next_level_are_both_kept(tmp_path, step):
    diff = level_diff(tmp_path, step)
    spot = diff.quiet_spot()
    if spot is None:
        pytest.skip(f"level {step[1]} rewrites every file it shares with level {step[0]}")
    path, index = spot
    project = scaffold(tmp_path, step[0])
    insert_line(project, path, index, team_line(path))
    commit_all(project)
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    merged = (project / path).read_text()
    assert team_line(path) in merged
    assert merged.replace(team_line(path) + "\n", "").encode() == diff.theirs[path]
    assert "merged" in result.output


def project_with_contested_edit(tmp_path, step):
    """A committed project whose team rewrote a line the next level rewrites too."""
    path, index = level_diff(tmp_path, step).contested_line()
    project = scaffold(tmp_path, step[0])
    replace_line(project, path, index, team_line(path))
    commit_all(project)
    return project, path


def test_edits_on_the_same_lines_conflict_inline_and_one_command_undoes(tmp_path, step):
    project, path = project_with_contested_edit(tmp_path, step)
    before = state(project)
    result = upgrade(project)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert path in output and "Conflicts in" in output
    text = (project / path).read_text()
    assert "<<<<<<< HEAD" in text and f">>>>>>> {PRISTINE_BRANCH}" in text and team_line(path) in text
    assert path in git(project, "diff", "--name-only", "--diff-filter=U")
    undo = f"git reset --hard {before.head[:12]}"
    assert undo in output
    subprocess.run(undo.split(), cwd=project, check=True, capture_output=True)
    after = state(project)
    assert (after.head, after.status, after.tree) == (before.head, before.status, before.tree)


def test_files_the_team_added_deleted_or_renamed_stay_that_way(tmp_path, step):
    diff = level_diff(tmp_path, step)
    deleted = next(p for p in diff.changed + diff.unchanged if p != ANSWERS)
    renamed = next((p for p in diff.unchanged if p not in (ANSWERS, deleted)), None)
    project = scaffold(tmp_path, step[0])
    (project / "notes").mkdir(exist_ok=True)
    (project / "notes" / "team.md").write_text("Our own notes.\n")
    git(project, "rm", "-q", deleted)
    if renamed:
        git(project, "mv", renamed, f"{renamed}.moved")
    commit_all(project)
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert (project / "notes" / "team.md").read_text() == "Our own notes.\n"
    assert not (project / deleted).exists()
    if renamed:
        assert not (project / renamed).exists()
        assert (project / f"{renamed}.moved").read_bytes() == diff.base[renamed]


def test_team_file_where_the_next_level_adds_one_is_never_overwritten(tmp_path, step):
    path = next(p for p in level_diff(tmp_path, step).added if p.endswith((".py", ".md", ".toml", ".yml")))
    project = scaffold(tmp_path, step[0])
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_text(team_line(path) + "\n")
    commit_all(project)
    result = upgrade(project)
    assert result.exit_code == 1
    assert path in " ".join(result.output.split())
    assert team_line(path) in (project / path).read_text()


def test_dropped_files_go_only_if_the_team_never_changed_them(tmp_path, step):
    diff = level_diff(tmp_path, step)
    if not diff.dropped:
        pytest.skip(f"level {step[1]} drops no file of level {step[0]}")
    project = scaffold(tmp_path, step[0])
    edited = diff.dropped[0] if len(diff.dropped) > 1 else None
    if edited:
        with (project / edited).open("a") as file:
            file.write("team change\n")
        commit_all(project)
    assert upgrade(project).exit_code == 0
    for path in diff.dropped:
        assert (project / path).exists() == (path == edited)


def test_dry_run_reports_and_changes_nothing(tmp_path, step):
    project, path = project_with_contested_edit(tmp_path, step)
    before = state(project)
    result = upgrade(project, "--dry-run")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Would upgrade" in output and path in output
    assert state(project) == before
    assert len(git(project, "worktree", "list").splitlines()) == 1


def test_upgrade_works_on_a_clone_without_the_pristine_branch(tmp_path, step):
    project = scaffold(tmp_path, step[0])
    clone = tmp_path / "clone" / "team-project"
    subprocess.run(["git", "clone", "-q", "--branch", "main", str(project), str(clone)], check=True)
    assert git(clone, "branch", "--list", PRISTINE_BRANCH) == ""
    assert upgrade(clone).exit_code == 0
    assert files(clone) == fresh_render(tmp_path, step[1])


def test_upgrade_from_a_project_made_by_an_older_mlops_ladder(tmp_path, step, monkeypatch):
    old_templates = tmp_path / "old-templates"
    shutil.copytree(templates_dir(), old_templates)
    readme = old_templates / f"level{step[0]}" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nA paragraph the old version had.\n")
    monkeypatch.setenv(TEMPLATES_ENV, str(old_templates))
    project = scaffold(tmp_path, step[0])
    assert "A paragraph the old version had." in (project / "README.md").read_text()
    monkeypatch.delenv(TEMPLATES_ENV)
    shutil.rmtree(old_templates)  # the templates that made the project are gone
    assert upgrade(project).exit_code == 0
    assert files(project) == fresh_render(tmp_path, step[1])


def plain_copier_project(parent, level: int, name: str = "team-project"):
    """A project made the Copier way: `copier copy` of this repository's templates, then git by hand."""
    project = parent / name
    copier.run_copy(
        str(templates_dir()),
        project,
        data={"level": level, "project_name": name, "package_name": name.replace("-", "_")},
        defaults=True,
        quiet=True,
    )
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "Start from copier copy")
    return project


def test_a_project_made_with_plain_copier_is_adopted_then_upgraded(tmp_path, step):
    project = plain_copier_project(tmp_path, step[0])
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert "No verified pristine rendering" in " ".join(result.output.split())
    assert files(project) == fresh_render(tmp_path, step[1])
    # The recorded base is now in the history, so the next upgrade finds it like any other.
    assert f"Mlops-Ladder-Pristine: level {step[0]}" in git(project, "log", "--format=%B")


def test_a_squashed_history_keeps_the_team_edits_through_adoption(tmp_path, step):
    project = scaffold(tmp_path, step[0])
    notes = project / "NOTES.md"
    notes.write_text("Our decisions.\n")
    answers = project / ANSWERS
    answers.write_text(answers.read_text() + "# reviewed by the team\n")
    commit_all(project)
    squashed = git(project, "commit-tree", "HEAD^{tree}", "-m", "Squashed history")
    git(project, "reset", "-q", "--hard", squashed)
    git(project, "branch", "-q", "-D", PRISTINE_BRANCH)
    assert "Mlops-Ladder-Pristine" not in git(project, "log", "--format=%B")

    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert notes.read_text() == "Our decisions.\n"
    assert "# reviewed by the team" in answers.read_text()
    assert answers_of(project)["level"] == step[1]
    expected = fresh_render(tmp_path, step[1])
    assert {path: body for path, body in files(project).items() if path not in ("NOTES.md", ANSWERS)} == {
        path: body for path, body in expected.items() if path != ANSWERS
    }


def test_dry_run_of_an_adoption_changes_nothing(tmp_path, step):
    project = plain_copier_project(tmp_path, step[0])
    before = state(project)
    result = upgrade(project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would upgrade" in result.output and "would be recorded as the base" in " ".join(result.output.split())
    assert state(project) == before


def test_a_failure_mid_upgrade_leaves_everything_as_before(tmp_path, step, monkeypatch):
    project = scaffold(tmp_path, step[0])
    before = state(project)

    def interrupt_before_merging(text: str) -> None:
        if text.startswith("Merging"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upgrade_project(project, step=interrupt_before_merging)
    assert state(project) == before

    broken = tmp_path / "broken-templates"
    shutil.copytree(templates_dir(), broken)
    (broken / f"level{step[1]}" / "broken.txt.jinja").write_text("{% if %}\n")
    monkeypatch.setenv(TEMPLATES_ENV, str(broken))
    with pytest.raises(Exception, match=r"(?i)expected|syntax"):
        upgrade_project(project)
    assert state(project) == before


REFUSALS = {
    "not a git work tree": "is not a git work tree",
    "uncommitted changes": "uncommitted changes",
    "no answers file": "has no .copier-answers.yml",
    "answers file is not YAML": "is not valid YAML",
    "level is not a number": "invalid level",
    "no recorded level": "records no level",
    "already at the top": "already at level 5",
    "--to below the current level": "is not a level from",
    "--to above 5": "is not a level from",
    "merge in progress": "merge is already in progress",
}


def break_project(project, case: str) -> list[str]:
    """Put the project in the state `case` names; return extra CLI arguments."""
    answers = project / ANSWERS
    if case == "not a git work tree":
        shutil.rmtree(project / ".git")
    elif case == "uncommitted changes":
        (project / "scratch.py").write_text("x = 1\n")
    elif case == "no answers file":
        git(project, "rm", "-q", ANSWERS)
        commit_all(project, "Drop answers")
    elif case in ("answers file is not YAML", "level is not a number", "no recorded level", "already at the top"):
        text = answers.read_text()
        text = {
            "answers file is not YAML": text + "level: [unclosed\n",
            "level is not a number": text.replace("level: ", "level: high # was "),
            "no recorded level": "\n".join(line for line in text.splitlines() if not line.startswith("level:")),
            "already at the top": text.replace("level: ", "level: 5 # was "),
        }[case]
        answers.write_text(text)
        commit_all(project, "Edit answers")
    elif case == "--to below the current level":
        return ["--to", str(answers_of(project)["level"] - 1)]
    elif case == "--to above 5":
        return ["--to", "6"]
    elif case == "merge in progress":
        git(project, "checkout", "-qb", "side")
        (project / ANSWERS).write_text((project / ANSWERS).read_text() + "# side\n")
        commit_all(project, "side")
        git(project, "checkout", "-q", "main")
        (project / ANSWERS).write_text((project / ANSWERS).read_text() + "# main\n")
        commit_all(project, "main")
        git(project, "merge", "side", check=False)
    return []


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_say_what_and_how_to_fix_and_change_nothing(tmp_path, case):
    project = scaffold(tmp_path, STEPS[0][0])
    extra = break_project(project, case)
    before = files(project), git(project, "status", "--porcelain", check=False)
    result = upgrade(project, *extra)
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert REFUSALS[case] in output
    assert "Fix:" in output
    assert (files(project), git(project, "status", "--porcelain", check=False)) == before


def test_a_subfolder_of_a_project_is_refused(tmp_path):
    project = scaffold(tmp_path, STEPS[0][0])
    (project / "sub").mkdir()
    with pytest.raises(LadderError, match="not the top of its git repository"):
        upgrade_project(project / "sub")


@pytest.mark.skipif(len(STEPS) < 2, reason="needs three consecutive built levels")
def test_to_climbs_several_levels_one_merge_each(tmp_path):
    start, top = STEPS[0][0], STEPS[-1][1]
    project = scaffold(tmp_path, start)
    result = upgrade(project, "--to", str(top))
    assert result.exit_code == 0, result.output
    assert files(project) == fresh_render(tmp_path, top)
    subjects = git(project, "log", "--first-parent", "--format=%s").splitlines()
    assert subjects[: top - start] == [
        f"Upgrade from level {n} to level {n + 1} with mlops-ladder" for n in reversed(range(start, top))
    ]
    output = " ".join(result.output.split())
    assert "added (" in output and "updated (" in output and "pip install -e '.[dev]'" in output


@pytest.mark.skipif(len(STEPS) < 2, reason="needs three consecutive built levels")
def test_to_stops_at_the_first_conflict(tmp_path):
    project, path = project_with_contested_edit(tmp_path, STEPS[0])
    result = upgrade(project, "--to", str(STEPS[-1][1]))
    assert result.exit_code == 1
    assert f"level {STEPS[0][0]} -> {STEPS[0][1]}" in result.output
    assert f"level {STEPS[1][0]} -> {STEPS[1][1]}" not in result.output
    assert path in git(project, "diff", "--name-only", "--diff-filter=U")
