"""A team's project climbs from level 1 to the top, carrying its edits, and its own tests pass at every step."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from project_harness import isolated_env
from upgrade_helpers import commit_all, git, scaffold, upgrade

from mlops_ladder.templates import built_levels

TEAM_TEST = '''"""The team's own test: it must survive every upgrade and keep passing."""

from team_project.config import load_params


def test_we_train_with_150_trees():
    assert load_params().model.n_estimators == 150
'''


def run_own_tests(project, level: int) -> None:
    env = isolated_env(project, install=level >= 2)
    result = subprocess.run(
        [env["PROJECT_PYTHON"], "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"level {level} tests failed:\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}"


def edit_for_level(project, level: int) -> None:
    """What a team does at each level: notes at 1, a tuned param and its own test from 2 on."""
    if level == 1:
        (project / "NOTES.md").write_text("# Team notes\n\nWe started at level 1.\n")
        return
    params = project / "params.yaml"
    text, count = re.subn(r"(?m)^(\s*n_estimators:) \d+", r"\1 150", params.read_text())
    assert count == 1, "params.yaml should hold model.n_estimators"
    params.write_text(text)
    (project / "tests" / "test_team.py").write_text(TEAM_TEST)


@pytest.mark.skipif(len(built_levels()) < 2 or sys.platform == "win32", reason="needs two built levels")
def test_chain_from_level_1_to_the_top_keeps_team_edits_and_passes_own_tests(tmp_path):
    levels = built_levels()
    project = scaffold(tmp_path, levels[0])
    edit_for_level(project, levels[0])
    commit_all(project)
    run_own_tests(project, levels[0])
    for level in levels[1:]:
        result = upgrade(project)
        assert result.exit_code == 0, result.output
        assert (project / "NOTES.md").read_text().endswith("We started at level 1.\n")
        if level == 2:
            edit_for_level(project, level)
            commit_all(project, "Tune trees")
        else:
            assert "n_estimators: 150" in (project / "params.yaml").read_text()
            assert (project / "tests" / "test_team.py").read_text() == TEAM_TEST
        run_own_tests(project, level)
        assert git(project, "status", "--porcelain") == ""
