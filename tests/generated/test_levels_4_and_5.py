"""Levels 4 and 5 rendered and used the way their READMEs say: their own test suites, lint, and the
pipeline.

What each level adds (level 4: drift statistics, the paired gate, governance, the secured service;
level 5: the loop, rollback, hot reload, shadow and canary, the simulation) is tested inside the
generated project's own suite; this file runs that suite from the outside on a bundled regression
dataset. The churn CSV (text categories, gaps, a text label) climbs to the top with its own suite
run at every level in tests/test_upgrade_chain.py (examples/walkthrough.py), and its renders are
linted in tests/test_generated_lint.py: running its suites here too would double CI's slowest part.
How long a suite takes is measured, not asserted: the test prints it.
"""

from __future__ import annotations

import pytest
from project_harness import GeneratedProject, generate

pytestmark = pytest.mark.slow

LEVELS = (4, 5)
ANSWERS = {"task": "regression", "dataset": "diabetes"}


@pytest.fixture(scope="module", params=LEVELS, ids=lambda level: f"level{level}")
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    return generate(request.param, tmp_path_factory.mktemp(f"level{request.param}"), **ANSWERS)


def test_own_test_suite_passes(project: GeneratedProject) -> None:
    project.run_own_tests(timeout=900)


def test_lint_is_clean(project: GeneratedProject) -> None:
    project.run("ruff", "check", ".")
    project.run("ruff", "format", "--check", ".")


def test_pipeline_runs_end_to_end(project: GeneratedProject) -> None:
    result = project.run(project.python, "-m", project.package, "pipeline", timeout=600)
    assert "champion" in result.stdout.lower()
