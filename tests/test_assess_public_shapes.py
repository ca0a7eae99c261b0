"""Assess on recreated public repository shapes, each with the level tests/fixtures/assess/README.md justifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from assess_helpers import found

from mlops_ladder.assess import assess_project

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "assess"


@pytest.mark.parametrize(
    ("shape", "level", "present", "missing_for_next"),
    [
        (
            "cookiecutter-data-science",
            1,
            {"ml-code", "dependencies", "package-layout", "tests"},
            {"params-file", "experiment-tracking", "ci-workflow"},
        ),
        (
            "notebook-repo",
            1,
            {"ml-code", "dependencies"},
            {"package-layout", "tests", "params-file", "experiment-tracking", "ci-workflow"},
        ),
        (
            "mlflow-ci",
            2,
            {"params-file", "experiment-tracking", "ci-workflow", "serving-app"},
            {"registry-aliases", "orchestration", "prediction-log", "drift-report", "container-image", "cd-workflow"},
        ),
    ],
)
def test_public_repository_shapes_assess_as_written_down(shape, level, present, missing_for_next):
    result = assess_project(FIXTURES / shape)
    assert result.level == level
    assert present <= found(result)
    assert {practice.id for practice in result.next_steps().missing} == missing_for_next
    assert result.skipped == ()


def test_the_fixture_readme_states_each_level():
    readme = (FIXTURES / "README.md").read_text()
    for shape, level in (("cookiecutter-data-science", 1), ("notebook-repo", 1), ("mlflow-ci", 2)):
        assert f"`{shape}/`" in readme
        assert f"| **{level}** |" in readme


def test_words_in_readmes_and_notebook_markdown_do_not_count():
    """The notebook repo's README and Markdown cells name MLflow; its code only comments it out."""
    result = assess_project(FIXTURES / "notebook-repo")
    assert "experiment-tracking" not in found(result)
    assert "serving-app" not in found(result)
