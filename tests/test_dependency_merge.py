"""The semantic merge of pyproject.toml dependency lists, on small files and on real upgrades."""

from __future__ import annotations

import subprocess
import tomllib

import pytest
from packaging.requirements import Requirement
from upgrade_helpers import STEPS, commit_all, fresh_render, git, scaffold, upgrade

from mlops_ladder.dependency_merge import merge_pyproject
from mlops_ladder.upgrade import upgrade_project

BASE = """[project]
name = "demo"
# the runtime stack
dependencies = [
  "scikit-learn>=1.5",
  # pandas stays below 3.1 for Evidently
  "pandas>=2.2",
  "pyyaml>=6",
]

[project.optional-dependencies]
dev = ["pytest>=8"]
"""

THEIRS = BASE.replace(
    '  "pyyaml>=6",\n]', '  "pyyaml>=6",\n  # serving arrives at this level\n  "fastapi<0.151",\n]'
).replace('dev = ["pytest>=8"]', 'dev = ["pytest>=8", "httpx>=0.27"]')


def with_dependency(text: str, line: str, after: str = '"pyyaml>=6",') -> str:
    return text.replace(f"  {after}\n", f"  {after}\n  {line}\n", 1)


def dependencies(text: str) -> list[str]:
    return tomllib.loads(text)["project"]["dependencies"]


def outcomes(merged) -> dict[str, str]:
    return {outcome.package: outcome.action for outcome in merged.packages}


def test_team_additions_join_the_next_levels_list_with_their_comments():
    ours = with_dependency(BASE, '"lightgbm>=4",  # boosting: faster than the forest')
    ours = ours.replace('"pandas>=2.2",', '"pandas>=2.2",\n  # the team needs plots\n  "seaborn>=0.13",')
    ours = ours.replace('["pytest>=8"]', '["pytest>=8", "hypothesis"]')
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert merged is not None and not merged.conflicted
    assert '  "lightgbm>=4",  # boosting: faster than the forest\n' in merged.text
    assert '  # the team needs plots\n  "seaborn>=0.13",\n  "pyyaml>=6",' in merged.text  # stays where they put it
    assert "# serving arrives at this level" in merged.text and "# the runtime stack" in merged.text
    assert "# pandas stays below 3.1 for Evidently" in merged.text
    assert dependencies(merged.text) == [
        "scikit-learn>=1.5",
        "pandas>=2.2",
        "seaborn>=0.13",
        "pyyaml>=6",
        "lightgbm>=4",
        "fastapi<0.151",
    ]
    assert tomllib.loads(merged.text)["project"]["optional-dependencies"]["dev"] == [
        "pytest>=8",
        "hypothesis",  # right after the package it followed in the team's list
        "httpx>=0.27",
    ]
    assert outcomes(merged) == {"lightgbm": "added", "seaborn": "added", "hypothesis (dev)": "added"}


def test_team_repins_and_removals_apply_to_the_next_levels_list_and_are_each_reported():
    ours = BASE.replace('"scikit-learn>=1.5",', '"scikit-learn==1.9.1",  # the version we validated').replace(
        '  "pyyaml>=6",\n', ""
    )
    merged = merge_pyproject(BASE, ours, THEIRS, label="level 3")
    assert dependencies(merged.text) == ["scikit-learn==1.9.1", "pandas>=2.2", "fastapi<0.151"]
    assert '"scikit-learn==1.9.1",  # the version we validated' in merged.text
    assert [str(outcome) for outcome in merged.packages] == [
        "scikit-learn: your version kept: scikit-learn==1.9.1 (level 3 did not change it)",
        "pyyaml: your removal kept",
    ]


def test_a_team_comment_on_a_line_nobody_repinned_is_kept():
    ours = BASE.replace('"pandas>=2.2",', '"pandas>=2.2",  # 3.0.6 in production').replace(
        '  "pyyaml>=6",\n]', '  "pyyaml>=6",\n  # ask ops before adding a package\n]'
    )
    ours = ours.replace('  "scikit-learn>=1.5",', '  # the model library\n  "scikit-learn>=1.5",')
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert '"pandas>=2.2",  # 3.0.6 in production' in merged.text
    assert '  # the model library\n  "scikit-learn>=1.5",' in merged.text
    assert '  "fastapi<0.151",\n  # ask ops before adding a package\n]' in merged.text
    assert outcomes(merged) == {"pandas": "comment"}


def test_both_sides_setting_a_version_differently_is_a_conflict_showing_both():
    """The team pinned fastapi at level 2; level 3 adds it with a range: neither replaces the other."""
    ours = with_dependency(BASE, '"fastapi==0.110.0",  # our proxy speaks an old protocol')
    merged = merge_pyproject(BASE, ours, THEIRS, label="level 3")
    assert merged.conflicted
    assert (
        "  # serving arrives at this level\n"
        "<<<<<<< HEAD (yours)\n"
        '  "fastapi==0.110.0",  # our proxy speaks an old protocol\n'
        "=======\n"
        '  "fastapi<0.151",\n'
        ">>>>>>> level 3\n"
    ) in merged.text
    assert [str(outcome) for outcome in merged.packages] == [
        "fastapi: conflict: yours fastapi==0.110.0 vs level 3 fastapi<0.151"
    ]
    with pytest.raises(tomllib.TOMLDecodeError):  # left for the team: nothing parses it as merged
        tomllib.loads(merged.text)
    resolved = merged.text.replace("<<<<<<< HEAD (yours)\n", "").split("=======\n")
    resolved = resolved[0] + resolved[1].split(">>>>>>> level 3\n", 1)[1]
    assert dependencies(resolved) == ["scikit-learn>=1.5", "pandas>=2.2", "pyyaml>=6", "fastapi==0.110.0"]


def test_both_repinning_the_same_package_differently_is_a_conflict():
    ours = BASE.replace('"pandas>=2.2"', '"pandas==2.3.3"')
    theirs = THEIRS.replace('"pandas>=2.2"', '"pandas>=2.2,<3.1"')
    merged = merge_pyproject(BASE, ours, theirs)
    assert merged.conflicted and outcomes(merged) == {"pandas": "conflict"}
    assert '<<<<<<< HEAD (yours)\n  "pandas==2.3.3",\n=======\n  "pandas>=2.2,<3.1",\n>>>>>>>' in merged.text
    assert "  # pandas stays below 3.1 for Evidently\n<<<<<<<" in merged.text  # the comment stays above the block


def test_removing_a_package_the_next_level_repins_is_a_conflict():
    ours = BASE.replace('  "pandas>=2.2",\n', "")
    theirs = THEIRS.replace('"pandas>=2.2"', '"pandas>=2.2,<3.1"')
    merged = merge_pyproject(BASE, ours, theirs)
    assert merged.conflicted
    assert "<<<<<<< HEAD (yours)\n  # (you removed pandas)\n=======\n" in merged.text
    assert str(merged.packages[0]) == "pandas: conflict: yours (removed) vs the next level pandas>=2.2,<3.1"


def test_the_same_change_on_both_sides_and_a_repin_of_a_dropped_package_merge_cleanly():
    ours = with_dependency(BASE, '"fastapi<0.151",').replace('"scikit-learn>=1.5"', '"scikit-learn==1.9.1"')
    theirs = THEIRS.replace('  "scikit-learn>=1.5",\n', "")
    merged = merge_pyproject(BASE, ours, theirs)
    assert not merged.conflicted
    assert dependencies(merged.text).count("fastapi<0.151") == 1
    assert "scikit-learn==1.9.1" in dependencies(merged.text)
    assert outcomes(merged) == {"scikit-learn": "kept-dropped", "fastapi": "same"}


def test_requirements_spelt_differently_are_the_same_package():
    ours = with_dependency(BASE, '"FastAPI < 0.151",')
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert not merged.conflicted and outcomes(merged) == {"fastapi": "same"}


def test_other_team_edits_in_the_file_still_merge_by_lines():
    ours = with_dependency(BASE.replace('name = "demo"', 'name = "demo"\nversion = "2.0.0"'), '"lightgbm>=4",')
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert 'version = "2.0.0"' in merged.text and '"lightgbm>=4"' in merged.text


def test_an_untouched_list_keeps_the_next_levels_formatting():
    ours = BASE.replace('name = "demo"', 'name = "team-demo"')
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert merged.text == THEIRS.replace('name = "demo"', 'name = "team-demo"') and merged.packages == []


def test_a_file_that_is_not_toml_is_left_to_git():
    assert merge_pyproject(BASE, BASE + "[broken", THEIRS) is None


PYPROJECT_STEPS = [step for step in STEPS if step[0] >= 2]


def all_valid_pep508(text: str) -> list[str]:
    project = tomllib.loads(text)["project"]
    listed = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return [str(Requirement(requirement)) for requirement in listed]


@pytest.mark.skipif(not PYPROJECT_STEPS, reason="needs two built levels with a pyproject.toml")
def test_upgrade_keeps_a_dependency_the_team_added(tmp_path):
    step = PYPROJECT_STEPS[0]
    project = scaffold(tmp_path, step[0])
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n  "lightgbm>=4",\n', 1)
    )
    commit_all(project, "We need LightGBM")
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    merged = (project / "pyproject.toml").read_text()
    assert '"lightgbm>=4"' in merged
    fresh = fresh_render(tmp_path, step[1])["pyproject.toml"].decode()
    assert merged.replace('  "lightgbm>=4",\n', "", 1) == fresh


def pin_the_next_levels_package(project, at_top: bool) -> str:
    """Pin, at the current level, a package the next level adds with another version; return the pin."""
    step = PYPROJECT_STEPS[0]
    added = set(dependencies(fresh_render(project.parent / "renders", step[1])["pyproject.toml"].decode()))
    added -= set(dependencies((project / "pyproject.toml").read_text()))
    package = Requirement(sorted(added)[0]).name
    pin = f'"{package}==0.0.1",  # pinned by the team'
    text = (project / "pyproject.toml").read_text()
    if at_top:
        text = text.replace("dependencies = [\n", f"dependencies = [\n  {pin}\n", 1)
    else:
        text = text.replace('  "pyyaml>=6",\n', f'  "pyyaml>=6",\n  {pin}\n', 1)
    (project / "pyproject.toml").write_text(text)
    commit_all(project, f"Pin {package}")
    return package


@pytest.mark.skipif(not PYPROJECT_STEPS, reason="needs two built levels with a pyproject.toml")
@pytest.mark.parametrize("at_top", [False, True], ids=["where-git-conflicts", "where-git-merges-cleanly"])
def test_a_team_pin_of_a_package_the_next_level_adds_differently_is_left_conflicted(tmp_path, at_top):
    """Git's line merge conflicts when both append at the end, and merges cleanly (two requirements for one
    package) when the team's pin is at the top: both must end as one marked conflict, exit 1."""
    project = scaffold(tmp_path, PYPROJECT_STEPS[0][0])
    package = pin_the_next_levels_package(project, at_top)
    result = upgrade(project)
    assert result.exit_code == 1, result.output
    assert "pyproject.toml" in result.output
    assert git(project, "diff", "--name-only", "--diff-filter=U").splitlines().count("pyproject.toml") == 1
    text = (project / "pyproject.toml").read_text()
    assert text.count("<<<<<<< ") == 1 and text.count(f'"{package}==0.0.1",  # pinned by the team') == 1
    block = text.split("<<<<<<< ", 1)[1].split(">>>>>>> ", 1)[0]
    assert f'"{package}==0.0.1"' in block and f'"{package}>=' in block
    refused = subprocess.run(["git", "commit", "-qm", "resolved?"], cwd=project, capture_output=True)
    assert refused.returncode != 0  # git itself holds the file as unmerged until the team resolves it


@pytest.mark.skipif(not PYPROJECT_STEPS, reason="needs two built levels with a pyproject.toml")
def test_each_package_the_team_touched_gets_its_outcome(tmp_path):
    project = scaffold(tmp_path, PYPROJECT_STEPS[0][0])
    text = (project / "pyproject.toml").read_text()
    text = text.replace('"numpy>=1.26",', '"numpy==2.4.6",  # matches production')
    (project / "pyproject.toml").write_text(text.replace('  "pyyaml>=6",\n', '  "pyyaml>=6",\n  "lightgbm>=4",\n'))
    commit_all(project, "Pin numpy, add LightGBM")
    result = upgrade_project(project)
    assert result.conflicts == []
    assert {str(outcome) for outcome in result.steps[0].dependencies} == {
        f"numpy: your version kept: numpy==2.4.6 (level {PYPROJECT_STEPS[0][1]} did not change it)",
        "lightgbm: your addition kept: lightgbm>=4",
    }
    merged = (project / "pyproject.toml").read_text()
    assert '"numpy==2.4.6",  # matches production' in merged
    assert all_valid_pep508(merged)
