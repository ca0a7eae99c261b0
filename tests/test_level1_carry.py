"""Upgrade 1 -> 2 carries what level 1 keeps in files level 2 no longer runs: requirements.txt into
pyproject.toml as valid PEP 508 entries, train.py's settings into params.yaml, and it names the rest."""

from __future__ import annotations

import difflib
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomlkit
import yaml
from packaging.requirements import Requirement
from upgrade_helpers import commit_all, fresh_render, git, level_diff, replace_line, scaffold, team_line, upgrade

from mlops_ladder.dependency_merge import read_listing
from mlops_ladder.level1_carry import LEVEL1_HOMES, carry_params, moved_code, set_yaml_value
from mlops_ladder.requirements_carry import carry_requirements
from mlops_ladder.templates import built_levels
from mlops_ladder.upgrade import upgrade_project

pytestmark = pytest.mark.skipif(not {1, 2} <= set(built_levels()), reason="needs levels 1 and 2")

REGRESSION = {"task": "regression", "dataset": "diabetes", "primary_metric": "rmse"}
FORESTS = {"classification": "RandomForestClassifier", "regression": "RandomForestRegressor"}


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[tuple[str, int], dict[str, str]]:
    """Levels 1 and 2 of the same answers, for each task: {(task, level): {path: text}}."""
    parent = tmp_path_factory.mktemp("renders")
    found = {}
    for task, data in (("classification", {}), ("regression", REGRESSION)):
        for level in (1, 2):
            rendered = fresh_render(parent / task, level, **data)
            found[task, level] = {path: content.decode() for path, content in rendered.items() if path != ".git"}
    return found


def dependencies(pyproject: str) -> list[str]:
    return tomllib.loads(pyproject)["project"]["dependencies"]


def every_requirement(pyproject: str) -> list[Requirement]:
    """Every entry of pyproject.toml's dependency lists, parsed as PEP 508 (raises on an invalid one)."""
    project = tomllib.loads(pyproject)["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [Requirement(entry) for entry in [*project["dependencies"], *(e for extra in extras for e in extra)]]


def pip_accepts(project: Path) -> subprocess.CompletedProcess:
    """pip reads the project's metadata (hatchling validates every dependency) without installing anything."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index"]
    return subprocess.run(
        [*command, "--no-build-isolation", "--quiet", "-e", str(project)], capture_output=True, text=True
    )


# --- requirements.txt -> pyproject.toml -------------------------------------------------------

CARRIED = {
    "lightgbm==4.6.0": "lightgbm==4.6.0",
    "Requests [socks] == 2.32.3": "Requests[socks]==2.32.3",
    'tomli>=2; python_version < "3.11"': 'tomli>=2; python_version < "3.11"',
    "git+https://github.com/acme/utils.git@v1.2#egg=acme-utils": "acme-utils @ git+https://github.com/acme/utils.git@v1.2",
    "git+https://github.com/acme/mono.git@main#egg=acme-sub&subdirectory=libs/sub": (
        "acme-sub @ git+https://github.com/acme/mono.git@main#subdirectory=libs/sub"
    ),
    "https://files.example.org/acme_io-1.2-py3-none-any.whl": (
        "acme-io @ https://files.example.org/acme_io-1.2-py3-none-any.whl"
    ),
    "acme-core @ git+https://github.com/acme/core.git@v3": "acme-core @ git+https://github.com/acme/core.git@v3",
}

NOT_CARRIED = {
    "-r extra-requirements.txt": "-r includes another requirements file",
    "-c constraints.txt": "-c constrains versions",
    "-e ./libs/foo": "-e asks for an editable install",
    "--index-url https://pypi.example.org/simple": "--index-url says where pip looks",
    "--extra-index-url=https://pypi.example.org/simple": "--extra-index-url says where pip looks",
    "./libs/foo": "is a local path",
    "../wheels/bar-1.0-py3-none-any.whl": "is a local path",
    "bar-1.0-py3-none-any.whl": "is a local path",
    "file:///opt/wheels/bar-1.0.tar.gz": "is a local path",
    "git+https://github.com/acme/nameless.git@v1": "a URL without a package name",
    "requests==2.32.3 --hash=sha256:0123abcd": "carries the pip option --hash",
    "scikit-learn==1.8.0": "pyproject.toml already asks for scikit-learn>=",
    "matplotlib==3.10.0": "pyproject.toml already asks for matplotlib>=3.8 (the dev extra)",
    "joblib==1.5.0": "level 2 does not list joblib itself",
    "not a requirement!": "is not a valid requirement",
}


@pytest.mark.parametrize("line", CARRIED)
def test_a_requirement_the_team_added_becomes_a_valid_pep508_dependency(renders, line):
    base, pyproject = renders["classification", 1]["requirements.txt"], renders["classification", 2]["pyproject.toml"]
    carry = carry_requirements(base, base + line + "\n", pyproject)
    assert carry.carried == [CARRIED[line]] and carry.not_carried == []
    assert dependencies(carry.text) == [*dependencies(pyproject), CARRIED[line]]
    assert every_requirement(carry.text)
    # hatchling refuses `name @ URL` dependencies unless told: told exactly when one is carried
    direct = tomllib.loads(carry.text)["tool"]["hatch"].get("metadata", {}).get("allow-direct-references", False)
    assert direct == (" @ " in CARRIED[line])


@pytest.mark.parametrize("line", NOT_CARRIED)
def test_a_line_that_cannot_be_a_dependency_is_reported_by_name_and_never_written(renders, line):
    base, pyproject = renders["classification", 1]["requirements.txt"], renders["classification", 2]["pyproject.toml"]
    carry = carry_requirements(base, base + line + "\n", pyproject)
    assert carry.carried == [] and carry.text == pyproject
    assert [problem.what for problem in carry.not_carried] == [line]
    assert NOT_CARRIED[line] in carry.not_carried[0].why


def test_the_teams_comments_on_a_carried_requirement_stay_as_toml_comments(renders):
    base, pyproject = renders["classification", 1]["requirements.txt"], renders["classification", 2]["pyproject.toml"]
    ours = base + "\n# boosting, for the churn model\nlightgbm==4.6.0  # faster than the forest on wide tables\n"
    carry = carry_requirements(base, ours, pyproject)
    entries = read_listing(tomlkit.parse(carry.text)["project"]["dependencies"]).entries
    assert entries[-1].requirement == "lightgbm==4.6.0"
    assert entries[-1].comment == "# faster than the forest on wide tables"
    assert entries[-1].above == ("# boosting, for the churn model",)
    assert carry.text.startswith(pyproject.split("\n]\n", 1)[0])  # the next level's lines and comments unchanged


def test_requirements_as_level_1_wrote_them_carry_nothing(renders):
    base, pyproject = renders["classification", 1]["requirements.txt"], renders["classification", 2]["pyproject.toml"]
    respelt = re.sub(r"^pandas==", "Pandas == ", base, flags=re.MULTILINE)
    for ours in (base, respelt, base.replace("\n\n", "\n")):
        carry = carry_requirements(base, ours, pyproject)
        assert (carry.text, carry.carried, carry.not_carried) == (pyproject, [], [])


def test_everything_carried_at_once_makes_a_pyproject_pip_accepts(renders, tmp_path):
    base = renders["classification", 1]["requirements.txt"]
    project = tmp_path / "project"
    for path, text in renders["classification", 2].items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    carry = carry_requirements(
        base, base + "\n".join([*CARRIED, *NOT_CARRIED]) + "\n", renders["classification", 2]["pyproject.toml"]
    )
    assert carry.carried == list(CARRIED.values())
    assert sorted(problem.what for problem in carry.not_carried) == sorted(NOT_CARRIED)
    (project / "pyproject.toml").write_text(carry.text)
    assert len(every_requirement(carry.text)) == len(
        every_requirement(renders["classification", 2]["pyproject.toml"])
    ) + len(CARRIED)
    accepted = pip_accepts(project)
    assert accepted.returncode == 0, accepted.stderr
    # The check can fail: pip refuses the pip-style line the carry used to copy as it was.
    (project / "pyproject.toml").write_text(
        carry.text.replace('"lightgbm==4.6.0",', '"git+https://github.com/acme/utils.git@v1.2#egg=acme-utils",')
    )
    assert pip_accepts(project).returncode != 0


# --- train.py -> params.yaml ------------------------------------------------------------------


def tune(train: str, forest: str, **arguments: object) -> str:
    """train.py with the forest's keyword arguments set (added or replaced) as written in Python."""
    call = re.search(rf"{forest}\((?P<args>[^)]*)\)", train)
    current = dict(re.findall(r"(\w+)=([^,]+)", call["args"]))
    current.update({name: str(value) for name, value in arguments.items()})
    rewritten = ", ".join(f"{name}={value}" for name, value in current.items())
    return train[: call.start("args")] + rewritten + train[call.end("args") :]


def set_constant(train: str, name: str, value: str) -> str:
    changed, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", train, count=1, flags=re.MULTILINE)
    assert count == 1, f"train.py has no {name}"
    return changed


def load_params_with_level2_config(params: str, config: str, tmp_path: Path):
    """The generated project's own config module reading `params`: it accepts what was carried."""
    (tmp_path / "params.yaml").write_text(params)
    (tmp_path / "config.py").write_text(config)
    spec = importlib.util.spec_from_file_location("level2_config", tmp_path / "config.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    try:
        spec.loader.exec_module(module)
        return module.load_params(tmp_path / "params.yaml")
    finally:
        del sys.modules[spec.name]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_settings_the_team_changed_land_in_params_yaml_with_every_comment_kept(renders, task, tmp_path):
    base, params = renders[task, 1]["train.py"], renders[task, 2]["params.yaml"]
    ours = tune(set_constant(set_constant(base, "SEED", "7"), "TEST_SIZE", "0.25"), FORESTS[task], n_estimators=300)
    ours = tune(ours, FORESTS[task], max_depth=8)
    carry = carry_params(base, ours, params, package="team_project", task=task)
    assert carry.not_carried == []
    loaded = yaml.safe_load(carry.text)
    assert (loaded["model"]["n_estimators"], loaded["model"]["max_depth"]) == (300, 8)
    assert (loaded["data"]["seed"], loaded["data"]["test_size"]) == (7, 0.25)
    changed = [line for line in difflib.ndiff(params.splitlines(), carry.text.splitlines()) if line[:1] in "+-"]
    assert sorted(changed) == sorted(
        [
            *("-   seed: 42", "+   seed: 7", "-   test_size: 0.2", "+   test_size: 0.25"),
            *("-   n_estimators: 100", "+   n_estimators: 300", "-   max_depth: null", "+   max_depth: 8"),
        ]
    )
    assert "model.n_estimators: 300  (from n_estimators=300 in train.py)" in carry.carried
    config = renders[task, 2]["src/team_project/config.py"]
    loaded = load_params_with_level2_config(carry.text, config, tmp_path)
    assert (loaded.model.n_estimators, loaded.data.seed) == (300, 7)


def test_settings_params_yaml_has_no_key_for_are_named_with_where_they_belong(renders):
    base, params = renders["classification", 1]["train.py"], renders["classification", 2]["params.yaml"]
    ours = tune(base, "RandomForestClassifier", class_weight='"balanced"', min_samples_leaf=3, random_state=0)
    carry = carry_params(base, ours, params, package="team_project", task="classification")
    assert carry.text == params and carry.carried == []
    why = {problem.what: problem.why for problem in carry.not_carried}
    assert set(why) == {"class_weight='balanced'", "min_samples_leaf=3", "random_state=0"}
    for name in ("class_weight", "min_samples_leaf"):
        assert (
            f"params.yaml has no model.{name}" in why[f"{name}={'3' if name != 'class_weight' else repr('balanced')}"]
        )
    assert "src/team_project/features.py" in why["min_samples_leaf=3"]
    assert "src/team_project/config.py" in why["min_samples_leaf=3"]
    assert "data.seed" in why["random_state=0"]


def test_a_value_given_through_a_constant_is_carried_and_a_computed_one_is_reported(renders):
    base, params = renders["classification", 1]["train.py"], renders["classification", 2]["params.yaml"]
    ours = tune(base.replace("SEED = 42", "SEED = 42\nN_TREES = 250"), "RandomForestClassifier", n_estimators="N_TREES")
    carry = carry_params(base, ours, params, package="team_project", task="classification")
    assert yaml.safe_load(carry.text)["model"]["n_estimators"] == 250
    computed = tune(base, "RandomForestClassifier", max_depth="len(sys.argv) + 5")
    carry = carry_params(base, computed, params, package="team_project", task="classification")
    assert carry.text == params
    assert [problem.what for problem in carry.not_carried] == ["max_depth=len(sys.argv) + 5"]
    assert "not a plain value" in carry.not_carried[0].why


def test_changes_that_do_not_matter_carry_nothing(renders):
    """The other task's forest does not run; a value params.yaml already holds needs no edit."""
    base, params = renders["classification", 1]["train.py"], renders["classification", 2]["params.yaml"]
    other_forest = tune(base, "RandomForestRegressor", n_estimators=500)
    restated = tune(base, "RandomForestClassifier", max_depth=None)
    reformatted = base.replace("TEST_SIZE = 0.2", "TEST_SIZE = 0.20")
    for ours in (base, other_forest, restated, reformatted):
        carry = carry_params(base, ours, params, package="team_project", task="classification")
        assert (carry.text, carry.carried, carry.not_carried) == (params, [], [])


def test_a_replaced_model_and_an_unreadable_script_are_reported(renders):
    base, params = renders["classification", 1]["train.py"], renders["classification", 2]["params.yaml"]
    boosted = re.sub(r"RandomForestClassifier\([^)]*\)", "GradientBoostingClassifier()", base)
    carry = carry_params(base, boosted, params, package="team_project", task="classification")
    assert [str(problem) for problem in carry.not_carried] == [
        "RandomForestClassifier: train.py no longer builds one; "
        "level 2 builds its model in src/team_project/features.py"
    ]
    carry = carry_params(base, base + "\ndef broken(:\n", params, package="team_project", task="classification")
    assert carry.text == params and carry.not_carried[0].what == "train.py"
    assert "is not valid Python" in carry.not_carried[0].why


PARAMS = """# settings
data:
  # the seed
  seed: 42  # fixed
  target: "a #b"  # the label
model:
  seed: 1
"""


def test_a_params_value_is_edited_in_place_or_not_at_all():
    assert set_yaml_value(PARAMS, ("data", "seed"), 7) == PARAMS.replace("seed: 42  # fixed", "seed: 7  # fixed")
    assert set_yaml_value(PARAMS, ("model", "seed"), 3) == PARAMS.replace("seed: 1", "seed: 3")
    assert set_yaml_value(PARAMS, ("data", "target"), "y") == PARAMS.replace('"a #b"', '"y"')
    assert set_yaml_value(PARAMS, ("data", "source"), "wine") is None  # no such key: nothing written
    assert set_yaml_value("data: {seed: 42}\n", ("data", "seed"), 7) is None  # not a key: value line


def test_each_level1_file_has_a_home_that_exists_at_level_2(renders):
    level1, level2 = renders["classification", 1], renders["classification", 2]
    assert set(LEVEL1_HOMES) == set(level1) - set(level2) - {".copier-answers.yml"}
    for moved in moved_code(LEVEL1_HOMES, "team_project"):
        named = re.findall(r"[\w/{}.-]+\.(?:py|ipynb|yaml|toml)\b", moved.now)
        assert named and all(path in level2 or f"src/team_project/{path}" in level2 for path in named), moved


# --- the whole step, with real git ------------------------------------------------------------


def test_upgrade_1_to_2_carries_the_teams_tuning_and_requirements(tmp_path):
    project = scaffold(tmp_path, 1)
    train = (project / "train.py").read_text()
    (project / "train.py").write_text(
        tune(set_constant(train, "SEED", "7"), "RandomForestClassifier", n_estimators=300)
    )
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("git+https://github.com/acme/utils.git@v1.2#egg=acme-utils\n")
        requirements.write("lightgbm==4.6.0  # boosting for the wide tables\n")
        requirements.write("-r extra-requirements.txt\n")
    commit_all(project, "Tuned the forest; our own requirements")

    printed = upgrade(project, "--dry-run")
    assert printed.exit_code == 0, printed.output
    assert (
        "carried (2)" in printed.output and "acme-utils @ git+https://github.com/acme/utils.git@v1.2" in printed.output
    )
    result = upgrade_project(project)
    assert result.conflicts == [] and git(project, "status", "--porcelain") == ""
    step = result.steps[0]

    params = yaml.safe_load(git(project, "show", "HEAD:params.yaml"))
    assert (params["model"]["n_estimators"], params["data"]["seed"]) == (300, 7)
    assert sorted(step.carried_params) == [
        "data.seed: 7  (from SEED = 7 in train.py)",
        "model.n_estimators: 300  (from n_estimators=300 in train.py)",
    ]
    pyproject = git(project, "show", "HEAD:pyproject.toml")
    assert {str(r) for r in every_requirement(pyproject)} >= {
        "acme-utils @ git+https://github.com/acme/utils.git@v1.2",
        "lightgbm==4.6.0",
    }
    assert '"lightgbm==4.6.0",  # boosting for the wide tables' in pyproject
    assert [problem.what for problem in step.not_carried] == ["-r extra-requirements.txt"]
    assert "-r extra-requirements.txt" in (project / "requirements.txt").read_text()  # left where it was
    assert {moved.path for moved in step.moved} == {"train.py", "requirements.txt"}
    assert "src/team_project/train.py" in next(str(m) for m in step.moved if m.path == "train.py")
    accepted = pip_accepts(project)
    assert accepted.returncode == 0, accepted.stderr

    # The generated project's own config reads what was carried.
    check = "from team_project.config import load_params; p = load_params(); print(p.model.n_estimators, p.data.seed)"
    loaded = subprocess.run(
        [sys.executable, "-c", check],
        cwd=project,
        env={"PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
    )
    assert loaded.stdout.split() == ["300", "7"], loaded.stderr


def test_requirements_and_settings_are_carried_even_when_another_file_conflicts(tmp_path):
    """Staged with the rest of the merge, so the team's `git add -A && git commit` after resolving keeps them."""
    contested = level_diff(tmp_path, (1, 2)).contested_line()
    if contested is None:
        pytest.skip("level 2 rewrites no line of a file level 1 has")
    path, index = contested
    project = scaffold(tmp_path, 1)
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("lightgbm==4.6.0\n")
    train = (project / "train.py").read_text()
    (project / "train.py").write_text(tune(train, "RandomForestClassifier", n_estimators=300))
    replace_line(project, path, index, team_line(path))
    commit_all(project, "We need LightGBM and more trees; and our own line")
    result = upgrade(project)
    assert result.exit_code == 1, result.output
    assert path in result.output and "carried (1)" in result.output
    assert '"lightgbm==4.6.0"' in git(project, "show", ":pyproject.toml")  # staged
    assert yaml.safe_load(git(project, "show", ":params.yaml"))["model"]["n_estimators"] == 300
