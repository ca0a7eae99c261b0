"""One set of rules for every route in: `new --data`, `new --data-file` and plain Copier agree.

Each case goes through the three non-interactive routes; they must accept and refuse the same
answers and derive the same package name (the interactive route is in test_new_interactive.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import CliRunner

from mlops_ladder.answers import NAMES_NOT_COPIED
from mlops_ladder.cli import app
from mlops_ladder.levels import HIGHEST
from mlops_ladder.templates import built_levels, templates_dir

UNBUILT = next((level for level in range(max(built_levels()) + 1, HIGHEST + 1)), None)

# (answers, the package name the project gets, or None when every route must refuse the answers)
CASES: dict[str, tuple[dict[str, object], str | None]] = {
    "defaults": ({"project_name": "Churn Model"}, "churn_model"),
    "accents made plain": ({"project_name": "Churn Modèle 2"}, "churn_modele_2"),
    "french": ({"project_name": "Projet Été"}, "projet_ete"),
    "ligatures": ({"project_name": "Straße Œuvre", "dataset": "wine", "primary_metric": "accuracy"}, "strasse_oeuvre"),
    "dashes": ({"project_name": "ml-proj-2", "task": "regression"}, "ml_proj_2"),
    "explicit package": ({"project_name": "2fast", "package_name": "fast2"}, "fast2"),
    "level 2 regression": (
        {"project_name": "Prices", "level": 2, "task": "regression", "dataset": "diabetes", "primary_metric": "r2"},
        "prices",
    ),
    "no letters": ({"project_name": "!!!"}, None),
    "leading digit": ({"project_name": "2fast"}, None),
    "no latin letters": ({"project_name": "日本"}, None),
    "keyword": ({"project_name": "Class"}, None),
    "library name": ({"project_name": "MLflow"}, None),
    "blank name": ({"project_name": "   "}, None),
    "bad package": ({"project_name": "p", "package_name": "My-Pkg"}, None),
    "keyword package": ({"project_name": "p", "package_name": "import"}, None),
    "classification on diabetes": ({"project_name": "p", "task": "classification", "dataset": "diabetes"}, None),
    "regression on wine": ({"project_name": "p", "task": "regression", "dataset": "wine"}, None),
    "regression on breast_cancer": ({"project_name": "p", "task": "regression", "dataset": "breast_cancer"}, None),
    "regression metric f1": ({"project_name": "p", "task": "regression", "primary_metric": "f1"}, None),
    "classification metric rmse": ({"project_name": "p", "primary_metric": "rmse"}, None),
    "unknown task": ({"project_name": "p", "task": "clustering"}, None),
    "unsupported python": ({"project_name": "p", "python_version": "3.9"}, None),
    "blank csv path": ({"project_name": "p", "dataset": "csv", "csv_path": " "}, None),
    "blank target column": ({"project_name": "p", "target_column": " "}, None),
}
if UNBUILT:
    CASES["unbuilt level"] = ({"project_name": "p", "level": UNBUILT}, None)


def cli_route(tmp_path: Path, answers: dict[str, object]) -> Path:
    pairs = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = CliRunner().invoke(app, ["new", str(tmp_path / "cli"), "--defaults", *pairs], catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    return tmp_path / "cli"


def data_file_route(tmp_path: Path, answers: dict[str, object]) -> Path:
    # The names come from --data: a data file's names are not copied (see test_cli_new.py).
    in_file = {key: value for key, value in answers.items() if key not in NAMES_NOT_COPIED}
    names = [arg for key in NAMES_NOT_COPIED if key in answers for arg in ("--data", f"{key}={answers[key]}")]
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(in_file, allow_unicode=True), encoding="utf-8")
    args = ["new", str(tmp_path / "file"), "--defaults", "--data-file", str(tmp_path / "answers.yml"), *names]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    return tmp_path / "file"


def copier_route(tmp_path: Path, answers: dict[str, object]) -> Path:
    with contextlib.suppress(ValueError):  # how Copier refuses an answer, or a default its validator fails
        copier.run_copy(str(templates_dir()), tmp_path / "copier", data=answers, defaults=True, quiet=True)
    return tmp_path / "copier"


def recorded(project: Path) -> dict[str, object] | None:
    answers_file = project / ".copier-answers.yml"
    if not answers_file.is_file():
        return None
    return {key: value for key, value in yaml.safe_load(answers_file.read_text()).items() if not key.startswith("_")}


@pytest.mark.parametrize("case", CASES)
def test_every_route_accepts_and_refuses_the_same_answers(tmp_path, case):
    answers, package = CASES[case]
    results = {
        route.__name__: recorded(route(tmp_path, answers)) for route in (cli_route, data_file_route, copier_route)
    }
    if package is None:
        assert results == dict.fromkeys(results), f"some route accepted {answers}"
        assert sorted(path.name for path in tmp_path.iterdir()) in (["answers.yml"], []), "nothing may be written"
        return
    for route, got in results.items():
        assert got is not None, f"{route} refused {answers}"
        assert got["package_name"] == package, route
    first, *others = results.values()
    assert all(other == first for other in others), results
