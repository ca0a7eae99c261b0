"""The package-name rules of templates/questions.yml, evaluated the way Copier evaluates them.

The Jinja default and validator of `package_name` are the only implementation of those rules: the
CLI renders them here (to explain a refusal before rendering a project, and to check an answers file)
rather than re-implementing them, so it cannot disagree with plain `copier copy`.
"""

from __future__ import annotations

from functools import cache

from jinja2 import StrictUndefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from mlops_ladder.errors import LadderError
from mlops_ladder.templates import questions

# The extension Copier loads into every template's environment; our templates add none (no --trust).
COPIER_EXTENSIONS = ["jinja2_ansible_filters.AnsibleCoreFiltersExtension"]
NAME_RULE = "lowercase letters, digits and underscores, starting with a letter"


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(extensions=COPIER_EXTENSIONS)


def _render(expression: str, **answers: object) -> str:
    # The never-asked questions (`when: false`) are lookup tables the expressions read.
    tables = {name: spec["default"] for name, spec in questions().items() if spec.get("when") is False}
    return _environment().from_string(expression).render(**tables, **answers)


def derive_package_name(project_name: str) -> str | None:
    """The default Copier offers for `package_name`, or None when the name gives no valid one."""
    try:
        # UNSET is how the default says "no default"; Copier then asks, or refuses under --defaults.
        unset = StrictUndefined(name="UNSET")
        return _render(questions()["package_name"]["default"], project_name=project_name, UNSET=unset).strip()
    except UndefinedError:
        return None


def package_name_problem(name: str) -> str:
    """What the template's validator says about `name`; empty when the name is valid."""
    return " ".join(_render(questions()["package_name"]["validator"], package_name=name).split())


def check_package_name(
    name: str, fix: str = f"Pass another name with --data package_name=<name> ({NAME_RULE})."
) -> str:
    if problem := package_name_problem(name):
        raise LadderError(problem, fix)
    return name
