"""Config files (YAML, TOML, JSON, setup.cfg) parsed and flattened to key paths, each with its line."""

from __future__ import annotations

import configparser
import json
import tomllib
from dataclasses import dataclass

import yaml

from mlops_ladder.assess_catalogue import KEY_SEPARATOR

MAX_ENTRIES = 50_000  # YAML aliases can multiply a small file; stop flattening long before memory runs out
MAX_DEPTH = 64

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it: same result, faster


@dataclass(frozen=True)
class Entry:
    """One key path in a config file: `jobs/test/steps/2/run` (parts joined by KEY_SEPARATOR), its text value."""

    path: str
    value: str | None  # scalars only; None for a mapping or a list
    line: int  # 0 when the parser keeps no lines (TOML, JSON, cfg): `line_of` finds it when it is needed


def parse_config(name: str, text: str) -> list[Entry] | None:
    """The entries of a config file, by its name; None when it does not parse."""
    try:
        if name.endswith((".yml", ".yaml")) or name == "MLproject":
            return _yaml_entries(text)
        if name.endswith(".toml") or name == "Pipfile":
            return _tree_entries(tomllib.loads(text))
        if name.endswith(".json"):
            return _tree_entries(json.loads(text))
        if name.endswith(".cfg"):
            return _cfg_entries(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError, configparser.Error, RecursionError):
        return None
    return None


def _yaml_entries(text: str) -> list[Entry]:
    """Composed, not constructed: any tag is safe, and every node keeps its line."""
    entries: list[Entry] = []
    for document in yaml.compose_all(text, Loader=YAML_LOADER):
        if document is not None:
            _walk_yaml(document, entries)
    return entries


def _walk_yaml(root: yaml.Node, entries: list[Entry]) -> None:
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack and len(entries) < MAX_ENTRIES:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            continue  # a recursive alias (`&a [*a]`) would otherwise never end
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                entries.append(Entry(KEY_SEPARATOR.join(child), _scalar(value), key.start_mark.line + 1))
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, str(index))
                entries.append(Entry(KEY_SEPARATOR.join(child), _scalar(item), item.start_mark.line + 1))
                stack.append((item, child))


def _scalar(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _tree_entries(tree: object) -> list[Entry]:
    entries: list[Entry] = []
    stack: list[tuple[object, tuple[str, ...]]] = [(tree, ())]
    while stack and len(entries) < MAX_ENTRIES:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            child = (*path, str(key))
            scalar = None if isinstance(value, dict | list) else str(value)
            entries.append(Entry(KEY_SEPARATOR.join(child), scalar, 0))
            stack.append((value, child))
    return entries


def line_of(text: str, entry: Entry) -> int:
    """The entry's line; for parsers that keep none, the first line naming its table (`[project]`) or key."""
    if entry.line:
        return entry.line
    path = tuple(entry.path.split(KEY_SEPARATOR))
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.strip("[]").strip() == ".".join(path[:-1] or path):
            return number
    for number, line in enumerate(lines, start=1):
        if line.strip().lstrip('"').startswith(path[-1]):
            return number
    return 1


def _cfg_entries(text: str) -> list[Entry]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return [
        Entry(f"{section}{KEY_SEPARATOR}{key}", value, 0)
        for section in parser.sections()
        for key, value in parser.items(section)
    ]
