"""The lock files shipped from level 2 up pin every dependency of the level's pyproject.toml, with hashes.

They are generated at authoring time by scripts/lock_templates.py (the generated `make lock`, run in a
rendering): this test fails when a dependency is added to a template without regenerating its lock.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from upgrade_helpers import scaffold

from mlops_ladder.templates import built_levels

# Each entry: `name==version ; marker \` then `--hash=sha256:...` lines (a universal lock holds one line per
# version, with markers where the version depends on the platform or the Python version).
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")
LOCKED_LEVELS = [level for level in built_levels() if level >= 2]
PYTHON_311_LINUX = {"python_version": "3.11", "python_full_version": "3.11.9", "sys_platform": "linux"}


def read_lock(path: Path) -> dict[str, list[tuple[str, Marker | None, int]]]:
    """name -> [(version, marker, number of hashes)] for every pin of a requirements-style lock file."""
    pins: dict[str, list[tuple[str, Marker | None, int]]] = {}
    entry = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            marker = Marker(match["marker"]) if match["marker"] else None
            entry = [match["version"], marker, 0]
            pins.setdefault(canonicalize_name(match["name"]), []).append(entry)
        elif line.strip().startswith("--hash=sha256:") and entry is not None:
            entry[2] += 1
    return {name: [tuple(pin) for pin in versions] for name, versions in pins.items()}


def declared(project: Path, extras: list[str] | None) -> list[Requirement]:
    """The dependencies of the rendered pyproject.toml, plus the given extras (None: all of them)."""
    table = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    optional = table.get("optional-dependencies", {})
    chosen = optional if extras is None else {name: optional[name] for name in extras}
    return [Requirement(req) for req in table["dependencies"] + [r for group in chosen.values() for r in group]]


def lock_files(project: Path) -> dict[str, list[str] | None]:
    """Each lock file the level ships, with the extras it holds (None: every extra)."""
    files: dict[str, list[str] | None] = {"requirements-dev.lock": None}
    if (project / "Dockerfile").exists():
        files["requirements.lock"] = ["postgres"]
    return files


@pytest.fixture(scope="module", params=LOCKED_LEVELS, ids=lambda n: f"level{n}")
def project(request, tmp_path_factory) -> Path:
    return scaffold(tmp_path_factory.mktemp(f"lock{request.param}"), request.param, name="lock-me")


def test_every_declared_dependency_is_pinned_within_its_range_with_hashes(project):
    for name, extras in lock_files(project).items():
        lock = read_lock(project / name)
        for requirement in declared(project, extras):
            pins = lock.get(canonicalize_name(requirement.name))
            assert pins, f"{name} does not pin {requirement.name}: run `python scripts/lock_templates.py`"
            for version, _, hashes in pins:
                assert requirement.specifier.contains(version, prereleases=True), (
                    f"{name} pins {requirement.name}=={version}, outside {requirement}"
                )
                assert hashes > 0, f"{name} has no hash for {requirement.name}=={version}"


def test_every_pin_has_hashes(project):
    for name in lock_files(project):
        lock = read_lock(project / name)
        unhashed = [pkg for pkg, pins in lock.items() for _, _, hashes in pins if hashes == 0]
        assert unhashed == [], f"{name} pins without hashes: {unhashed}"


def test_the_stack_pins_are_honoured(project):
    """STACK.md: Evidently 0.7.23 cannot import on pandas 3.1; Prefect 3.8 breaks on FastAPI >= 0.151."""
    for name in lock_files(project):
        lock = read_lock(project / name)
        for package, ceiling in [("pandas", "3.1"), ("fastapi", "0.151")]:
            if package == "fastapi" and not (project / "Dockerfile").exists():
                continue  # level 2 has no Prefect: MLflow's server brings FastAPI, unconstrained
            for version, _, _ in lock[package]:
                assert Requirement(f"{package}<{ceiling}").specifier.contains(version), f"{name}: {package} {version}"


def test_the_runtime_lock_agrees_with_the_dev_lock(project):
    if not (project / "requirements.lock").exists():
        pytest.skip("only levels with an image ship a runtime lock")
    dev, runtime = read_lock(project / "requirements-dev.lock"), read_lock(project / "requirements.lock")
    differing = {
        name: (versions, dev.get(name))
        for name, versions in runtime.items()
        if {v for v, _, _ in versions} - {v for v, _, _ in dev.get(name, [])}
    }
    assert differing == {}


def test_the_lock_is_universal(project):
    """Markers, not this machine, decide what installs: macOS and Windows pins are in the file too."""
    lock = read_lock(project / "requirements-dev.lock")
    assert "appnope" in lock and str(lock["appnope"][0][1]) == 'sys_platform == "darwin"'
    linux = [name for name, pins in lock.items() if any(m is None or m.evaluate(PYTHON_311_LINUX) for _, m, _ in pins)]
    assert "appnope" not in linux and "pandas" in linux


def test_make_lock_regenerates_the_shipped_lock(project, tmp_path):
    """The generated `make lock` (what scripts/lock_templates.py runs) leaves the shipped lock unchanged."""
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["make", "lock", f"PYTHON={sys.executable}"], cwd=copy, check=True, capture_output=True)
    for name in lock_files(project):
        # The `# via` comments name the project, which differs from the rendering the script locked.
        assert read_lock(copy / name) == read_lock(project / name), f"{name} is stale: run scripts/lock_templates.py"
