"""Every built level, freshly rendered, assesses as exactly that level; removing one practice lowers it and names it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from assess_helpers import found
from typer.testing import CliRunner
from upgrade_helpers import scaffold

from mlops_ladder.assess import assess_project
from mlops_ladder.assess_catalogue import load_catalogue
from mlops_ladder.assess_json import assessment_json
from mlops_ladder.cli import app
from mlops_ladder.levels import HIGHEST
from mlops_ladder.render import render_level
from mlops_ladder.templates import built_levels

BUILT = built_levels()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[int, Path]:
    """Each built level rendered with the default answers, as `new` renders it (without git)."""
    root = tmp_path_factory.mktemp("rendered")
    projects = {}
    for level in BUILT:
        projects[level] = root / f"level{level}" / "churn-model"
        render_level(projects[level], {"level": level, "project_name": "churn-model", "package_name": "churn_model"})
    return projects


@pytest.mark.parametrize("level", BUILT)
def test_a_fresh_rendering_assesses_as_exactly_its_level(rendered, level):
    result = assess_project(rendered[level])
    assert result.level == level, [item.practice.id for item in result.missing_up_to(level)]
    if level < HIGHEST:
        # Exactly: the next level is not reached, and the report says what it lacks.
        assert result.next_steps().level == level + 1
        assert result.next_steps().missing


@pytest.mark.parametrize("level", BUILT)
def test_no_practice_above_a_built_level_is_found_in_it(rendered, level):
    result = assess_project(rendered[level])
    # Level 1 has tests and a requirements file (level-2 practices); above level 2 nothing leaks down.
    above = {practice.id for practice in load_catalogue().practices if practice.level > max(level, 2)}
    assert not (found(result) & above)


def _practices_at(level: int) -> list[str]:
    return [practice.id for practice in load_catalogue().at_level(level)]


CASES = [(level, practice) for level in BUILT for practice in _practices_at(level)]


@pytest.mark.parametrize(("level", "practice"), CASES, ids=[f"level{lv}-{p}" for lv, p in CASES])
def test_deleting_the_files_of_one_practice_lowers_the_level_and_names_it(rendered, tmp_path, level, practice):
    project = tmp_path / "project"
    shutil.copytree(rendered[level], project)
    for _ in range(20):  # evidence is capped per practice, so delete until none is left
        evidence = next(item for item in assess_project(project).practices if item.practice.id == practice).evidence
        for file in {piece.file for piece in evidence}:
            (project / file).unlink()
        if not evidence:
            break
    result = assess_project(project)
    assert result.level < level
    assert practice in {item.practice.id for item in result.missing_up_to(level)}
    steps = result.next_steps()
    assert practice in {missing.id for missing in steps.missing} or result.level < level - 1


def test_commenting_out_the_alias_calls_removes_the_registry_practice(rendered, tmp_path):
    """Delete the call, not the file: the same code with the calls commented out is level 2."""
    project = tmp_path / "project"
    shutil.copytree(rendered[3], project)
    registry = project / "src" / "churn_model" / "registry.py"
    text = registry.read_text()
    assert "set_registered_model_alias(" in text
    registry.write_text(re.sub(r"^(\s*)(\S.*set_registered_model_alias\(.*)$", r"\1pass  # \2", text, flags=re.M))
    result = assess_project(project)
    assert result.level == 2
    assert [item.practice.id for item in result.missing_up_to(3)] == ["registry-aliases"]


def test_removing_the_tracking_calls_from_train_drops_level_2(rendered, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(rendered[2], project)
    train = project / "src" / "churn_model" / "train.py"
    lines = train.read_text().splitlines()
    train.write_text("\n".join(re.sub(r"\bmlflow\.[\w.]+\(", "print(", line) for line in lines))
    result = assess_project(project)
    assert result.level == 1
    assert "experiment-tracking" in [item.practice.id for item in result.missing_up_to(2)]


def test_a_project_made_by_mlops_ladder_is_told_to_upgrade(tmp_path):
    project = scaffold(tmp_path, 2)
    result = assess_project(project)
    assert result.ladder_level == 2
    steps = assessment_json(result)["next_steps"]
    assert steps["upgrade_command"] == f"mlops-ladder upgrade {project}"
    output = CliRunner().invoke(app, ["assess", str(project)], catch_exceptions=False).output
    assert "`mlops-ladder upgrade` does this for you" in output


def test_a_level_that_is_not_built_points_at_what_to_read(rendered):
    top = max(BUILT)
    if top == HIGHEST:
        pytest.skip("every level is built")
    output = CliRunner().invoke(app, ["assess", str(rendered[top])], catch_exceptions=False).output
    assert f"level {top + 1} is not built" in " ".join(output.split())


def test_any_other_repository_is_pointed_at_template_files(rendered, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(rendered[2], project)
    (project / ".copier-answers.yml").unlink()
    result = assessment_json(assess_project(project))
    assert result["next_steps"]["upgrade_command"] is None
    assert result["next_steps"]["upgrade_unavailable_because"] == "this repository was not made by mlops-ladder"
    reads = {path for step in result["next_steps"]["missing"] for path in step["read"]}
    assert "level3/src/{{package_name}}/registry.py" in reads
