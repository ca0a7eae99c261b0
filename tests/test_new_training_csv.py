"""`new` with the user's own CSV: bad files refused in one sentence, good ones copied into the project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlops_ladder.cli import app
from mlops_ladder.scaffold import PRISTINE_BRANCH
from mlops_ladder.templates import TEMPLATES_ENV, templates_dir


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


def table(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def labelled(labels: list[str]) -> bytes:
    """A small table whose `target` column holds these labels, one row each."""
    return table("size,colour,target", [f"{row},red,{label}" for row, label in enumerate(labels)])


GOOD_ROWS = [f"{row},{'red' if row % 2 else 'blue'},{'yes' if row % 3 else 'no'}" for row in range(30)]

# (file content, task, the sentence that must explain the refusal)
BAD_FILES: dict[str, tuple[bytes, str, str]] = {
    "header only": (b"size,colour,target\n", "classification", "has a header line but no data rows"),
    "empty": (b"", "classification", "is empty"),
    "blank lines only": (b"\n\n  \n", "classification", "is empty"),
    "binary": (bytes(range(256)) * 4, "classification", "is not a text CSV file"),
    "excel workbook": (b"PK\x03\x04" + bytes(200), "classification", "an Excel .xlsx file"),
    "latin-1": (b"size,ville,target\n" + "1,Orléans,a\n".encode("latin-1") * 20, "classification", "not UTF-8"),
    "utf-16": ("size,target\n1,a\n".encode("utf-16"), "classification", "is UTF-16 text"),
    "semicolons": (table("size;colour;target", ["1;red;a"] * 20), "classification", "separated by ';'"),
    "duplicate columns": (table("size,size,target", ["1,2,a"] * 20), "classification", "'size' more than once"),
    "unnamed index column": (table(",size,target", ["0,1,a"] * 20), "classification", "Column 1 of"),
    "no target column": (table("size,colour,label", GOOD_ROWS), "classification", "has no column 'target'"),
    "target always missing": (labelled(["", "NA", "nan"] * 5), "classification", "is empty in every row"),
    "too few rows": (labelled(["a", "b", "a", "b"]), "classification", "needs at least 10"),
    "ragged row": (table("size,colour,target", [*GOOD_ROWS, "1,red,a,extra"]), "classification", "has 4 fields"),
    "one class only": (labelled(["yes"] * 20), "classification", "holds one class only ('yes')"),
    "a class with one row": (labelled(["a", "b"] * 10 + ["c"]), "classification", "The class 'c'"),
    "too many classes for the split": (labelled([c for c in "abcdefg" for _ in range(2)]), "classification", "too few"),
    "regression on text labels": (labelled(["setosa", "virginica"] * 10), "regression", "holds text ('setosa')"),
    "classification on a continuous target": (
        labelled([f"{row * 1.37:.2f}" for row in range(40)]),
        "classification",
        "40 distinct decimal numbers",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_csv_is_refused_in_one_sentence_with_the_fix_and_nothing_written(tmp_path, case):
    content, task, sentence = BAD_FILES[case]
    (tmp_path / "input.csv").write_bytes(content)
    before = sorted(tmp_path.iterdir())
    answers = ["-d", "dataset=csv", "-d", f"csv_path={tmp_path / 'input.csv'}", "-d", f"task={task}"]
    result = invoke("new", str(tmp_path / "project"), "--defaults", *answers)
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert sentence in output
    assert "Fix:" in output and "Traceback" not in output
    assert len(result.output.strip().splitlines()) <= 4  # one sentence and its fix, wrapped at most once each
    assert sorted(tmp_path.iterdir()) == before


def test_a_folder_or_a_missing_file_is_refused(tmp_path):
    for given, sentence in ((tmp_path, "is a folder, not a CSV file"), (tmp_path / "no.csv", "There is no file at")):
        result = invoke("new", str(tmp_path / "p"), "--defaults", "-d", "dataset=csv", "-d", f"csv_path={given}")
        assert result.exit_code == 2
        assert sentence in " ".join(result.output.split())
        assert not (tmp_path / "p").exists()


def test_the_decimal_rule_leaves_whole_number_classes_and_few_decimal_levels_alone(tmp_path):
    ratings = labelled([str(1 + row % 5) for row in range(40)])
    doses = labelled([("0.5", "1.5", "2.5")[row % 3] for row in range(30)])
    for name, content in (("ratings.csv", ratings), ("doses.csv", doses)):
        (tmp_path / name).write_bytes(content)
        answers = ["-d", "dataset=csv", "-d", f"csv_path={tmp_path / name}"]
        result = invoke("new", str(tmp_path / name[:-4]), "--defaults", *answers)
        assert result.exit_code == 0, result.output


def write_good_csv(folder: Path, name: str = "churn.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    # A byte-order mark (Excel's "CSV UTF-8") and text features, as tables come.
    path.write_bytes(b"\xef\xbb\xbf" + table("tenure,plan,churned", [row.replace("red", "basic") for row in GOOD_ROWS]))
    return path


def test_the_csv_is_copied_into_data_and_committed_after_the_pristine_scaffold(tmp_path, monkeypatch):
    source_folder = tmp_path / "creator's data"
    write_good_csv(source_folder)
    monkeypatch.chdir(source_folder)
    project = tmp_path / "churn"
    result = invoke(
        "new", str(project), "--level", "2", "--defaults",
        "-d", "dataset=csv", "-d", "csv_path=churn.csv", "-d", "target_column=churned",
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["csv_path"] == "data/churn.csv"
    assert (project / "data" / "churn.csv").read_bytes() == (source_folder / "churn.csv").read_bytes()
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "-1", "--format=%s") == ("Add training data data/churn.csv and examples/sample_rows.csv")
    added = git(project, "diff", "--name-only", "HEAD~1", "HEAD").split()
    assert added == ["data/churn.csv", "examples/sample_rows.csv"]
    # What `make predict` scores with no file given: the first rows, without the column to predict.
    sample = (project / "examples" / "sample_rows.csv").read_text().splitlines()
    assert sample[0] == "tenure,plan" and len(sample) == 6
    assert git(project, "rev-parse", "HEAD~1") == git(project, "rev-parse", PRISTINE_BRANCH)
    assert "data/churn.csv" not in git(project, "ls-tree", "-r", "--name-only", PRISTINE_BRANCH)

    # No absolute path of the creator's machine anywhere in the project, its answers or its history.
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(project).parts:
            assert str(tmp_path) not in path.read_text(errors="replace"), path
    assert str(tmp_path) not in git(project, "log", "--format=%B")


def test_a_csv_path_in_another_projects_answers_file_is_read_from_that_project(tmp_path, monkeypatch):
    write_good_csv(tmp_path / "source")
    first = tmp_path / "first"
    args = ["-d", "dataset=csv", "-d", f"csv_path={tmp_path / 'source' / 'churn.csv'}", "-d", "target_column=churned"]
    assert invoke("new", str(first), "--defaults", *args).exit_code == 0

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # data/churn.csv here does not exist: only first/data/churn.csv does
    result = invoke("new", "second", "--defaults", "--data-file", str(first / ".copier-answers.yml"))
    assert result.exit_code == 0, result.output
    second = elsewhere / "second"
    assert (second / "data" / "churn.csv").read_bytes() == (first / "data" / "churn.csv").read_bytes()
    answers = yaml.safe_load((second / ".copier-answers.yml").read_text())
    assert (answers["csv_path"], answers["target_column"], answers["project_name"]) == (
        "data/churn.csv",
        "churned",
        "second",
    )


def test_a_target_that_holds_only_the_csv_becomes_the_project(tmp_path):
    project = tmp_path / "churn"
    source = write_good_csv(project)
    result = invoke(
        "new",
        str(project),
        "--defaults",
        "-d",
        "dataset=csv",
        "-d",
        f"csv_path={source}",
        "-d",
        "target_column=churned",
    )
    assert result.exit_code == 0, result.output
    assert not source.exists(), "the CSV moved into data/"
    assert (project / "data" / "churn.csv").is_file()
    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["churn"]


def test_a_target_holding_anything_else_is_refused_untouched(tmp_path):
    project = tmp_path / "churn"
    source = write_good_csv(project)
    (project / "notes.txt").write_text("keep me")
    result = invoke(
        "new",
        str(project),
        "--defaults",
        "-d",
        "dataset=csv",
        "-d",
        f"csv_path={source}",
        "-d",
        "target_column=churned",
    )
    assert result.exit_code == 2
    assert "already exists and is not empty" in " ".join(result.output.split())
    assert sorted(path.name for path in project.iterdir()) == ["churn.csv", "notes.txt"]


def test_a_csv_named_like_a_template_file_in_data_is_refused(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    (templates / "level1" / "data").mkdir()
    (templates / "level1" / "data" / "churn.csv").write_text("shipped,by,the,template\n")
    monkeypatch.setenv(TEMPLATES_ENV, str(templates))
    source = write_good_csv(tmp_path / "source")
    result = invoke(
        "new", str(tmp_path / "p"), "--defaults", "-d", "dataset=csv", "-d", f"csv_path={source}",
        "-d", "target_column=churned",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "already has a file data/churn.csv" in " ".join(result.output.split())
    assert "Rename your CSV" in result.output
    assert not (tmp_path / "p").exists()


def test_a_csv_project_upgrades_keeping_its_data(tmp_path):
    """The data commit sits on top of the pristine scaffold, so upgrade sees it as the team's own file."""
    source = write_good_csv(tmp_path / "source")
    project = tmp_path / "churn"
    args = ["-d", "dataset=csv", "-d", f"csv_path={source}", "-d", "target_column=churned"]
    assert invoke("new", str(project), "--level", "1", "--defaults", *args).exit_code == 0
    result = invoke("upgrade", str(project))
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["level"], answers["csv_path"]) == (2, "data/churn.csv")
    assert (project / "data" / "churn.csv").read_bytes() == source.read_bytes()
    assert "data/churn.csv" in (project / "params.yaml").read_text()
    assert git(project, "status", "--porcelain") == ""
