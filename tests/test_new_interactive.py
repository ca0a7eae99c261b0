"""`new` in a terminal: Copier's prompts re-ask a refused answer, Ctrl-C ends cleanly, only built levels offered.

Driven through a real pseudo-terminal (pexpect), as a user types.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
import yaml

from mlops_ladder.templates import built_levels, questions

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DOWN, CLEAR_LINE = "\x1b[B", "\x15"
SRC = Path(__file__).resolve().parents[1] / "src"


def spawn(cwd: Path, *args: str):
    """`mlops-ladder new ...` from this checkout's source, in a terminal wide enough not to wrap."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    return pexpect.spawn(
        sys.executable,
        ["-m", "mlops_ladder", "new", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def accept_defaults(child, *prompts: str) -> None:
    """Wait for each question (by its help text) and take the offered default."""
    for prompt in prompts:
        child.expect(prompt)
        child.send("\r")


def screen(child) -> str:
    return ANSI.sub("", child.before + (child.after if isinstance(child.after, str) else ""))


def test_ctrl_c_mid_questions_prints_one_line_and_writes_nothing(tmp_path):
    child = spawn(tmp_path, "churn", "--level", "2")
    child.expect("Project name")
    child.send("\r")
    child.expect("Python package name")  # mid-questions: one answered, the next on screen
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    said = [line.strip() for line in screen(child).splitlines() if line.strip()]
    # What follows the prompt Copier was drawing: the CLI's own line, and nothing else.
    after_prompt = said[next(i for i, line in enumerate(said) if "Interrupted" in line) :]
    assert child.exitstatus == 130
    assert after_prompt == ["Interrupted; nothing was changed."]
    assert "Traceback" not in screen(child)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_name_that_gives_no_package_name_is_asked_for_and_a_bad_one_asked_again(tmp_path):
    child = spawn(tmp_path, "2fast", "--level", "1", "--data", "task=regression")
    child.expect("Project name")
    child.send("\r")
    child.expect("Python package name")
    child.send("Fast-Two\r")  # refused by the template's validator, and asked again
    child.expect("not a valid Python package name")
    child.send(CLEAR_LINE + "fast_two\r")
    accept_defaults(child, "One line", "Author", "Python version", "Training data", "column to predict", "Metric")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, screen(child)
    answers = yaml.safe_load((tmp_path / "2fast" / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["package_name"], answers["dataset"]) == ("2fast", "fast_two", "diabetes")


def test_the_prompts_refuse_a_dataset_of_the_other_task_and_take_a_csv(tmp_path):
    source = tmp_path / "input" / "iris.csv"
    source.parent.mkdir()
    rows = [f"{row / 10},{('setosa', 'versicolor', 'virginica')[row % 3]}" for row in range(30)]
    source.write_text("petal_width,species\n" + "\n".join(rows) + "\n")
    child = spawn(tmp_path, "iris", "--level", "1")
    accept_defaults(child, "Project name", "Python package name", "One line saying", "Author or team", "Python version")
    child.expect("Kind of supervised learning task")
    child.send("\r")  # classification
    child.expect("diabetes is a regression dataset")
    child.send(DOWN + DOWN + "\r")  # breast_cancer -> wine -> (diabetes is disabled) -> csv
    child.expect("Path to the CSV file")
    child.send(CLEAR_LINE + "input/iris.csv\r")
    child.expect("Name of the column to predict")
    child.send(CLEAR_LINE + "species\r")
    child.expect("rmse is a regression metric")
    child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, screen(child)
    project = tmp_path / "iris"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["dataset"], answers["csv_path"], answers["target_column"]) == ("csv", "data/iris.csv", "species")
    assert (project / "data" / "iris.csv").read_text() == source.read_text()


def test_the_level_prompt_offers_exactly_the_built_levels(tmp_path):
    child = spawn(tmp_path, "churn")
    child.expect(re.escape(questions()["level"]["help"]))
    # Let the whole choice list be drawn: a busy machine draws it slowly, so wait until it stops growing.
    prompt, offered, deadline = "", set(), time.monotonic() + 30
    while time.monotonic() < deadline and sorted(offered) != built_levels():
        child.expect(pexpect.TIMEOUT, timeout=1)
        prompt = ANSI.sub("", child.before)
        offered = {int(number) for number in re.findall(r"^\W*(\d)\W*$", prompt, re.MULTILINE)}
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert sorted(offered) == built_levels()
    assert not re.search(r"\d\s*-\s*\d", prompt), "no hand-written range of levels"
    assert not (tmp_path / "churn").exists()


def test_a_refused_csv_is_explained_and_its_questions_asked_again(tmp_path):
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "header-only.csv").write_text("petal_width,species\n")
    rows = [f"{row / 10},{('setosa', 'versicolor')[row % 2]}" for row in range(20)]
    (tmp_path / "input" / "iris.csv").write_text("petal_width,species\n" + "\n".join(rows) + "\n")
    child = spawn(tmp_path, "iris", "--level", "1")
    accept_defaults(child, "Project name", "Python package name", "One line", "Author", "Python version", "Kind of")
    child.expect("diabetes is a regression dataset")
    child.send(DOWN + DOWN + "\r")  # csv
    child.expect("Path to the CSV file")
    child.send(CLEAR_LINE + "input/header-only.csv\r")
    child.expect("column to predict")
    child.send(CLEAR_LINE + "species\r")
    accept_defaults(child, "Metric")
    child.expect("has a header line but no data rows")
    child.expect("Asking again")
    accept_defaults(child, "Kind of", "Training data")  # the last answers are offered: classification, csv
    child.expect("Path to the CSV file")
    child.send(CLEAR_LINE + "input/iris.csv\r")
    accept_defaults(child, "column to predict", "Metric")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, screen(child)
    answers = yaml.safe_load((tmp_path / "iris" / ".copier-answers.yml").read_text())
    assert (answers["csv_path"], answers["target_column"], answers["project_name"]) == (
        "data/iris.csv",
        "species",
        "iris",
    )
