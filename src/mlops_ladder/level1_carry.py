"""What a level-1 project keeps in files level 2 no longer runs, carried to where level 2 keeps it.

Level 1 keeps its settings in train.py (module constants and the forest's arguments); level 2 reads
params.yaml and runs its own modules instead. On that step the settings the team changed in train.py
become params.yaml values, whatever cannot be carried is named with the reason and where it belongs
now, and each changed level-1 file is named with the place its code lives at level 2, so no tuning
silently stops mattering. (requirements.txt is carried by requirements_carry.)
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

TRAIN_SCRIPT = "train.py"
PARAMS = "params.yaml"

# Where the code of each level-1 file lives at level 2.
LEVEL1_HOMES = {
    "train.py": "src/{package}/train.py, with data.py, features.py and evaluate.py beside it (`make train`); "
    "its settings are in params.yaml",
    "predict.py": "src/{package}/predict.py (`make predict INPUT=rows.csv`)",
    "notebook.ipynb": "notebooks/explore.ipynb for exploring; training runs from src/{package}/",
    "requirements.txt": "[project] dependencies in pyproject.toml (`pip install -e '.[dev]'`)",
}

# train.py's constants and the params.yaml keys that hold them at level 2.
CONSTANT_KEYS = {
    "SEED": ("data", "seed"),
    "TEST_SIZE": ("data", "test_size"),
    "DATASET": ("data", "source"),
    "CSV_PATH": ("data", "path"),
    "TARGET": ("data", "target"),
    "TASK": ("task",),
    "METRIC": ("metric",),
}
# A setting the team changed in train.py: (params.yaml key, new value, what they wrote).
Change = tuple[tuple[str, ...], object, str]

FORESTS = {"classification": "RandomForestClassifier", "regression": "RandomForestRegressor"}
MODEL_SECTION = "model"


@dataclass(frozen=True)
class NotCarried:
    what: str  # the line or setting as the team wrote it
    why: str  # why it stayed where it was, and where it belongs now

    def __str__(self) -> str:
        return f"{self.what}: {self.why}"


@dataclass(frozen=True)
class Moved:
    path: str
    now: str

    def __str__(self) -> str:
        return f"{self.path} -> {self.now}"


@dataclass
class Carry:
    text: str  # the receiving file with everything carried
    carried: list[str] = field(default_factory=list)
    not_carried: list[NotCarried] = field(default_factory=list)


def moved_code(paths: Iterable[str], package: str) -> list[Moved]:
    """Where the code of each level-1 file the team changed lives now (files level 2 no longer runs)."""
    return [Moved(path, LEVEL1_HOMES[path].format(package=package)) for path in paths if path in LEVEL1_HOMES]


UNREADABLE = object()  # a value train.py computes, which params.yaml cannot hold


@dataclass(frozen=True)
class Setting:
    source: str  # as written in train.py
    value: object  # the plain value, or UNREADABLE


def carry_params(base_train: str, our_train: str, params: str, package: str, task: str) -> Carry:
    """params.yaml with the settings the team changed in level 1's train.py, found by comparing its syntax
    trees with the pristine script's.

    `task` is the answers' task: the forest whose arguments count is the one for the task train.py runs.
    """
    try:
        base_tree, our_tree = ast.parse(base_train), ast.parse(our_train)
    except SyntaxError as error:
        why = f"is not valid Python (line {error.lineno}), so its settings were not read; copy them into {PARAMS}"
        return Carry(params, not_carried=[NotCarried(TRAIN_SCRIPT, why)])
    base_constants, our_constants = _constants(base_tree), _constants(our_tree)
    task = _readable(our_constants.get("TASK"), task)
    result = Carry(params)
    changes, result.not_carried = _constant_changes(base_constants, our_constants, package)
    forest_changes, forest_not_carried = _forest_changes(base_tree, our_tree, FORESTS.get(task), package)
    for key, value, what in changes + forest_changes:
        _carry_value(result, key, value, what, package)
    result.not_carried += forest_not_carried
    return result


def _constant_changes(
    base: dict[str, Setting], ours: dict[str, Setting], package: str
) -> tuple[list[Change], list[NotCarried]]:
    changes: list[Change] = []
    not_carried: list[NotCarried] = []
    for name, before in base.items():
        after = ours.get(name)
        if before.value is UNREADABLE or after is None or after.source == before.source:
            continue
        what = f"{name} = {after.source}"
        if name in CONSTANT_KEYS and after.value is not UNREADABLE:
            changes.append((CONSTANT_KEYS[name], after.value, what))
        elif name in CONSTANT_KEYS:
            not_carried.append(NotCarried(what, f"is not a plain value; set {'.'.join(CONSTANT_KEYS[name])} by hand"))
        else:
            not_carried.append(NotCarried(what, f"level 2 has no setting for it; its code lives in src/{package}/"))
    return changes, not_carried


def _forest_changes(
    base_tree: ast.Module, our_tree: ast.Module, forest: str | None, package: str
) -> tuple[list[Change], list[NotCarried]]:
    """The forest arguments the team changed, as (params key, value, what) and the ones params.yaml cannot take."""
    if forest is None:
        return [], []
    before = _forest_arguments(base_tree, forest, _constants(base_tree))
    after = _forest_arguments(our_tree, forest, _constants(our_tree))
    features = f"src/{package}/features.py"
    if before is None:
        return [], []
    if after is None:
        return [], [NotCarried(forest, f"train.py no longer builds one; level 2 builds its model in {features}")]
    changes: list[Change] = []
    not_carried: list[NotCarried] = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is not None and new is not None and old.source == new.source:
            continue
        if new is None:
            why = f"you removed it, so scikit-learn's default applies; {PARAMS} still sets {MODEL_SECTION}.{name}"
            not_carried.append(NotCarried(f"{name} (removed from {forest})", why))
        elif name == "random_state":
            why = f"level 2 seeds the forest with data.seed in {PARAMS}; set that to change the seed"
            not_carried.append(NotCarried(f"random_state={new.source}", why))
        elif new.value is UNREADABLE:
            why = f"is not a plain value; set it in {features} or as {MODEL_SECTION}.{name} in {PARAMS}"
            not_carried.append(NotCarried(f"{name}={new.source}", why))
        else:
            changes.append(((MODEL_SECTION, name), new.value, f"{name}={new.source}"))
    return changes, not_carried


def _carry_value(result: Carry, key: tuple[str, ...], value: object, what: str, package: str) -> None:
    """Write one value into params.yaml (result.text), or say why it stays in train.py."""
    dotted = ".".join(key)
    current = _lookup(yaml.safe_load(result.text), key)
    if current is _MISSING:
        if key[0] == MODEL_SECTION:
            why = (
                f"{PARAMS} has no {dotted}: add it there and to ModelParams in src/{package}/config.py, "
                f"then pass it to the forest in src/{package}/features.py"
            )
        else:
            why = f"{PARAMS} has no {dotted}; set it where src/{package}/ reads it"
        result.not_carried.append(NotCarried(what, why))
        return
    if current == value:
        return  # params.yaml already says so
    text = set_yaml_value(result.text, key, value)
    if text is None:
        result.not_carried.append(NotCarried(what, f"could not be written into {PARAMS} safely; set {dotted} by hand"))
        return
    result.text = text
    result.carried.append(f"{dotted}: {_scalar(value)}  (from {what} in {TRAIN_SCRIPT})")


def _constants(tree: ast.Module) -> dict[str, Setting]:
    """Module-level `NAME = value` assignments, each with its plain value when it has one."""
    found: dict[str, Setting] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            found[target.id] = _setting(value, {})
    return found


def _forest_arguments(tree: ast.Module, forest: str, constants: dict[str, Setting]) -> dict[str, Setting] | None:
    """The arguments of the first call to `forest` (None when there is none); names resolve to constants."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == forest:
            arguments = {keyword.arg: _setting(keyword.value, constants) for keyword in node.keywords if keyword.arg}
            if node.args:  # the only positional parameter of scikit-learn's forests
                arguments.setdefault("n_estimators", _setting(node.args[0], constants))
            return arguments
    return None


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _setting(node: ast.expr, constants: dict[str, Setting]) -> Setting:
    source = ast.unparse(node)
    try:
        value = ast.literal_eval(node)
    except ValueError:
        known = constants.get(node.id) if isinstance(node, ast.Name) else None
        value = known.value if known is not None else UNREADABLE
    plain = value is None or isinstance(value, bool | int | float | str)
    return Setting(source, value if plain else UNREADABLE)


def _readable(setting: Setting | None, default: str) -> str:
    return setting.value if setting is not None and isinstance(setting.value, str) else default


_MISSING = object()


def _lookup(doc: object, key: tuple[str, ...]) -> object:
    for part in key:
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
QUOTED_VALUE = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')\s*(?P<comment>#.*)?$""")


def set_yaml_value(text: str, key: tuple[str, ...], value: object) -> str | None:
    """`text` with the scalar at `key` replaced, every comment and line kept; None when that cannot be done
    safely (the result is checked to load as the same document with only that value changed).

    A line-level edit is enough for params.yaml's plain `key: scalar` lines, and keeps the file exactly
    as the team knows it; a round-trip YAML library would be a new dependency for seven keys.
    """
    lines = text.splitlines(keepends=True)
    path: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        match = KEY_LINE.match(line.rstrip("\r\n"))
        if not match:
            continue  # blank lines, comments, list items
        depth = len(match["indent"])
        path = [(d, name) for d, name in path if d < depth] + [(depth, match["key"])]
        if tuple(name for _, name in path) != key:
            continue
        ending = line[len(line.rstrip("\r\n")) :]
        lines[index] = f"{match['indent']}{match['key']}: {_scalar(value)}{_comment(match['rest'])}{ending}"
        edited = "".join(lines)
        expected = copy.deepcopy(yaml.safe_load(text))
        _assign(expected, key, value)
        return edited if yaml.safe_load(edited) == expected else None
    return None


def _comment(rest: str) -> str:
    """The comment after a value (`  # ...`), or nothing."""
    quoted = QUOTED_VALUE.match(rest)
    if quoted:
        comment = quoted["comment"]
    else:
        found = re.search(r"(^|\s)#", rest)
        comment = rest[found.end() - 1 :] if found else None
    return f"  {comment.strip()}" if comment else ""


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a YAML double-quoted string
    return yaml.safe_dump(value, default_flow_style=True).splitlines()[0]


def _assign(doc: dict[str, Any], key: tuple[str, ...], value: object) -> None:
    for part in key[:-1]:
        doc = doc[part]
    doc[key[-1]] = value
