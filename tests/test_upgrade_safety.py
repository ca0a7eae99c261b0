"""Upgrade never overwrites what git does not track, never claims a success it did not have, and says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from upgrade_helpers import (
    PRISTINE_BRANCH,
    STEPS,
    commit_all,
    files,
    fresh_render,
    git,
    level_diff,
    run_own_tests,
    scaffold,
    state,
    upgrade,
)

from mlops_ladder.errors import ExitCode
from mlops_ladder.gitrepo import Git
from mlops_ladder.templates import templates_dir

START = STEPS[0][0]
NEXT = START + 1
ANSWERS = ".copier-answers.yml"


def ignore_locally(project, pattern: str) -> None:
    with (project / ".git" / "info" / "exclude").open("a") as file:
        file.write(pattern + "\n")


# Where an untracked file stands in the way of a path the next level adds.
OBSTACLES = {
    "ignored file at an added path": ("params.yaml", "file"),
    "file where a folder must go": ("src", "file"),
    "folder where a file must go": ("params.yaml", "folder"),
}


@pytest.mark.parametrize("case", OBSTACLES)
def test_untracked_or_ignored_files_in_the_way_are_refused_and_nothing_changes(tmp_path, case):
    path, kind = OBSTACLES[case]
    assert any(p == path or p.startswith(path + "/") for p in level_diff(tmp_path, (START, NEXT)).added)
    project = scaffold(tmp_path, START)
    ignore_locally(project, path)
    if kind == "file":
        (project / path).write_text("our local, never committed\n")
    else:
        (project / path).mkdir()
        (project / path / "local.yaml").write_text("ours\n")
    before = state(project)
    for args in ([], ["--dry-run"]):
        result = upgrade(project, *args)
        assert result.exit_code == ExitCode.REFUSED, result.output
        output = " ".join(result.output.split())
        assert "files git does not track" in output and path in output and "Fix:" in output
        assert state(project) == before
    # The fix works: move it away, upgrade, put it back.
    (project / path).rename(tmp_path / "moved-away")
    assert upgrade(project).exit_code == ExitCode.SUCCESS


def test_committing_the_file_in_the_way_turns_it_into_a_conflict_that_keeps_it(tmp_path):
    project = scaffold(tmp_path, START)
    (project / "params.yaml").write_text("ours: true\n")
    ignore_locally(project, "params.yaml")
    git(project, "add", "--force", "params.yaml")
    commit_all(project, "Keep our params")
    result = upgrade(project)
    assert result.exit_code == ExitCode.CONFLICTS
    assert "ours: true" in (project / "params.yaml").read_text()
    assert "both added it" in result.output


@pytest.mark.parametrize("where", ["global excludes file", "XDG ignore file", "info/exclude"])
def test_ignore_rules_never_filter_a_pristine_rendering(tmp_path, monkeypatch, where):
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    patterns = "*.md\ntests/\nsrc/\n*.yaml\nMakefile\n"
    config = "[user]\n\tname = Team\n\temail = team@example.com\n"
    if where == "global excludes file":
        (home / "global-ignore").write_text(patterns)
        config += f"[core]\n\texcludesFile = {home / 'global-ignore'}\n"
    elif where == "XDG ignore file":
        (home / ".config" / "git" / "ignore").write_text(patterns)
    (home / ".gitconfig").write_text(config)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)

    project = scaffold(tmp_path, START)
    if where == "info/exclude":
        ignore_locally(project, patterns)
    assert set(git(project, "ls-files").splitlines()) == set(fresh_render(tmp_path, START))
    result = upgrade(project)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    expected = fresh_render(tmp_path, NEXT)
    assert files(project) == expected
    assert set(git(project, "ls-files").splitlines()) == set(expected)
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.parametrize("name", ["models", "reports", "build", "dist", "data"])
def test_a_project_named_after_an_ignored_folder_keeps_all_its_files(tmp_path, name):
    top = STEPS[-1][1]
    project = scaffold(tmp_path, START, name=name)
    assert set(git(project, "ls-files").splitlines()) == set(fresh_render(tmp_path, START, name=name))
    result = upgrade(project, "--to", str(top))
    assert result.exit_code == ExitCode.SUCCESS, result.output
    expected = fresh_render(tmp_path, top, name=name)
    assert files(project) == expected
    assert set(git(project, "ls-files").splitlines()) == set(expected)
    assert f"src/{name}/__init__.py" in expected
    assert git(project, "status", "--porcelain") == ""


RENAMED_FOLDERS = [(START, "tests", "test")] + [
    (level, "src/team_project", "src/team_core") for level, _ in STEPS if level >= 2
]


@pytest.mark.parametrize("level,folder,renamed", RENAMED_FOLDERS, ids=lambda x: str(x))
def test_a_renamed_folder_makes_conflicts_at_real_paths_and_never_a_false_success(tmp_path, level, folder, renamed):
    project = scaffold(tmp_path, level)
    git(project, "mv", folder, renamed)
    commit_all(project, f"We call it {renamed}")
    before = state(project)
    result = upgrade(project)
    assert result.exit_code == ExitCode.CONFLICTS, result.output
    assert "Now at level" not in result.output
    unmerged = set(git(project, "diff", "--name-only", "--diff-filter=U").splitlines())
    assert unmerged and all(path.startswith(renamed + "/") for path in unmerged)
    listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("    ")}
    assert unmerged <= listed
    assert all((project / path).exists() for path in unmerged)
    assert "folder you renamed" in result.output
    undo = re.search(r"git reset --hard [0-9a-f]{12}", result.output).group(0)
    subprocess.run(undo.split(), cwd=project, check=True)
    after = state(project)
    assert (after.head, after.status, after.tree) == (before.head, before.status, before.tree)


def test_a_git_failure_mid_upgrade_exits_3_with_everything_restored(tmp_path, monkeypatch):
    project = scaffold(tmp_path, START)
    before = state(project)
    real_run = Git.run

    def failing_commit(self, *args, **kwargs):
        if args[:1] == ("commit",):
            raise OSError("disk full")
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Git, "run", failing_commit)
    result = upgrade(project)
    assert result.exit_code == ExitCode.FAILED
    output = " ".join(result.output.split())
    assert "Upgrade failed: disk full" in output and "put back" in output
    assert state(project) == before
    assert not (project / ".git" / "MERGE_HEAD").exists()


def test_a_clean_upgrade_commit_message_lists_no_conflicts(tmp_path):
    diff = level_diff(tmp_path, (START, NEXT))
    deleted = next(path for path in diff.changed if path != ANSWERS)  # a modify/delete, settled by policy
    project = scaffold(tmp_path, START)
    git(project, "rm", "-q", deleted)
    commit_all(project)
    result = upgrade(project)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    assert "kept-deleted" in result.output
    assert git(project, "log", "-1", "--format=%B") == f"Upgrade from level {START} to level {NEXT} with mlops-ladder"


def test_a_detached_head_is_refused_with_the_branch_to_switch_to(tmp_path):
    project = scaffold(tmp_path, START)
    git(project, "switch", "-q", "--detach")
    before = state(project)
    result = upgrade(project)
    assert result.exit_code == ExitCode.REFUSED
    output = " ".join(result.output.split())
    assert "HEAD is detached" in output and "git switch main" in output
    assert state(project) == before


def test_edited_answers_are_reported_with_the_files_they_change(tmp_path):
    project = scaffold(tmp_path, START)
    answers = project / ANSWERS
    answers.write_text(answers.read_text().replace("dataset: breast_cancer", "dataset: wine"))
    commit_all(project, "Train on wine")
    old, new = fresh_render(tmp_path / "a", START), fresh_render(tmp_path / "b", START, dataset="wine")
    changed_by_answers = sorted(path for path in new if old.get(path) != new[path] and path != ANSWERS)
    assert changed_by_answers

    result = upgrade(project)
    assert result.exit_code == ExitCode.SUCCESS, result.output
    output = " ".join(result.output.split())
    assert "Your answers changed" in output and "dataset: breast_cancer -> wine" in output
    assert all(path in output for path in changed_by_answers)
    assert output.index("Your answers changed") < output.index("Upgraded level")
    assert files(project) == fresh_render(tmp_path / "c", NEXT, dataset="wine")


def test_dry_run_on_a_dirty_tree_reports_and_changes_nothing(tmp_path):
    project = scaffold(tmp_path, START)
    with (project / "README.md").open("a") as file:
        file.write("Uncommitted line.\n")
    (project / "scratch.py").write_text("x = 1\n")
    before = state(project)
    result = upgrade(project, "--dry-run")
    assert result.exit_code == ExitCode.SUCCESS, result.output
    output = " ".join(result.output.split())
    assert "Would upgrade" in output and "2 uncommitted change(s) are not included" in output
    assert state(project) == before
    assert upgrade(project).exit_code == ExitCode.REFUSED  # the real upgrade still wants a clean tree


def cli(project, *args: str, columns: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    command = [sys.executable, "-m", "mlops_ladder", "upgrade", str(project), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_printed_commands_never_wrap_on_a_narrow_terminal(tmp_path):
    project = scaffold(tmp_path, START)
    git(project, "rm", "-q", ANSWERS)
    commit_all(project, "Tidy up")
    refused = cli(project, columns=30)
    assert refused.returncode == ExitCode.REFUSED
    assert re.search(r"^.*`git checkout [0-9a-f]{12} -- \.copier-answers\.yml`.*$", refused.stderr, re.MULTILINE)
    git(project, "revert", "--no-edit", "HEAD")
    done = cli(project, columns=30)
    assert done.returncode == ExitCode.SUCCESS, done.stderr
    assert re.search(r"^To undo: git reset --hard [0-9a-f]{12}$", done.stdout, re.MULTILINE)
    assert git(project, "rev-parse", PRISTINE_BRANCH) == git(project, "rev-parse", "HEAD^2")


def test_the_upgrade_guide_lists_every_exit_code():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "upgrade.md").read_text()
    guarantees = guide.split("## What upgrade guarantees", 1)[1]
    for code in ExitCode:
        assert f"| {code.value} |" in guarantees


# hatchling leaves files matched by .gitignore out of the editable install, so an unanchored
# `models/` line drops the package `src/models` itself; the templates anchor it (`/models/`).
UNANCHORED_MODELS = "models/" in (templates_dir() / f"level{NEXT}" / ".gitignore").read_text().splitlines()


@pytest.mark.skipif(sys.platform == "win32", reason="runs the generated project's tests in a POSIX venv")
@pytest.mark.skipif(UNANCHORED_MODELS, reason="the templates' .gitignore still ignores every models/ folder")
def test_a_project_named_models_passes_its_own_tests_after_upgrading(tmp_path):
    project = scaffold(tmp_path, START, name="models")
    assert upgrade(project).exit_code == ExitCode.SUCCESS
    assert (project / "src" / "models" / "__init__.py").is_file()
    run_own_tests(project, NEXT)
