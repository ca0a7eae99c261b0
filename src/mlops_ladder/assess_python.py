"""What Python code does, read with `ast` (never imported, never run): imports, calls, decorators, names."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Use(NamedTuple):
    """A name the code uses at a line: a module, a call, a decorator; with the keywords of a call.

    A named tuple, not a dataclass: a large module makes thousands, and they are built faster.
    """

    name: str
    line: int
    keywords: tuple[str, ...] = ()


@dataclass
class PythonFacts:
    imports: list[Use] = field(default_factory=list)
    calls: list[Use] = field(default_factory=list)  # fully qualified where the imports say how
    methods: list[Use] = field(default_factory=list)  # `anything.name(...)`: the name only
    decorators: list[Use] = field(default_factory=list)
    bases: list[Use] = field(default_factory=list)
    definitions: list[Use] = field(default_factory=list)  # functions and classes defined


def parse_python(source: str, aliases: dict[str, str] | None = None) -> PythonFacts | None:
    """The facts of one module or notebook cell; None when it is not valid Python (3).

    `aliases` carries the imports of the cells above (a notebook runs top to bottom); this
    source's own imports are added to it.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    # One pass sorts the nodes that matter by kind (`type(node) is`, much cheaper than isinstance chains).
    imports: list[ast.Import | ast.ImportFrom] = []
    calls: list[ast.Call] = []
    definitions: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Call:
            calls.append(node)  # type: ignore[arg-type]
        elif kind in DEFINITIONS:
            definitions.append(node)  # type: ignore[arg-type]
        elif kind is ast.Import or kind is ast.ImportFrom:
            imports.append(node)  # type: ignore[arg-type]
    aliases = aliases if aliases is not None else {}
    aliases.update(_aliases(imports))
    facts = PythonFacts()
    for node in imports:
        if isinstance(node, ast.Import):
            facts.imports += [Use(alias.name, node.lineno) for alias in node.names]
        elif node.module and not node.level:
            facts.imports.append(Use(node.module, node.lineno))
    for node in calls:
        _add_call(node, aliases, facts)
    for node in definitions:
        _add_definition(node, aliases, facts)
    return facts


def _aliases(nodes: list[ast.Import | ast.ImportFrom]) -> dict[str, str]:
    """Local name -> what it names: `import mlflow as mf` maps mf to mlflow; `from prefect import flow`, flow."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:  # `import mlflow.sklearn` binds `mlflow`
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def dotted_name(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`mf.sklearn.autolog` as `mlflow.sklearn.autolog` when `mf` is `mlflow`; None for `f().g`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _add_call(node: ast.Call, aliases: dict[str, str], facts: PythonFacts) -> None:
    keywords = tuple(keyword.arg for keyword in node.keywords if keyword.arg)
    if name := dotted_name(node.func, aliases):
        facts.calls.append(Use(name, node.lineno, keywords))
    if isinstance(node.func, ast.Attribute):
        facts.methods.append(Use(node.func.attr, node.lineno, keywords))


def _add_definition(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, aliases: dict[str, str], facts: PythonFacts
) -> None:
    facts.definitions.append(Use(node.name, node.lineno))
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if name := dotted_name(target, aliases):
            facts.decorators.append(Use(name, decorator.lineno))
    if isinstance(node, ast.ClassDef):
        facts.bases += [Use(name, base.lineno) for base in node.bases if (name := dotted_name(base, aliases))]
