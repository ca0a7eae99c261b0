"""A semantic merge of pyproject.toml's dependency lists: the next level's list plus the team's own changes.

A line-based merge conflicts whenever the team and the next level both append to the same list,
which is what nearly every upgrade does. So the dependency arrays are merged by package name first
(added, removed and re-pinned requirements of the team applied to the next level's array, its
comments kept), then the rest of the file is merged by lines as usual.

Level 1 lists its dependencies in requirements.txt and level 2 in pyproject.toml, so requirements
the team added to requirements.txt are carried into pyproject.toml's dependencies on that step.
"""

from __future__ import annotations

import re

import tomlkit
from tomlkit.items import Array

from mlops_ladder.gitrepo import merge_texts

PYPROJECT = "pyproject.toml"
REQUIREMENTS = "requirements.txt"


def merge_pyproject(base: str, ours: str, theirs: str) -> str | None:
    """The merged file, or None when the team and the next level changed the same thing."""
    try:
        docs = [tomlkit.parse(text) for text in (base, ours, theirs)]
    except tomlkit.exceptions.ParseError:
        return None
    base_doc, our_doc, their_doc = docs
    for path in _dependency_arrays(their_doc):
        their_array = _get(their_doc, path)
        merged = _merge_requirements(_get(base_doc, path), _get(our_doc, path), their_array)
        if merged is None:
            return None
        _set(our_doc, path, merged)
        _set(base_doc, path, their_array)
    return merge_texts(tomlkit.dumps(base_doc), tomlkit.dumps(our_doc), theirs)


def carry_requirements(base: str, ours: str, pyproject: str) -> tuple[str, list[str]]:
    """pyproject.toml with the requirements the team added to requirements.txt, and those requirements.

    Only additions move: a package pyproject.toml already lists keeps its own requirement.
    """
    old = _requirement_lines(base)
    doc = tomlkit.parse(pyproject)
    dependencies = doc["project"]["dependencies"]
    present = _by_name(dependencies)
    carried = [line for name, line in _requirement_lines(ours).items() if name not in old and name not in present]
    for requirement in carried:
        dependencies.append(requirement)
    return tomlkit.dumps(doc), carried


def _requirement_lines(text: str) -> dict[str, str]:
    """A requirements file's requirements by package name, without comments, blank lines or pip options."""
    found = {}
    for line in text.splitlines():
        requirement = line.split(" #", 1)[0].strip()
        if requirement and not requirement.startswith(("#", "-")):
            found[_name(requirement)] = requirement
    return found


def _dependency_arrays(doc) -> list[tuple[str, ...]]:
    project = doc.get("project", {})
    paths = [("project", "dependencies")] if "dependencies" in project else []
    extras = project.get("optional-dependencies", {})
    return paths + [("project", "optional-dependencies", name) for name in extras]


def _get(doc, path: tuple[str, ...]):
    node = doc
    for key in path:
        if key not in node:
            return None
        node = node[key]
    return node


def _set(doc, path: tuple[str, ...], value) -> None:
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, tomlkit.table())
    node[path[-1]] = _copy(value)


def _copy(array: Array) -> Array:
    return tomlkit.parse(f"x = {array.as_string()}")["x"]


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def _by_name(array) -> dict[str, str]:
    return {_name(str(item)): str(item) for item in (array or [])}


def _merge_requirements(base, ours, theirs) -> Array | None:
    """The next level's array with the team's additions, removals and re-pins applied."""
    old, mine, new = _by_name(base), _by_name(ours), _by_name(theirs)
    merged = _copy(theirs)
    for name, requirement in mine.items():
        if name not in old and name not in new:
            merged.append(requirement)
        elif name in old and requirement != old[name]:
            if new.get(name, old[name]) != old[name]:
                return None  # both re-pinned the same package
            _replace(merged, name, requirement)
    for name in old.keys() - mine.keys():
        if new.get(name) not in (None, old[name]):
            return None  # the team dropped a package the next level re-pinned
        _remove(merged, name)
    return merged


def _replace(array: Array, name: str, requirement: str) -> None:
    for index, item in enumerate(array):
        if _name(str(item)) == name:
            array[index] = requirement
            return
    array.append(requirement)


def _remove(array: Array, name: str) -> None:
    for index, item in enumerate(array):
        if _name(str(item)) == name:
            del array[index]
            return
