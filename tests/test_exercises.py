"""The exercises in docs/exercises/: each check fails on the untouched project, and passes once solved.

One rendered project per level; the exercises of a level are solved in it one after the other, the
way a learner does them, so each check also runs on a project where the other exercise is done.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient
from project_harness import GeneratedProject, generate
from typer.testing import CliRunner
from upgrade_helpers import level_diff, replace_line, scaffold

from mlops_ladder.cli import app
from mlops_ladder.templates import built_levels

EXERCISES = Path(__file__).resolve().parents[1] / "docs" / "exercises"
pytestmark = pytest.mark.slow


def check(project: GeneratedProject, name: str) -> subprocess.CompletedProcess:
    """Run one exercise's check the way the learner does, with the project's own Python."""
    # From the checkout, as the exercise pages say: the project's own conftest.py stays out of it.
    command = [project.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXERCISES / name)]
    return subprocess.run(
        [*command, f"--project={project.path}"],
        cwd=EXERCISES.parents[1],
        env=project.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def passes(project: GeneratedProject, name: str) -> None:
    result = check(project, name)
    assert result.returncode == 0, f"{name} fails on the solved project:\n{result.stdout[-4000:]}"


def fails(project: GeneratedProject, name: str, says: str) -> None:
    result = check(project, name)
    assert result.returncode == 1, f"{name} should fail on the unsolved project:\n{result.stdout[-4000:]}"
    assert says in " ".join(result.stdout.split()), result.stdout[-4000:]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_level1_exercises(tmp_path):
    project = generate(1, tmp_path, install=False)
    fails(project, "check_level1_trees.py", "change n_estimators")
    fails(project, "check_level1_score_rows.py", "No my_rows.csv")
    edit(project.path / "train.py", "n_estimators=100", "n_estimators=40")
    edit(project.path / "train.py", "n_estimators=100", "n_estimators=40")
    fails(project, "check_level1_trees.py", "run `python train.py`")  # edited, not retrained yet
    project.run(project.python, "train.py")
    passes(project, "check_level1_trees.py")
    sample = (project.path / "sample_input.csv").read_text(encoding="utf-8").splitlines()
    (project.path / "my_rows.csv").write_text("\n".join(sample[:4]) + "\n", encoding="utf-8")
    project.run(project.python, "predict.py", "my_rows.csv", "--output", "my_scores.csv")
    passes(project, "check_level1_score_rows.py")


def add_min_samples_leaf(project: Path, package: str) -> None:
    edit(project / "params.yaml", "  n_estimators: 100\n", "  n_estimators: 100\n  min_samples_leaf: 5\n")
    edit(
        project / "src" / package / "config.py",
        "    max_depth: int | None = Field(ge=1)\n",
        "    max_depth: int | None = Field(ge=1)\n    min_samples_leaf: int = Field(default=1, ge=1)\n",
    )
    edit(
        project / "src" / package / "features.py",
        "        max_depth=params.model.max_depth,\n",
        "        max_depth=params.model.max_depth,\n        min_samples_leaf=params.model.min_samples_leaf,\n",
    )


def tracking(project: GeneratedProject) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{project.path / 'mlflow.db'}")


def test_level2_exercises(tmp_path):
    project = generate(2, tmp_path)
    fails(project, "check_level2_new_param.py", "No tracking store")
    fails(project, "check_level2_compare_runs.py", "No tracking store")
    project.run(project.python, "-m", project.package, "train")
    fails(project, "check_level2_new_param.py", "params.yaml has no model.min_samples_leaf")
    fails(project, "check_level2_compare_runs.py", "all used max_depth")
    add_min_samples_leaf(project.path, project.package)
    project.run(project.python, "-m", project.package, "train")
    passes(project, "check_level2_new_param.py")
    edit(project.path / "params.yaml", "  max_depth: null\n", "  max_depth: 3\n")
    project.run(project.python, "-m", project.package, "train")
    fails(project, "check_level2_compare_runs.py", "No best_run.txt")
    client = tracking(project)
    runs = client.search_runs(
        [client.get_experiment_by_name(project.package).experiment_id], order_by=["metrics.f1 DESC"]
    )
    (project.path / "best_run.txt").write_text(f"best: {runs[0].info.run_id}\n", encoding="utf-8")
    passes(project, "check_level2_compare_runs.py")


def test_level3_exercises(tmp_path):
    project = generate(3, tmp_path)
    fails(project, "check_level3_gate.py", "No tracking store")
    fails(project, "check_level3_lineage.py", "No tracking store")
    project.run(project.python, "-m", project.package, "train", timeout=600)
    project.run(project.python, "-m", project.package, "promote", timeout=600)
    fails(project, "check_level3_gate.py", "No version was rejected")
    fails(project, "check_level3_lineage.py", "No LINEAGE.md")
    lineage = json.loads(project.run(project.python, "-m", project.package, "lineage").stdout)
    (project.path / "LINEAGE.md").write_text(
        f"# Our champion\n\nversion {lineage['version']}, run {lineage['run_id']}, "
        f"data {lineage['data_fingerprint']}, commit {lineage['git_commit']}\n",
        encoding="utf-8",
    )
    passes(project, "check_level3_lineage.py")
    params = project.path / "params.yaml"
    text = re.sub(r"(?m)^(\s*n_estimators:) \d+", r"\1 1", params.read_text(encoding="utf-8"))
    params.write_text(re.sub(r"(?m)^(\s*max_depth:) null", r"\1 1", text), encoding="utf-8")
    project.run(project.python, "-m", project.package, "train", timeout=600)
    gate = project.run(project.python, "-m", project.package, "promote", timeout=600)
    assert "not promoted" in gate.stdout
    passes(project, "check_level3_gate.py")
    passes(project, "check_level3_lineage.py")  # the champion did not move


def test_level4_exercises(tmp_path):
    project = generate(4, tmp_path)
    fails(project, "check_level4_audit.py", "No TAMPERED.txt")
    # Exercise 2 first: its gate needs a trail that verifies.
    project.run(project.python, "-m", project.package, "train", timeout=600)
    project.run(project.python, "-m", project.package, "promote", timeout=600)
    fails(project, "check_level4_compliance.py", "still passes")
    edit(project.path / "params.yaml", "min_score: null", "min_score: 1.0")
    refused = project.run(project.python, "-m", project.package, "compliance", "--version", "champion", check=False)
    assert refused.returncode == 1, refused.stdout
    fails(project, "check_level4_compliance.py", "No REFUSED_BY.txt")
    (project.path / "REFUSED_BY.txt").write_text("performance\n", encoding="utf-8")
    passes(project, "check_level4_compliance.py")
    project.run(project.python, "-m", project.package, "train", timeout=600)
    fails(project, "check_level4_audit.py", "still says the trail verifies")
    trail = project.path / "audit" / "audit.jsonl"
    entries = trail.read_text(encoding="utf-8").splitlines()
    assert len(entries) >= 2, "training should leave at least two audit entries"
    first = json.loads(entries[0])
    first["who"] = "someone-else"
    trail.write_text("\n".join([json.dumps(first), *entries[1:]]) + "\n", encoding="utf-8")
    verify = project.run(project.python, "-m", project.package, "audit", "verify", check=False)
    assert verify.returncode == 1, verify.stdout
    (project.path / "TAMPERED.txt").write_text(f"{first['seq']}\n", encoding="utf-8")
    passes(project, "check_level4_audit.py")


@pytest.mark.skipif(5 not in built_levels(), reason="level 5 is not built")
def test_level5_simulation_exercise(tmp_path):
    project = generate(5, tmp_path)
    fails(project, "check_level5_simulation.py", "is still 12")
    # The learner's move of the drift, in a replay small enough for a test (12 batches of 50 rows).
    params = project.path / "params.yaml"
    for old, new in [
        ("batches: 40", "batches: 12"),
        ("drift_batch: 12", "drift_batch: 3"),
        ("label_delay: 2", "label_delay: 1"),
        ("window_rows: 200", "window_rows: 100"),
        ("cooldown_batches: 3", "cooldown_batches: 2"),
        ("min_labels: 100 ", "min_labels: 50 "),
        ("bad_model_after: 4", "bad_model_after: 1"),
        ("n_estimators: 20 ", "n_estimators: 10 "),
    ]:
        edit(params, old, new)
    fails(project, "check_level5_simulation.py", "run `make simulate`")
    project.run(project.python, "-m", project.package, "simulate", timeout=600)
    fails(project, "check_level5_simulation.py", "No RECOVERY.txt")
    summary = json.loads((project.path / "reports" / "simulation" / "simulation.json").read_text(encoding="utf-8"))
    (project.path / "RECOVERY.txt").write_text(f"{summary['new_champion']['batches_after_onset']}\n", encoding="utf-8")
    passes(project, "check_level5_simulation.py")


@pytest.mark.skipif(5 not in built_levels(), reason="level 5 is not built")
def test_level5_upgrade_conflict_exercise(tmp_path):
    path = scaffold(tmp_path, 4, name="conflicted")
    project = GeneratedProject(path, generate_env(tmp_path))
    fails(project, "check_level5_upgrade_conflict.py", "The project is at level 4")
    contested = level_diff(tmp_path / "renders", (4, 5)).contested_line()
    assert contested, "level 5 changes no line of level 4: the exercise has nothing to conflict on"
    file, index = contested
    replace_line(path, file, index, "Our team's own line, which level 5 also rewrites.")
    subprocess.run(["git", "commit", "-qam", "Our line"], cwd=path, check=True)
    upgrade = CliRunner().invoke(app, ["upgrade", str(path)], catch_exceptions=False)
    assert upgrade.exit_code == 1, upgrade.output
    fails(project, "check_level5_upgrade_conflict.py", "A merge is in progress")
    resolved = [line for line in (path / file).read_text().splitlines(keepends=True) if not is_marker(line)]
    (path / file).write_text("".join(resolved))  # both sides kept: the learner's way out of most conflicts
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "--no-edit"], cwd=path, check=True)
    passes(project, "check_level5_upgrade_conflict.py")


def is_marker(line: str) -> bool:
    return line.startswith(("<<<<<<< ", ">>>>>>> ")) or line.rstrip("\n") == "======="


def generate_env(tmp_path: Path) -> dict[str, str]:
    """An environment that runs the checks: the test stack, no project install (the check only reads git)."""
    from project_harness import isolated_env

    holder = tmp_path / "env-holder"
    holder.mkdir()
    return isolated_env(holder, install=False)


def test_every_level_has_exercises_and_every_check_is_solved_here():
    """Each level page names checks that exist, and every check is solved by a test in this module."""
    this_module = Path(__file__).read_text(encoding="utf-8")
    named = set()
    for level in built_levels():
        page = (EXERCISES / f"level{level}.md").read_text(encoding="utf-8")
        checks = set(re.findall(r"docs/exercises/(check_\w+\.py)", page))
        assert checks, f"level{level}.md names no check"
        named |= checks
    files = {path.name for path in EXERCISES.glob("check_*.py")}
    assert named == files, "a check file no page names, or a page naming a missing check"
    assert all(f'"{name}"' in this_module for name in files), "a check this module never runs"
