"""The examples climb the ladder: examples/walkthrough.py takes one from level 1 to the top in CI.

The walk-through scaffolds an example, makes a team's edits, upgrades level by level and runs the
project's own test suite at every step, checking the edits survive; this is the one climb CI does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from upgrade_helpers import git, scaffold

from mlops_ladder.answers import read_data_file
from mlops_ladder.templates import built_levels

REPO = Path(__file__).resolve().parents[1]
WALKTHROUGH = REPO / "examples" / "walkthrough.py"
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
# The climb CI does: the example on the CSV shipped in examples/, the most realistic route.
CLIMBED = REPO / "examples" / "churn-csv.yml"


def walkthrough(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(WALKTHROUGH), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


@pytest.mark.slow
@pytest.mark.skipif(len(built_levels()) < 2 or sys.platform == "win32", reason="needs two built levels")
def test_an_example_climbs_to_the_top_keeping_team_edits_and_passing_its_own_tests(tmp_path):
    top = built_levels()[-1]
    result = walkthrough(str(CLIMBED), "--dir", str(tmp_path / "climb"))
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    for level in range(2, top + 1):
        assert f"level {level}: the project's own tests: ok" in result.stdout
    project = tmp_path / "climb" / CLIMBED.stem
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["level"] == top
    assert (project / "NOTES.md").read_text().endswith("We started at level 1.\n")
    assert "n_estimators: 150" in (project / "params.yaml").read_text()
    assert (project / "tests" / "test_team.py").is_file()
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_each_example_answers_file_scaffolds_a_project(example, tmp_path):
    answers = read_data_file(example)
    project = scaffold(tmp_path, 2, name=example.stem, **answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key in ("task", "dataset", "primary_metric"):
        assert recorded[key] == answers[key]
    if answers["dataset"] == "csv":
        assert (project / "data" / Path(str(answers["csv_path"])).name).is_file()


def test_the_examples_cover_classification_regression_and_a_shipped_csv():
    answers = [yaml.safe_load(path.read_text()) for path in EXAMPLES]
    assert {"classification", "regression"} <= {item["task"] for item in answers}
    shipped = [item for item in answers if item["dataset"] == "csv"]
    assert shipped and all((REPO / "examples" / item["csv_path"]).is_file() for item in shipped)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--to", "9"], "--to 9: choose a built level"),
        (["--to", "1"], "--to 1: choose a built level"),
    ],
)
def test_the_walkthrough_refuses_bad_input(args, says, tmp_path):
    result = walkthrough(str(CLIMBED), "--dir", str(tmp_path), *args, timeout=60)
    assert result.returncode == 2 and says in result.stderr


def test_the_walkthrough_refuses_a_missing_answers_file(tmp_path):
    result = walkthrough(str(tmp_path / "nope.yml"), timeout=60)
    assert result.returncode == 2 and "is not a file" in result.stderr


def test_the_walkthrough_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = walkthrough(str(CLIMBED), "--dir", str(tmp_path), timeout=60)
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
