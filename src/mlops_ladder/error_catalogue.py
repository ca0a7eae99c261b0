"""Every error message the CLI can print, read from its own source, so the troubleshooting page cannot drift.

A message is a `LadderError(problem, fix)` raised or returned anywhere in the package, or a line the CLI
prints on its error stream itself (`print_error`, `errors.print`). The parts known only at run time (a
path, a column name) are shown as `<name>` placeholders; string constants are spelled out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The calls whose arguments are messages the user reads.
MESSAGE_CALLS = {"LadderError", "print_error", "errors.print"}
# Calls that only pass on a message made elsewhere (already listed where it is made), and the
# questionnaire's progress line, which the CLI prints on its error stream to keep stdout clean.
RELAYED = ("<problem>", "Error: <problem>")
NOT_ERRORS = {("cli", "_questionnaire"), ("cli", "ask")}


@dataclass(frozen=True)
class Message:
    module: str  # e.g. "training_csv"
    function: str  # the function that raises or prints it
    problem: str
    fix: str  # empty for a line the CLI prints without a fix


def error_messages(package: Path = PACKAGE) -> list[Message]:
    """The messages of every module, in source order, module by module (alphabetical)."""
    modules = {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(package.glob("*.py"))}
    constants = {name: text for tree in modules.values() for name, text in _string_constants(tree).items()}
    messages: list[Message] = []
    for module, tree in modules.items():
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                messages += _messages_in(module, function, constants)
    return _unique(messages)


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level constants a message may show: `NAME = "text"`, an f-string of such, `LOW, HIGH = 1, 5`."""
    found: dict[str, str] = {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        target, value = statement.targets[0], statement.value
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            pairs = list(zip(target.elts, value.elts, strict=False))
        else:
            pairs = [(target, value)]
        for name, constant in pairs:
            if isinstance(name, ast.Name) and isinstance(constant, ast.Constant | ast.JoinedStr):
                found[name.id] = _text(constant, found, {})
    return found


def _messages_in(
    module: str, function: ast.FunctionDef | ast.AsyncFunctionDef, constants: dict[str, str]
) -> list[Message]:
    local = _local_strings(function)
    messages = []
    for node in _own_nodes(function):
        if isinstance(node, ast.Call) and _call_name(node.func) in MESSAGE_CALLS and node.args:
            problem = _text(node.args[0], constants, local)
            fix = _text(node.args[1], constants, local) if len(node.args) > 1 else ""
            message = Message(module, function.name, _plain(problem), _plain(fix))
            if not message.problem.startswith(RELAYED) and (module, function.name) not in NOT_ERRORS:
                messages.append(message)
    return messages


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of `function` itself, not of the functions defined inside it (they are visited on their own)."""
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop(0)
        nodes.append(node)
        pending += [child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.FunctionDef)]
    return nodes


def _local_strings(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    """Names a function binds once to an expression, and parameters with a default."""
    local: dict[str, ast.expr] = {}
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    for argument, default in zip(
        positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
    ):
        if isinstance(default, ast.JoinedStr) or (isinstance(default, ast.Constant) and isinstance(default.value, str)):
            local[argument.arg] = default
    assigned: dict[str, list[ast.expr]] = defaultdict(list)
    for node in _own_nodes(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id].append(node.value)
        elif isinstance(node, ast.NamedExpr):
            assigned[node.target.id].append(node.value)
    # A name bound more than once, or a parameter bound again (`level = level + 1`), has no one value:
    # it stays a placeholder.
    parameters = {argument.arg for argument in positional + arguments.kwonlyargs}
    local.update({name: values[0] for name, values in assigned.items() if len(values) == 1 and name not in parameters})
    return {name: value for name, value in local.items() if name not in assigned or name not in parameters}


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def _text(node: ast.expr, constants: dict[str, str], local: dict[str, ast.expr]) -> str:
    """The message an expression makes, with what is only known at run time as `<placeholder>`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part, constants, local) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return _text(node.value, constants, local)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and _is_text(node.left) and _is_text(node.right):
        return _text(node.left, constants, local) + _text(node.right, constants, local)
    if isinstance(node, ast.IfExp):  # one message or the other: show both
        return f"{_text(node.body, constants, local)} / {_text(node.orelse, constants, local)}"
    if isinstance(node, ast.Name):
        if node.id in local:
            return _text(local[node.id], constants, {k: v for k, v in local.items() if k != node.id})
        if node.id in constants:
            return constants[node.id]
    return f"<{_placeholder(node)}>"


def _is_text(node: ast.expr) -> bool:
    return not (isinstance(node, ast.Constant) and not isinstance(node.value, str))


def _placeholder(node: ast.expr) -> str:
    """A short name for a run-time value: `path`, `error`, `switch fix`."""
    if isinstance(node, ast.Name):
        return node.id.strip("_").replace("_", " ")
    if isinstance(node, ast.Attribute):
        return node.attr.strip("_").replace("_", " ")
    if isinstance(node, ast.Subscript | ast.Starred):
        return _placeholder(node.value)
    if isinstance(node, ast.Call):
        return _call_placeholder(node)
    if isinstance(node, ast.BoolOp):
        return _placeholder(node.values[0])
    return "value"


# Calls that only reshape a value: the placeholder names the value (`", ".join(known)` is `<known>`).
RESHAPING = {"join", "sorted", "str", "repr", "list", "lower", "upper", "strip"}


def _call_placeholder(call: ast.Call) -> str:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name == "len" and call.args:
        return f"number of {_placeholder(call.args[0])}"
    if name in RESHAPING:
        if call.args and (name == "join" or not isinstance(call.func, ast.Attribute)):
            return _placeholder(call.args[0])
        if isinstance(call.func, ast.Attribute):
            return _placeholder(call.func.value)
    return _placeholder(call.func)


def _plain(text: str) -> str:
    """One line, without Rich's markup tags (`[bold]`, `[/]`)."""
    for tag in ("[bold red]", "[bold]", "[dim]", "[/]"):
        text = text.replace(tag, "")
    return " ".join(text.split())


def _unique(messages: list[Message]) -> list[Message]:
    """Each message once: the same sentence raised from two functions of a module is one entry on the page."""
    first: dict[tuple[str, str, str], Message] = {}
    for message in messages:
        first.setdefault((message.module, message.problem, message.fix), message)
    return list(first.values())
