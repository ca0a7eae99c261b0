"""Every import in a generated project is declared in that project's own dependency list."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from upgrade_helpers import scaffold

from mlops_ladder.templates import built_levels


def python_sources(project: Path):
    """Every .py file, and the code cells of every notebook."""
    for path in project.rglob("*.py"):
        yield path.read_text()
    for path in project.rglob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                yield "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def imported_modules(project: Path) -> set[str]:
    modules = set()
    for source in python_sources(project):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def declared_distributions(project: Path) -> set[str]:
    if (project / "pyproject.toml").exists():
        project_table = tomllib.loads((project / "pyproject.toml").read_text())["project"]
        requirements = project_table.get("dependencies", []) + [
            req for extra in project_table.get("optional-dependencies", {}).values() for req in extra
        ]
    else:
        requirements = [line for line in (project / "requirements.txt").read_text().splitlines() if line.strip()]
    names = {re.split(r"[\s<>=!~\[;#]", req.strip(), maxsplit=1)[0] for req in requirements if not req.startswith("#")}
    return {normalize(name) for name in names if name}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("level", built_levels())
def test_every_third_party_import_is_declared(tmp_path, level):
    project = scaffold(tmp_path, level, name="deps-check")
    own = {"deps_check", "conftest"} | {path.stem for path in project.rglob("*.py")}
    third_party = imported_modules(project) - set(sys.stdlib_module_names) - own
    providers = packages_distributions()
    declared = declared_distributions(project)
    undeclared = {
        module for module in third_party if not {normalize(d) for d in providers.get(module, [module])} & declared
    }
    assert undeclared == set(), f"level {level} imports {sorted(undeclared)} without declaring them"
