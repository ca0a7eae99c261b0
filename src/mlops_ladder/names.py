"""Turn a human project name into a Python package name, or say why it cannot be done."""

from __future__ import annotations

import keyword
import re
import unicodedata

from mlops_ladder.errors import LadderError


def derive_package_name(project_name: str) -> str:
    """`My Project` -> `my_project`, `ml-proj-2` -> `ml_proj_2`, `Projet Été` -> `projet_ete`."""
    ascii_name = unicodedata.normalize("NFKD", project_name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not name:
        raise LadderError(
            f"The project name {project_name!r} has no letters or digits to make a Python package name from.",
            "Use a name with letters, or pass --data package_name=<name>.",
        )
    if name[0].isdigit():
        raise LadderError(
            f"The project name {project_name!r} would give a package name starting with a digit ({name}).",
            "Start the name with a letter, or pass --data package_name=<name>.",
        )
    if keyword.iskeyword(name):
        raise LadderError(
            f"The project name {project_name!r} would give the package name {name!r}, a Python keyword.",
            "Pick another name, or pass --data package_name=<name>.",
        )
    return name


def check_package_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise LadderError(
            f"{name!r} is not a valid Python package name.",
            "Use lowercase letters, digits and underscores, starting with a letter.",
        )
    return name
