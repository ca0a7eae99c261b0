"""`mlops-ladder diff`: what a level adds over another, checked against real renders and real `patch`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mlops_ladder import cli
from mlops_ladder.cli import app
from mlops_ladder.level_diff import diff_levels, stat_text
from mlops_ladder.levels import all_levels
from mlops_ladder.render import render_level
from mlops_ladder.templates import TEMPLATES_ENV, built_levels, templates_dir

REPO = Path(__file__).resolve().parents[1]
DIFFS = REPO / "docs" / "diffs"
STEPS = [(n, n + 1) for n in built_levels() if n + 1 in built_levels()]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["diff", *args], catch_exceptions=False)


def rendered(parent: Path, level: int, **data: object) -> Path:
    target = parent / f"level{level}"
    render_level(target, {"level": level, "project_name": "my-project", **data})
    return target


def tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def stat_sections(output: str) -> dict[str, set[str]]:
    """The paths under each `added`/`changed`/`removed` heading of the --stat output."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in output.splitlines():
        if line.endswith("):") and line.split(" ")[0] in ("added", "changed", "removed"):
            current = sections.setdefault(line.split(" ")[0], set())
        elif current is not None and line.startswith("  "):
            current.add(line.split()[1])
    return sections


def test_stat_lists_exactly_the_files_the_two_renderings_add_change_and_remove(tmp_path):
    old, new = tree(rendered(tmp_path, 2)), tree(rendered(tmp_path, 3))
    result = invoke("2", "3", "--stat")
    assert result.exit_code == 0, result.output
    assert stat_sections(result.output) == {
        "added": {path for path in new if path not in old},
        "changed": {path for path in old if path in new and old[path] != new[path]},
    }
    lines_of_new_module = len(new["src/my_project/service.py"].decode().splitlines())
    rows = [line.split() for line in result.output.splitlines()]
    assert ["+", "src/my_project/service.py", f"+{lines_of_new_module}"] in rows


def test_stat_shows_removed_files_with_their_line_counts(tmp_path):
    old = tree(rendered(tmp_path, 1))
    result = invoke("1", "2", "--stat")
    assert result.exit_code == 0, result.output
    assert stat_sections(result.output)["removed"] == {"train.py", "predict.py", "notebook.ipynb", "requirements.txt"}
    removed_lines = len(old["train.py"].decode().splitlines())
    assert any(line.split() == ["-", "train.py", f"-{removed_lines}"] for line in result.output.splitlines())


def test_the_plain_diff_patches_the_lower_level_into_the_higher_one(tmp_path):
    """The diff is complete and exact: `patch` applied to level 2 gives level 3, byte for byte."""
    answers = ["--data", "task=regression", "--data", "dataset=diabetes"]
    result = invoke("2", "3", *answers)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output  # piped: no colour codes
    patched = rendered(tmp_path / "patched", 2, task="regression", dataset="diabetes")
    subprocess.run(["patch", "-p1", "--quiet", "--force"], input=result.output, text=True, cwd=patched, check=True)
    expected = tree(rendered(tmp_path / "expected", 3, task="regression", dataset="diabetes"))
    assert tree(patched) == expected


def test_the_diff_is_coloured_in_a_terminal(monkeypatch):
    monkeypatch.setattr(cli, "console", Console(force_terminal=True, width=200))
    result = invoke("1", "2")
    assert result.exit_code == 0
    assert "\x1b[32m+" in result.output  # added lines green
    assert "\x1b[31m-" in result.output  # removed lines red


def test_answers_from_a_project_answers_file_are_used_and_its_level_ignored(tmp_path):
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("level: 2\nproject_name: Other\npackage_name: other\ntask: regression\ndataset: diabetes\n")
    result = invoke("2", "3", "--answers-file", str(answers))
    assert result.exit_code == 0, result.output
    assert "+task: regression" not in result.output  # the same answer on both sides is no change
    assert "primary_metric: rmse" in result.output or "rmse" in result.output


def test_a_csv_dataset_is_rendered_as_new_records_it(tmp_path):
    csv = REPO / "examples" / "churn.csv"
    data = ["-d", "dataset=csv", "-d", f"csv_path={csv}", "-d", "target_column=churned"]
    result = invoke("1", "2", *data)
    assert result.exit_code == 0, result.output
    assert 'path: "data/churn.csv"' in result.output


def test_nothing_is_left_behind_in_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert invoke("1", "2", "--stat").exit_code == 0
    assert invoke("2", "1").exit_code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "problem", "fix"),
    [
        (["3", "2"], "the first level must be below the second", "mlops-ladder diff 2 3"),
        (["2", "2"], "the first level must be below the second", "mlops-ladder diff 2 3"),
        (["1", "9"], "Level 9 does not exist", "Choose a level from 1 to 5"),
        (["1", "2", "-d", "dataset=iris"], "dataset='iris' is not one of", "Give another dataset"),
        (["1", "2", "-d", "colour=blue"], "'colour' is not a question of the templates", "Use one of"),
        (["1", "2", "-d", "level=3"], "`level` is not an answer it takes", "Drop --data level"),
        (["1", "2", "-d", "dataset=csv", "-d", "csv_path=nowhere.csv"], "nowhere.csv does not exist", "csv_path"),
        (["1", "2", "--data-file", "missing.yml"], "Cannot read the answers file", "--data-file"),
    ],
)
def test_bad_input_is_refused_with_the_problem_and_the_fix(args, problem, fix):
    result = invoke(*args)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert problem in output and fix in output, output


def test_a_level_not_built_is_refused(tmp_path, monkeypatch):
    top = built_levels()[-1]
    shutil.copytree(templates_dir(), tmp_path / "templates", ignore=shutil.ignore_patterns(f"level{top}"))
    monkeypatch.setenv(TEMPLATES_ENV, str(tmp_path / "templates"))
    all_levels.cache_clear()
    try:
        result = invoke(str(top - 1), str(top))
    finally:
        monkeypatch.undo()
        all_levels.cache_clear()
    assert result.exit_code == 2
    assert f"Level {top} is not available in this version" in " ".join(result.output.split())


@pytest.mark.parametrize("step", STEPS, ids=[f"{a}to{b}" for a, b in STEPS])
def test_the_docs_embed_the_current_stat_of_each_step(step):
    lower, higher = step
    page = DIFFS / f"level{lower}-to-{higher}.txt"
    regenerate = f"mlops-ladder diff {lower} {higher} --stat > docs/diffs/{page.name}"
    assert page.is_file(), f"{page} is missing: run `{regenerate}`"
    assert page.read_text(encoding="utf-8") == stat_text(diff_levels(lower, higher, {})), (
        f"{page} is stale: run `{regenerate}`"
    )


def test_the_docs_hold_no_stat_of_a_step_that_is_not_built():
    expected = {f"level{lower}-to-{higher}.txt" for lower, higher in STEPS}
    assert {page.name for page in DIFFS.glob("*.txt")} <= expected
