"""`mlops-ladder new`: what a user sees, and that bad input writes nothing."""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlops_ladder.cli import app
from mlops_ladder.errors import LadderError
from mlops_ladder.levels import all_levels, levels_markdown
from mlops_ladder.names import check_package_name, derive_package_name, package_name_problem
from mlops_ladder.scaffold import PRISTINE_BRANCH, new_project
from mlops_ladder.templates import built_levels, questions

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def help_text(command: str) -> str:
    """The command's --help as one line of words, without Rich's box borders."""
    return " ".join(invoke(command, "--help").output.replace("│", " ").split())


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("level", built_levels())
def test_new_renders_a_committed_project_with_a_pristine_branch(tmp_path, level):
    result = invoke("new", str(tmp_path / "churn-model"), "--level", str(level), "--defaults")
    assert result.exit_code == 0, result.output
    project = tmp_path / "churn-model"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["level"] == level
    assert answers["project_name"] == "churn-model"
    assert answers["package_name"] == "churn_model"
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD") == git(project, "rev-parse", PRISTINE_BRANCH)
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert f"level {level}" in git(project, "log", "-1", "--format=%B")
    assert not list(tmp_path.glob(".*partial")), "the staging folder must be gone"


def test_new_without_a_tty_needs_no_defaults_flag(tmp_path):
    result = invoke("new", str(tmp_path / "p"), "--level", "1", "--data", "task=regression")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert (answers["task"], answers["dataset"], answers["primary_metric"]) == ("regression", "diabetes", "rmse")


def test_new_creates_missing_parent_folders(tmp_path):
    result = invoke("new", str(tmp_path / "a" / "b" / "project"), "--level", "1", "--defaults")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "b" / "project" / ".copier-answers.yml").is_file()


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("My Project", "my_project"),
        ("ml-proj-2", "ml_proj_2"),
        ("Projet Été", "projet_ete"),
        ("Churn Modèle 2", "churn_modele_2"),
        ("Straße Œuvre", "strasse_oeuvre"),
        ("  Spaces  ", "spaces"),
    ],
)
def test_package_name_is_derived_from_human_names(name, package):
    assert derive_package_name(name) == package


@pytest.mark.parametrize("name", ["!!!", "2fast", "class", "日本", "MLflow", ""])
def test_names_that_give_no_valid_package_have_no_default(name):
    assert derive_package_name(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("My-Pkg", "not a valid Python package name"),
        ("2fast", "not a valid Python package name"),
        ("", "not a valid Python package name"),
        ("import", "Python keyword or a library"),
        ("sklearn", "Python keyword or a library"),
    ],
)
def test_invalid_package_names_are_refused_with_the_templates_reason(name, problem):
    with pytest.raises(LadderError) as caught:
        check_package_name(name)
    assert problem in caught.value.problem
    assert "package_name" in caught.value.fix
    assert package_name_problem("churn_model") == ""


def write_csv(path: Path, columns: list[str], rows: int = 12) -> Path:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([columns, *([row % 2] * len(columns) for row in range(rows))])
    return path


BAD_INPUTS = {
    "level below 1": (["--level", "0"], "Level 0 does not exist"),
    "level above 5": (["--level", "6"], "Level 6 does not exist"),
    "name with no letters": (["--data", "project_name=!!!"], "No Python package name can be made"),
    "name starting with a digit": (["--data", "project_name=2fast"], "No Python package name can be made"),
    "invalid package name": (["--data", "package_name=My-Pkg"], "not a valid Python package name"),
    "keyword package name": (["--data", "package_name=class"], "Python keyword"),
    "--level and --data level disagree": (["--level", "1", "--data", "level=3"], "contradict each other"),
    "unknown data key": (["--data", "colour=blue"], "'colour' is not a question"),
    "missing data file": (["--data-file", "/no/answers.yml"], "Cannot read the answers file"),
    "data without =": (["--data", "task"], "not of the form key=value"),
    "missing csv": (["--data", "dataset=csv", "--data", "csv_path=/no/such.csv"], "There is no file at /no/such.csv"),
    "csv without a path": (["--data", "dataset=csv", "--data", "csv_path="], "needs the CSV file's path"),
    "task and dataset disagree": (["--data", "task=regression", "--data", "dataset=wine"], "classification dataset"),
    "metric of the other task": (["--data", "primary_metric=rmse"], "regression metric"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_with_a_fix_and_writes_nothing(tmp_path, case):
    args, message = BAD_INPUTS[case]
    before = sorted(tmp_path.iterdir())
    result = invoke("new", str(tmp_path / "project"), "--defaults", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Fix:" in result.output
    assert "Traceback" not in result.output
    assert sorted(tmp_path.iterdir()) == before


def test_the_same_level_twice_is_not_a_contradiction(tmp_path):
    result = invoke("new", str(tmp_path / "p"), "--level", "2", "--data", "level=2", "--defaults")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())["level"] == 2


def test_csv_without_the_target_column_is_refused(tmp_path):
    data = write_csv(tmp_path / "data.csv", ["a", "b", "label"])
    result = invoke("new", str(tmp_path / "p"), "--defaults", "-d", "dataset=csv", "-d", f"csv_path={data}")
    assert result.exit_code == 2
    assert "no column 'target'" in " ".join(result.output.split())
    assert not (tmp_path / "p").exists()


def test_unbuilt_level_is_refused_naming_the_built_ones(tmp_path):
    missing = [n for n, level in all_levels().items() if not level.built]
    if not missing:
        pytest.skip("every level is built")
    result = invoke("new", str(tmp_path / "p"), "--level", str(missing[0]), "--defaults")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "not available in this version" in output
    assert f"Choose one of {', '.join(map(str, built_levels()))}," in output
    assert not (tmp_path / "p").exists()


def test_existing_non_empty_directory_is_left_untouched(tmp_path):
    target = tmp_path / "project"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = invoke("new", str(target), "--level", "1", "--defaults")
    assert result.exit_code == 2
    assert "already exists and is not empty" in " ".join(result.output.split())
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "keep me"


def test_existing_empty_directory_is_used(tmp_path):
    (tmp_path / "project").mkdir()
    assert invoke("new", str(tmp_path / "project"), "--level", "1", "--defaults").exit_code == 0
    assert (tmp_path / "project" / ".git").is_dir()


def test_interrupt_mid_scaffold_leaves_no_half_written_project(tmp_path):
    def interrupt_after_render(step: str) -> None:
        if step.startswith("Creating the git repository"):
            raise KeyboardInterrupt

    target = tmp_path / "nested" / "project"
    with pytest.raises(KeyboardInterrupt):
        new_project(target, {"level": 1}, step=interrupt_after_render)
    assert list(tmp_path.iterdir()) == []


def test_docs_levels_page_is_generated_from_the_one_source():
    assert (REPO / "docs" / "levels.md").read_text() == levels_markdown() + "\n"


def test_level_question_offers_exactly_the_built_levels():
    assert questions()["level"]["choices"] == built_levels()


def test_level_help_names_the_built_levels_and_no_range():
    """The --level help and the prompt's help come from the question's choices, never a hand-written 1-5."""
    assert f"Maturity level: {', '.join(map(str, built_levels()))} " in help_text("new")
    assert not re.search(r"\d\s*-\s*\d", questions()["level"]["help"])


def test_new_in_a_terminal_asks_the_questions(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        "mlops-ladder", ["new", "asked-project", "--level", "1"], cwd=str(tmp_path), encoding="utf-8", timeout=30
    )
    asked = set()
    while child.expect(["🎤([^\r\n]*)", pexpect.EOF]) == 0:
        asked.add(child.match.group(1).strip())
        child.send("\r")  # accept the offered default
    child.close()
    assert child.exitstatus == 0, child.before
    assert any("Project name" in question for question in asked)
    assert any("Kind of supervised learning task" in question for question in asked)
    answers = yaml.safe_load((tmp_path / "asked-project" / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["package_name"]) == ("asked-project", "asked_project")


def test_answers_come_from_a_data_file_with_data_on_top(tmp_path):
    (tmp_path / "answers.yml").write_text("_src_path: elsewhere\ntask: regression\nauthor_name: Data Team\n")
    result = invoke(
        "new", str(tmp_path / "p"), "--defaults", "--data-file", str(tmp_path / "answers.yml"), "-d", "author_name=Me"
    )
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert (answers["task"], answers["author_name"]) == ("regression", "Me")


def test_a_data_file_does_not_copy_another_projects_names_unless_given_with_data(tmp_path):
    other = "project_name: Fraud Model\npackage_name: fraud_model\ntask: regression\n"
    (tmp_path / "answers.yml").write_text(other)
    assert (
        invoke("new", str(tmp_path / "churn"), "--defaults", "--data-file", str(tmp_path / "answers.yml")).exit_code
        == 0
    )
    answers = yaml.safe_load((tmp_path / "churn" / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["package_name"], answers["task"]) == ("churn", "churn", "regression")

    asked = ["--data-file", str(tmp_path / "answers.yml"), "-d", "project_name=Fraud Model"]
    assert invoke("new", str(tmp_path / "named"), "--defaults", *asked).exit_code == 0
    answers = yaml.safe_load((tmp_path / "named" / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["package_name"]) == ("Fraud Model", "fraud_model")
    assert "package_name are not copied" in help_text("new")


def test_a_corrupt_data_file_is_refused(tmp_path):
    (tmp_path / "answers.yml").write_text("task: [regression\n")
    result = invoke("new", str(tmp_path / "p"), "--defaults", "--data-file", str(tmp_path / "answers.yml"))
    assert result.exit_code == 2
    assert "not valid YAML" in result.output
    assert not (tmp_path / "p").exists()
