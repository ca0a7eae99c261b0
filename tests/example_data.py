"""The mixed-type example CSVs of examples/, put into a generated project as its own data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from project_harness import GeneratedProject

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# What each example is for: the answers that render a project on it. csv_path is relative to the
# project, where `mlops-ladder new` copies a user's CSV.
CHURN = {"task": "classification", "dataset": "csv", "csv_path": "data/churn.csv", "target_column": "churned"}
SPEND = {"task": "regression", "dataset": "csv", "csv_path": "data/spend.csv", "target_column": "annual_spend"}


def add_example_data(project: GeneratedProject, answers: dict[str, str]) -> GeneratedProject:
    """Copy the example CSV named by `answers` to its csv_path in the project, and commit it."""
    target = project.path / answers["csv_path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLES / target.name, target)
    subprocess.run(["git", "add", "-A"], cwd=project.path, check=True)
    subprocess.run(["git", "commit", "-qm", "Add the training data"], cwd=project.path, check=True)
    return project
