"""`mlops-ladder assess` as a user and a CI job run it: formats, exit codes, refusals, the questionnaire, the docs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pexpect
import pytest
import yaml
from assess_helpers import write_repo
from typer.testing import CliRunner

from mlops_ladder.assess_catalogue import load_catalogue
from mlops_ladder.assess_docs import assess_docs_markdown
from mlops_ladder.assess_json import JSON_SCHEMA, SCHEMA_VERSION
from mlops_ladder.cli import app

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "assess"
LEVEL_2_REPO = FIXTURES / "mlflow-ci"


def run(*args: str):
    return CliRunner().invoke(app, ["assess", *args], catch_exceptions=False)


def all_answers(value: bool) -> dict[str, bool]:
    return {question.id: value for question in load_catalogue().questions}


def test_json_follows_the_documented_versioned_schema():
    result = run(str(LEVEL_2_REPO), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    jsonschema.validate(report, JSON_SCHEMA)
    assert report["schema_version"] == SCHEMA_VERSION
    assert (report["level"], report["code_level"], report["organisation_level"]) == (2, 2, None)
    assert report["next_steps"]["level"] == 3
    assert {step["id"] for step in report["next_steps"]["missing"]} >= {"registry-aliases", "orchestration"}


def test_format_json_is_the_same_as_the_json_flag():
    assert json.loads(run(str(LEVEL_2_REPO), "--format", "json").stdout) == json.loads(
        run(str(LEVEL_2_REPO), "--json").stdout
    )


@pytest.mark.parametrize(("level", "code"), [(1, 0), (2, 0), (3, 1), (5, 1)])
def test_fail_under_exits_1_below_the_level(level, code):
    result = run(str(LEVEL_2_REPO), "--fail-under", str(level))
    assert result.exit_code == code
    if code:
        assert f"Below level {level}" in result.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["does-not-exist"], "does not exist"),
        (["pyproject.toml"], "is not a folder"),
        ([".", "--fail-under", "6"], "--fail-under 6 is not a level"),
        ([".", "--fail-under", "0"], "--fail-under 0 is not a level"),
        ([".", "--format", "xml"], "--format xml is not a report format"),
        ([".", "--json", "--format", "markdown"], "contradict"),
        ([".", "--answers", "missing.yml"], "Cannot read the answers file"),
    ],
)
def test_mistakes_are_refused_with_exit_2_and_a_fix(args, problem, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run(*args)
    assert result.exit_code == 2
    assert problem in result.stderr
    assert "Fix:" in result.stderr
    assert result.stdout == ""


def test_markdown_is_a_report_to_paste(tmp_path):
    report = run(str(LEVEL_2_REPO), "--format", "markdown").stdout
    assert report.startswith("# MLOps assessment:")
    assert "**Level reached: level 2: Repeatable pipeline + tracking.**" in report
    assert "| 2 | Experiment tracking | yes | `src/wine_quality/train.py:16` call mlflow.sklearn.autolog(...)" in report
    assert "| 3 | Model registry with aliases | **missing** |  |" in report
    assert "## Next: level 3: Automated training and deployment" in report
    assert "`templates/level3/src/{{package_name}}/registry.py`" in report


def test_the_table_names_evidence_and_next_steps():
    output = " ".join(run(str(LEVEL_2_REPO)).stdout.split())
    assert "Code: level 2: Repeatable pipeline + tracking" in output
    assert "To reach level 3" in output
    assert "this repository was not made by mlops-ladder" in output


def test_answers_from_a_file_hold_the_level_back(tmp_path):
    answers = {**all_answers(True), "code-review": False}
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(answers))
    report = json.loads(run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml"), "--json").stdout)
    assert (report["code_level"], report["organisation_level"], report["level"]) == (2, 1, 1)
    assert report["questionnaire"]["answers"]["code-review"] is False
    assert set(report["questionnaire"]["aspects"]) == set(load_catalogue().aspects)
    assert run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml"), "--fail-under", "2").exit_code == 1
    table = " ".join(run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml")).stdout.split())
    assert "Overall: level 1: Ad-hoc experimentation (held back by the organisation)" in table


def test_a_higher_organisation_does_not_lift_the_code(tmp_path):
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(all_answers(True)))
    report = json.loads(run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml"), "--json").stdout)
    assert (report["code_level"], report["organisation_level"], report["level"]) == (2, 5, 2)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not-a-question: yes\n", "'not-a-question' in"),
        ("ml-roles: maybe\n", "not yes or no"),
        ("- a list\n", "does not hold answers"),
        ("ml-roles: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_answer_files_are_refused(tmp_path, content, problem):
    (tmp_path / "answers.yml").write_text(content)
    result = run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml"))
    assert result.exit_code == 2
    assert problem in result.stderr


def test_the_questionnaire_without_a_terminal_needs_every_answer_in_a_file(tmp_path):
    (tmp_path / "answers.yml").write_text("ml-roles: yes\n")
    result = run(str(LEVEL_2_REPO), "--answers", str(tmp_path / "answers.yml"))
    assert result.exit_code == 2
    assert "there is no terminal to ask them in" in result.stderr
    assert "code-review" in result.stderr


def test_the_questionnaire_asks_one_question_at_a_time_in_a_terminal(tmp_path):
    """A real terminal (pexpect): the file answers some, the rest are asked, the JSON stays clean."""
    given = dict(list(all_answers(True).items())[:10])
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(given))
    out = tmp_path / "report.json"
    command = f"{sys.executable} -m mlops_ladder assess {LEVEL_2_REPO} -q --answers {tmp_path / 'answers.yml'} --json"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"}
    child = pexpect.spawn("/bin/sh", ["-c", f"{command} > {out}"], env=env, encoding="utf-8", timeout=60)
    remaining = [question for question in load_catalogue().questions if question.id not in given]
    for number, question in enumerate(remaining, start=1):
        child.expect_exact(f"{number}/{len(remaining)}")
        child.expect_exact(question.question[:40])
        child.sendline("n" if number == 1 else "y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    report = json.loads(out.read_text())
    assert report["questionnaire"]["answers"][remaining[0].id] is False
    assert report["organisation_level"] == remaining[0].level - 1


def test_an_empty_folder_reports_below_level_1(tmp_path):
    result = run(str(tmp_path), "--json")
    report = json.loads(result.stdout)
    assert report["level"] == 0
    assert report["level_title"] == "below level 1: no model code found"
    assert run(str(tmp_path), "--fail-under", "1").exit_code == 1


def test_the_docs_page_is_generated_from_the_catalogue():
    """docs/assess.md is `mlops-ladder assess --docs-page`; regenerate it after editing templates/practices.yml."""
    assert (REPO / "docs" / "assess.md").read_text() == assess_docs_markdown() + "\n"
    page = run("--docs-page").stdout
    for practice in load_catalogue().practices:
        assert f"`{practice.id}`" in page
    for question in load_catalogue().questions:
        assert f"`{question.id}`" in page


def test_every_catalogue_file_to_read_exists():
    templates = REPO / "templates"
    for practice in load_catalogue().practices:
        for path in practice.read:
            assert (templates / path).is_file(), f"{practice.id}: templates/{path}"


def test_every_level_has_practices_and_every_built_level_names_files_to_read():
    catalogue = load_catalogue()
    for level in range(1, 6):
        assert catalogue.at_level(level), f"level {level} has no practices"
    for practice in catalogue.practices:
        if practice.level <= 3:
            assert practice.read, f"{practice.id} names no template file to read"


def test_a_level_2_repository_written_in_a_test(tmp_path):
    """The smallest repository that reaches level 2, file by file."""
    repo = write_repo(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'tiny'\ndependencies = ['scikit-learn']\n",
            "params.yaml": "alpha: 0.1\n",
            "src/tiny/train.py": "import mlflow\nimport sklearn\n\nmlflow.log_param('m', sklearn.__version__)\n",
            "tests/test_train.py": "def test_it():\n    assert True\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    steps:\n      - run: pytest\n",
        },
    )
    assert json.loads(run(str(repo), "--json").stdout)["level"] == 2
