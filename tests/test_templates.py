"""The templates hold together: shared files stay identical across levels unless listed as evolved."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from mlops_ladder.templates import built_levels, templates_dir

TEMPLATES = templates_dir()
EVOLVED = yaml.safe_load((TEMPLATES / "evolved.yml").read_text())
PAIRS = [(n, n + 1) for n in built_levels() if n + 1 in built_levels()]


def template_files(level: int) -> dict[str, bytes]:
    root = TEMPLATES / f"level{level}"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: f"{pair[0]}to{pair[1]}")
def test_shared_files_are_identical_unless_listed_as_evolved(pair):
    lower, upper = template_files(pair[0]), template_files(pair[1])
    evolved = set((EVOLVED.get(pair[1]) or {}).keys())
    differing = {path for path in lower.keys() & upper.keys() if lower[path] != upper[path]}
    assert differing - evolved == set(), f"level {pair[1]} changes these without listing them in evolved.yml"
    listed_but_identical = {path for path in evolved if path in lower and path in upper and lower[path] == upper[path]}
    assert listed_but_identical == set(), "evolved.yml lists files that are in fact identical"
    assert evolved <= lower.keys() & upper.keys(), "evolved.yml lists files that are not in both levels"


@pytest.mark.parametrize("level", built_levels())
def test_every_level_records_its_answers(level):
    answers = TEMPLATES / f"level{level}" / "{{_copier_conf.answers_file}}.jinja"
    assert "_copier_answers" in answers.read_text()


def test_plain_copier_needs_no_trust():
    for config in (TEMPLATES / "copier.yml", TEMPLATES.parent / "copier.yml"):
        text = config.read_text()
        assert "_tasks" not in text and "_jinja_extensions" not in text, config


def test_gitignore_ignores_root_outputs_but_never_a_package_of_the_same_name(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_bytes((TEMPLATES / "level1" / ".gitignore").read_bytes())
    root_outputs = ["models/m.joblib", "reports/drift.html", "build/x", "dist/x.whl", "mlruns/0/meta.yaml"]
    packages = [f"src/{name}/__init__.py" for name in ("models", "reports", "build", "dist", "data", "mlruns")]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *root_outputs, *packages], cwd=tmp_path, capture_output=True, text=True
    ).stdout.split()
    assert ignored == root_outputs


def test_every_level_ships_the_same_gitignore():
    assert len({(TEMPLATES / f"level{level}" / ".gitignore").read_bytes() for level in built_levels()}) == 1
