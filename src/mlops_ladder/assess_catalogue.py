"""The practice catalogue: templates/practices.yml read into typed practices, detectors and questions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from mlops_ladder.levels import HIGHEST, LOWEST, all_levels
from mlops_ladder.templates import templates_dir

CATALOGUE_FILE = "practices.yml"


@dataclass(frozen=True)
class NamePattern:
    """A dotted name, `*` matching any part, optionally needing a keyword argument: `serve(cron)`."""

    name: str
    keyword: str | None
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> NamePattern:
        name, _, keyword = text.partition("(")
        parts = (r"[^.]+" if part == "*" else re.escape(part) for part in name.split("."))
        return cls(text, keyword.rstrip(")") or None, re.compile(r"\.".join(parts)))

    def matches(self, dotted: str, keywords: tuple[str, ...]) -> bool:
        return bool(self.regex.fullmatch(dotted)) and (self.keyword is None or self.keyword in keywords)


@dataclass(frozen=True)
class PythonDetector:
    imports: tuple[str, ...] = ()
    calls: tuple[NamePattern, ...] = ()
    methods: tuple[NamePattern, ...] = ()
    decorators: tuple[NamePattern, ...] = ()
    bases: tuple[NamePattern, ...] = ()
    definitions: re.Pattern[str] | None = None
    tests: bool = False


@dataclass(frozen=True)
class ConfigDetector:
    """A parsed YAML/TOML/JSON file whose name matches `files`, holding `key`, whose value matches `value`."""

    files: tuple[str, ...]
    key: re.Pattern[str] | None
    key_text: str | None
    value: re.Pattern[str] | None

    @property
    def words(self) -> tuple[str, ...]:
        """The key's literal parts, which the file's text must contain for the key to be in it."""
        return tuple(part for part in (self.key_text or "").split(".") if part and "*" not in part)


@dataclass(frozen=True)
class Detectors:
    python: PythonDetector | None = None
    config: tuple[ConfigDetector, ...] = ()
    requirements: bool = False
    dockerfile: bool = False
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Practice:
    id: str
    level: int
    name: str
    evidence: str
    detect: Detectors
    next_step: str
    cost: str
    read: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Question:
    id: str
    level: int
    aspect: str
    question: str


@dataclass(frozen=True)
class Catalogue:
    practices: tuple[Practice, ...]
    aspects: dict[str, str]
    questions: tuple[Question, ...]

    def at_level(self, level: int) -> list[Practice]:
        return [practice for practice in self.practices if practice.level == level]


# Separates the parts of a config key path, so a key holding "." or "/" stays one part.
KEY_SEPARATOR = "\x1f"


def key_path_regex(pattern: str) -> re.Pattern[str]:
    """`jobs.*.steps.*.run` or `**.canary` as a regex over key paths joined by KEY_SEPARATOR."""
    pieces = []
    for part in pattern.split("."):
        if part == "**":
            pieces.append(f"(?:[^{KEY_SEPARATOR}]+{KEY_SEPARATOR})*")
        else:
            piece = f"[^{KEY_SEPARATOR}]+" if part == "*" else re.escape(part)
            pieces.append(piece + KEY_SEPARATOR)
    return re.compile("".join(pieces)[: -len(KEY_SEPARATOR)])


def _python(raw: dict[str, Any]) -> PythonDetector:
    unknown = set(raw) - {"imports", "calls", "methods", "decorators", "bases", "definitions", "tests"}
    if unknown:
        raise ValueError(f"unknown python detector(s) {sorted(unknown)}")
    patterns = {kind: tuple(NamePattern.parse(text) for text in raw.get(kind, [])) for kind in ("calls", "methods")}
    return PythonDetector(
        imports=tuple(raw.get("imports", [])),
        calls=patterns["calls"],
        methods=patterns["methods"],
        decorators=tuple(NamePattern.parse(text) for text in raw.get("decorators", [])),
        bases=tuple(NamePattern.parse(text) for text in raw.get("bases", [])),
        definitions=re.compile(raw["definitions"]) if raw.get("definitions") else None,
        tests=bool(raw.get("tests", False)),
    )


def _config(raw: dict[str, Any]) -> ConfigDetector:
    key = raw.get("key")
    return ConfigDetector(
        files=tuple(raw["files"]),
        key=key_path_regex(key) if key else None,
        key_text=key,
        value=re.compile(raw["value"]) if raw.get("value") else None,
    )


def _detectors(raw: dict[str, Any]) -> Detectors:
    unknown = set(raw) - {"python", "config", "requirements", "dockerfile", "files"}
    if unknown:
        raise ValueError(f"unknown detector(s) {sorted(unknown)}")
    return Detectors(
        python=_python(raw["python"]) if "python" in raw else None,
        config=tuple(_config(entry) for entry in raw.get("config", [])),
        requirements=bool(raw.get("requirements", False)),
        dockerfile=bool(raw.get("dockerfile", False)),
        files=tuple(raw.get("files", [])),
    )


def _practice(raw: dict[str, Any]) -> Practice:
    if not LOWEST <= raw["level"] <= HIGHEST:
        raise ValueError(f"practice {raw['id']} has level {raw['level']}, outside {LOWEST}-{HIGHEST}")
    return Practice(
        id=raw["id"],
        level=raw["level"],
        name=raw["name"],
        evidence=raw["evidence"],
        detect=_detectors(raw["detect"]),
        next_step=raw["next_step"],
        cost=raw["cost"],
        read=tuple(raw.get("read", [])),
    )


@cache
def load_catalogue() -> Catalogue:
    """The catalogue in templates/practices.yml; a malformed entry fails here, naming it."""
    with (templates_dir() / CATALOGUE_FILE).open(encoding="utf-8") as file:
        raw = yaml.safe_load(file)
    practices = tuple(_practice(entry) for entry in raw["practices"])
    questions = tuple(Question(**entry) for entry in raw["questions"])
    for question in questions:
        if question.aspect not in raw["aspects"]:
            raise ValueError(f"question {question.id} has an unknown aspect {question.aspect!r}")
    return Catalogue(practices, dict(raw["aspects"]), questions)


def catalogue_markdown() -> str:
    """The practices and questions as a Markdown section; docs/assess.md embeds it, checked by a test."""
    catalogue = load_catalogue()
    lines = [
        "<!-- Generated from templates/practices.yml by `mlops-ladder assess --docs-page`. -->",
        "",
        "| level | practice | id | evidence that counts | how it is detected |",
        "|---|---|---|---|---|",
    ]
    for practice in sorted(catalogue.practices, key=lambda practice: practice.level):
        level = all_levels()[practice.level]
        lines.append(
            f"| {practice.level} {level.name} | {practice.name} | `{practice.id}` | {practice.evidence} "
            f"| {describe_detectors(practice.detect)} |"
        )
    lines += ["", "| level | aspect | id | question |", "|---|---|---|---|"]
    for question in sorted(catalogue.questions, key=lambda question: question.level):
        lines.append(
            f"| {question.level} | {catalogue.aspects[question.aspect]} | `{question.id}` | {question.question} |"
        )
    return "\n".join(lines)


def describe_detectors(detect: Detectors) -> str:
    """One short line per detector kind, for the docs table."""
    parts = []
    if python := detect.python:
        named = [
            ("imports", list(python.imports)),
            ("calls", [pattern.name for pattern in python.calls]),
            ("methods", [pattern.name for pattern in python.methods]),
            ("decorators", [pattern.name for pattern in python.decorators]),
            ("base classes", [pattern.name for pattern in python.bases]),
        ]
        parts += [f"ast {kind}: " + ", ".join(f"`{name}`" for name in names) for kind, names in named if names]
        if python.definitions:
            parts.append(f"ast definitions named `{python.definitions.pattern}`")
        if python.tests:
            parts.append("ast: `def test_*` in a test file")
    for config in detect.config:
        where = ", ".join(f"`{name}`" for name in config.files)
        key = f" key `{config.key_text}`" if config.key_text else ""
        value = f" matching `{config.value.pattern}`" if config.value else ""
        parts.append(f"parsed {where}{key}{value}")
    if detect.requirements:
        parts.append("`requirements*.txt` with a requirement line")
    if detect.dockerfile:
        parts.append("Dockerfile with a `FROM` instruction")
    if detect.files:
        parts.append("file " + ", ".join(f"`{name}`" for name in detect.files))
    return "<br>".join(part.replace("|", "\\|") for part in parts)
