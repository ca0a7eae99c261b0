"""Level 1 rendered per task and on a user's CSV: its own tests, train.py and ruff all pass."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from example_data import CHURN, SPEND, add_example_data
from project_harness import GeneratedProject, generate
from sklearn.datasets import load_wine

pytestmark = pytest.mark.slow


def primary_metric(train_output: str, name: str) -> float:
    """The value on the line train.py marks `(primary)`, checking it is the expected metric."""
    match = re.search(r"^\s+(\w+)\s+([-\d.]+)\s+\(primary\)$", train_output, re.MULTILINE)
    assert match, f"no primary metric in train.py output:\n{train_output}"
    assert match.group(1) == name, train_output
    return float(match.group(2))


def lint(project: GeneratedProject) -> None:
    """Ruff with its default settings: level 1 has no pyproject.toml to configure it."""
    project.run(project.python, "-m", "ruff", "check", ".")
    project.run(project.python, "-m", "ruff", "format", "--check", ".")


@pytest.mark.parametrize(
    ("task", "metric", "lowest", "highest"),
    [
        ("classification", "f1", 0.9, 1.0),  # breast_cancer
        ("regression", "rmse", 30.0, 70.0),  # diabetes; predicting the mean gives ~77
    ],
)
def test_level1_runs_its_own_tests_and_trains(tmp_path, task: str, metric: str, lowest: float, highest: float) -> None:
    project = generate(1, tmp_path, install=False, task=task)

    notebook = json.loads((project.path / "notebook.ipynb").read_text())
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] for cell in code_cells), "template notebook has outputs"
    assert f'TASK = "{task}"' in "".join(code_cells[0]["source"])

    project.run(project.python, "-m", "pytest", "-q")
    result = project.run(project.python, "train.py")
    assert (project.path / "model.joblib").is_file()
    assert lowest <= primary_metric(result.stdout, metric) <= highest
    lint(project)

    readme = (project.path / "README.md").read_text()
    assert "Ad-hoc experimentation" in readme
    assert "mlops-ladder upgrade" in readme
    assert "Repeatable pipeline + tracking" in readme
    # Everything the scripts and tests wrote is ignored, so the tree stays clean.
    assert project.run("git", "status", "--porcelain").stdout == ""


def test_level1_trains_on_a_users_csv_and_explains_bad_data(tmp_path) -> None:
    # A space and an apostrophe in the path: the rendered constants must stay valid Python.
    csv = tmp_path / "team's data" / "wine.csv"
    csv.parent.mkdir()
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "label"})
    wine.to_csv(csv, index=False)
    project = generate(1, tmp_path, install=False, dataset="csv", csv_path=str(csv), target_column="label")

    result = project.run(project.python, "train.py")
    assert primary_metric(result.stdout, "f1") >= 0.85
    scored = project.run(project.python, "predict.py", "sample_input.csv")
    assert "Wrote 5 predictions" in scored.stdout
    lint(project)

    wine.rename(columns={"label": "class"}).to_csv(csv, index=False)
    wrong_target = project.run(project.python, "train.py", check=False)
    assert wrong_target.returncode != 0
    assert "no column 'label'" in wrong_target.stderr
    assert "Traceback" not in wrong_target.stderr

    csv.unlink()
    missing = project.run(project.python, "train.py", check=False)
    assert missing.returncode != 0
    assert f"no CSV file at {csv}" in missing.stderr


@pytest.mark.parametrize(("answers", "metric", "lowest"), [(CHURN, "f1", 0.75), (SPEND, "r2", 0.5)])
def test_level1_trains_on_text_categories_and_gaps(tmp_path, answers: dict, metric: str, lowest: float) -> None:
    """The example CSVs (numbers, text categories, empty cells; a text or a numeric target) at the
    relative path `new` records: the project's own tests, train.py, predict.py and ruff pass."""
    project = add_example_data(generate(1, tmp_path, install=False, **answers), answers)

    project.run_own_tests()
    result = project.run(project.python, "train.py")
    scores = dict(re.findall(r"^\s+(\w+)\s+([-\d.]+)", result.stdout, re.MULTILINE))
    assert float(scores[metric]) >= lowest, result.stdout

    rows = pd.read_csv(project.path / "sample_input.csv")
    rows.loc[0, "plan"] = None  # a gap
    rows.loc[1, "plan"] = "enterprise"  # a category the model never saw
    rows.to_csv(tmp_path / "rows.csv", index=False)
    project.run(project.python, "predict.py", str(tmp_path / "rows.csv"), "--output", str(tmp_path / "out.csv"))
    predictions = pd.read_csv(tmp_path / "out.csv")["prediction"]
    assert predictions.notna().all()
    if answers is CHURN:
        assert set(predictions) <= {"yes", "no"}  # the labels as trained
    lint(project)
