"""The semantic merge of pyproject.toml dependency lists, on small files and on a real upgrade."""

from __future__ import annotations

import tomllib

import pytest
from upgrade_helpers import STEPS, commit_all, fresh_render, level_diff, replace_line, scaffold, team_line, upgrade

from mlops_ladder.dependency_merge import carry_requirements, merge_pyproject
from mlops_ladder.templates import templates_dir

BASE = """[project]
name = "demo"
# the runtime stack
dependencies = [
  "scikit-learn>=1.5",
  "pandas>=2.2",
]

[project.optional-dependencies]
dev = ["pytest>=8"]
"""

THEIRS = BASE.replace(
    '  "pandas>=2.2",\n]', '  "pandas>=2.2",\n  # serving arrives at this level\n  "fastapi<0.151",\n]'
).replace('dev = ["pytest>=8"]', 'dev = ["pytest>=8", "httpx>=0.27"]')


def test_team_additions_join_the_next_levels_list_with_its_comments():
    ours = BASE.replace('  "pandas>=2.2",\n]', '  "pandas>=2.2",\n  "lightgbm>=4",\n]').replace(
        '["pytest>=8"]', '["pytest>=8", "hypothesis"]'
    )
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert merged is not None
    assert '"lightgbm>=4"' in merged and '"fastapi<0.151"' in merged
    assert "# serving arrives at this level" in merged and "# the runtime stack" in merged
    assert '"hypothesis"' in merged and '"httpx>=0.27"' in merged


def test_team_repins_and_removals_apply_to_the_next_levels_list():
    ours = BASE.replace('"scikit-learn>=1.5"', '"scikit-learn==1.9.1"').replace('  "pandas>=2.2",\n', "")
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert '"scikit-learn==1.9.1"' in merged and "pandas" not in merged and '"fastapi<0.151"' in merged


def test_both_repinning_the_same_package_is_left_as_a_conflict():
    ours = BASE.replace('"pandas>=2.2"', '"pandas==2.3.3"')
    theirs = THEIRS.replace('"pandas>=2.2"', '"pandas>=2.2,<3.1"')
    assert merge_pyproject(BASE, ours, theirs) is None


def test_other_team_edits_in_the_file_still_merge_by_lines():
    ours = BASE.replace('name = "demo"', 'name = "demo"\nversion = "2.0.0"').replace(
        '  "pandas>=2.2",\n]', '  "pandas>=2.2",\n  "lightgbm>=4",\n]'
    )
    merged = merge_pyproject(BASE, ours, THEIRS)
    assert 'version = "2.0.0"' in merged and '"lightgbm>=4"' in merged


PYPROJECT_STEPS = [step for step in STEPS if step[0] >= 2]


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


REQUIREMENTS = """# pinned
scikit-learn==1.9.1
pandas==3.0.6
"""


def test_requirements_the_team_added_are_carried_into_pyproject():
    ours = REQUIREMENTS + "lightgbm==4.6.0  # boosting\n--extra-index-url https://example.org/simple\n\nPandas==3.0.6\n"
    text, carried = carry_requirements(REQUIREMENTS, ours, BASE)
    assert carried == ["lightgbm==4.6.0"]
    assert '"lightgbm==4.6.0"' in text and "# the runtime stack" in text
    assert text.count("pandas") == 1  # already listed by pyproject.toml: it keeps its own requirement


def test_nothing_is_carried_when_the_team_only_repinned():
    ours = REQUIREMENTS.replace("pandas==3.0.6", "pandas==3.0.5")
    text, carried = carry_requirements(REQUIREMENTS, ours, BASE)
    assert carried == [] and text == BASE


def has_requirements_file(level: int) -> bool:
    return (templates_dir() / f"level{level}" / "requirements.txt").exists()


REQUIREMENTS_STEPS = [step for step in STEPS if has_requirements_file(step[0]) and not has_requirements_file(step[1])]


@pytest.mark.skipif(not REQUIREMENTS_STEPS, reason="needs a step from requirements.txt to pyproject.toml")
def test_upgrade_carries_a_requirement_the_team_added_into_pyproject(tmp_path):
    step = REQUIREMENTS_STEPS[0]
    project = scaffold(tmp_path, step[0])
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("lightgbm==4.6.0\n")
    commit_all(project, "We need LightGBM")
    result = upgrade(project)
    assert result.exit_code == 0, result.output
    assert "carried (1)" in result.output and "lightgbm==4.6.0" in result.output
    merged = (project / "pyproject.toml").read_text()
    assert '"lightgbm==4.6.0"' in merged
    fresh = fresh_render(tmp_path, step[1])["pyproject.toml"].decode()
    assert tomllib.loads(merged)["project"]["dependencies"] == [
        *tomllib.loads(fresh)["project"]["dependencies"],
        "lightgbm==4.6.0",
    ]
    assert "lightgbm==4.6.0" in (project / "requirements.txt").read_text()  # kept: the team changed it


@pytest.mark.skipif(not REQUIREMENTS_STEPS, reason="needs a step from requirements.txt to pyproject.toml")
def test_a_requirement_is_carried_even_when_another_file_conflicts(tmp_path):
    step = REQUIREMENTS_STEPS[0]
    contested = level_diff(tmp_path, step).contested_line()
    if contested is None:
        pytest.skip(f"level {step[1]} rewrites no line of a file level {step[0]} has")
    path, index = contested
    project = scaffold(tmp_path, step[0])
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("lightgbm==4.6.0\n")
    replace_line(project, path, index, team_line(path))
    commit_all(project, "We need LightGBM; and our own line")
    result = upgrade(project)
    assert result.exit_code == 1, result.output
    assert path in result.output and "carried (1)" in result.output
    assert '"lightgbm==4.6.0"' in (project / "pyproject.toml").read_text()
