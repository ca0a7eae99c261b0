"""Find each practice's evidence in a repository: every file read at most once, by the parser its kind needs."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from mlops_ladder.assess_catalogue import (
    KEY_SEPARATOR,
    Catalogue,
    ConfigDetector,
    NamePattern,
    Practice,
    PythonDetector,
)
from mlops_ladder.assess_config import Entry, line_of, parse_config
from mlops_ladder.assess_notebook import code_cells
from mlops_ladder.assess_python import PythonFacts, parse_python
from mlops_ladder.assess_walk import Skipped, SourceFile, read_text, walk

MAX_EVIDENCE = 20  # per practice: enough to show where, bounded for a huge repository
CONFIG_SUFFIXES = (".yml", ".yaml", ".toml", ".json", ".cfg")
CONFIG_NAMES = ("MLproject", "Pipfile")


@dataclass(frozen=True)
class Evidence:
    file: str
    line: int
    detail: str
    cell: int | None = None  # the notebook cell, when the evidence is in one

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.cell is None else f"{self.file} cell {self.cell}:{self.line}"


@dataclass
class Findings:
    evidence: dict[str, list[Evidence]]
    scanned: int = 0
    skipped: Skipped = field(default_factory=Skipped)
    full: set[str] = field(default_factory=set)  # practices with MAX_EVIDENCE: no need to look further

    def add(self, practice: Practice, evidence: Evidence) -> None:
        found = self.evidence[practice.id]
        if len(found) < MAX_EVIDENCE:
            found.append(evidence)
            if len(found) == MAX_EVIDENCE:
                self.full.add(practice.id)


def find_evidence(root: Path, catalogue: Catalogue) -> Findings:
    findings = Findings({practice.id: [] for practice in catalogue.practices})
    python = PythonIndex(catalogue.practices)
    named_files = [(practice, practice.detect.files) for practice in catalogue.practices if practice.detect.files]
    named_suffixes = tuple({"." + pattern.rsplit(".", 1)[-1] for _, patterns in named_files for pattern in patterns})
    for source in walk(root, findings.skipped):
        findings.scanned += 1
        _inspect(source, catalogue, python, findings)
        if source.name.endswith(named_suffixes) and source.size:  # the name first: size costs a stat call
            for practice, patterns in named_files:
                if any(matches_glob(source.rel, pattern) for pattern in patterns):
                    findings.add(practice, Evidence(source.rel, 1, "file"))
    return findings


def _inspect(source: SourceFile, catalogue: Catalogue, python: PythonIndex, findings: Findings) -> None:
    name = source.name
    if name.endswith(".py"):
        python.inspect_module(source, findings)
    elif name.endswith(".ipynb"):
        python.inspect_notebook(source, findings)
    elif name.endswith(CONFIG_SUFFIXES) or name in CONFIG_NAMES:
        _inspect_config(source, catalogue, findings)
    elif _is_requirements(source.rel):
        _inspect_requirements(source, catalogue, findings)
    elif _is_dockerfile(name):
        _inspect_dockerfile(source, catalogue, findings)


def matches_glob(rel: str, pattern: str) -> bool:
    """A glob without `/` matches the file name anywhere; with `/`, the path from the assessed folder."""
    return fnmatchcase(rel if "/" in pattern else rel.rsplit("/", 1)[-1], pattern)


DEFINED_NAMES = (re.compile(r"def\s+(\w+)"), re.compile(r"class\s+(\w+)"))
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PythonIndex:
    """The catalogue's Python detectors keyed by the name they look for, so each use is one dict lookup.

    Parsing is the cost of assessing, so a file is parsed only when it may hold evidence that is
    still wanted: its identifiers include every word some use needs (`mlflow.log_params` needs
    `mlflow` in its import and `log_params` at the call; `serve(cron)` needs `serve` and `cron`), for a
    practice without its full share of
    evidence yet. Any real use shows those words, so this skips parsing without missing evidence.
    """

    def __init__(self, practices: tuple[Practice, ...]) -> None:
        self.imports: dict[str, list[tuple[Practice, str]]] = defaultdict(list)
        self.by_kind: dict[str, dict[str, list[tuple[Practice, NamePattern]]]] = {
            kind: defaultdict(list) for kind in ("calls", "methods", "decorators", "bases")
        }
        self.definitions: list[tuple[Practice, re.Pattern[str]]] = []
        self.tests: list[Practice] = []
        self.needs: dict[str, set[frozenset[str]]] = defaultdict(set)  # practice id -> word sets a use shows
        for practice in practices:
            if detector := practice.detect.python:
                self._add(practice, detector)
        self._wanted: tuple[int, list[frozenset[str]], re.Pattern[str] | None] = (-1, [], None)

    def _add(self, practice: Practice, detector: PythonDetector) -> None:
        for module in detector.imports:
            self.imports[module.split(".")[0]].append((practice, module))
            self.needs[practice.id].add(frozenset({module.split(".")[0]}))
        for kind in ("calls", "decorators", "bases"):
            for pattern in getattr(detector, kind):
                parts = pattern.name.split("(")[0].split(".")
                self.by_kind[kind][parts[0]].append((practice, pattern))
                words = (parts[0], parts[-1], pattern.keyword or "*")
                self.needs[practice.id].add(frozenset(word for word in words if word != "*"))
        for pattern in detector.methods:
            method = pattern.name.split("(")[0]
            self.by_kind["methods"][method].append((practice, pattern))
            self.needs[practice.id].add(frozenset(word for word in (method, pattern.keyword) if word))
        if detector.definitions:
            self.definitions.append((practice, detector.definitions))
        if detector.tests:
            self.tests.append(practice)

    def _still_wanted(self, findings: Findings) -> tuple[list[frozenset[str]], re.Pattern[str] | None]:
        """The needs and definition patterns of practices that still want evidence (cached until one fills up)."""
        if self._wanted[0] != len(findings.full):
            needs = {need for practice, found in self.needs.items() if practice not in findings.full for need in found}
            patterns = [regex for practice, regex in self.definitions if practice.id not in findings.full]
            definitions = re.compile("|".join(_scoped(regex) for regex in patterns)) if patterns else None
            self._wanted = (len(findings.full), sorted(needs, key=len), definitions)
        return self._wanted[1], self._wanted[2]

    def _worth_parsing(self, text: str, findings: Findings) -> bool:
        needs, definitions = self._still_wanted(findings)
        names = set(IDENTIFIER.findall(text))
        if any(need <= names for need in needs):
            return True
        return definitions is not None and any(
            definitions.search(name) for finder in DEFINED_NAMES for name in finder.findall(text)
        )

    def inspect_module(self, source: SourceFile, findings: Findings) -> None:
        if is_test_code(source.rel):
            self._inspect_tests(source, findings)
            return
        text = read_text(source, findings.skipped)
        if text is None or not self._worth_parsing(text, findings):
            return
        if (facts := parse_python(text)) is None:
            findings.skipped.add(source.rel, "not valid Python 3")
            return
        self._match(facts, source.rel, None, findings)

    def _inspect_tests(self, source: SourceFile, findings: Findings) -> None:
        """Test code is evidence of tests only: a test that calls MLflow does not make the project track runs."""
        name = source.name
        wanted = [practice for practice in self.tests if practice.id not in findings.full]
        if not wanted or not (name.startswith("test_") or name.endswith("_test.py")):
            return
        text = read_text(source, findings.skipped)
        if text is None or "def test" not in text:
            return
        if (facts := parse_python(text)) is None:
            findings.skipped.add(source.rel, "not valid Python 3")
            return
        for use in facts.definitions:
            if use.name.startswith("test"):
                for practice in wanted:
                    findings.add(practice, Evidence(source.rel, use.line, f"test {use.name}"))

    def inspect_notebook(self, source: SourceFile, findings: Findings) -> None:
        text = read_text(source, findings.skipped)
        if text is None:
            return
        cells = code_cells(text)
        if cells is None:
            findings.skipped.add(source.rel, "not a notebook (invalid JSON)")
            return
        if not self._worth_parsing(text, findings):
            return
        aliases: dict[str, str] = {}  # imports carry from cell to cell, as when the notebook runs
        for cell in cells:
            if facts := parse_python(cell.source, aliases):
                self._match(facts, source.rel, cell.number, findings)

    def _match(self, facts: PythonFacts, rel: str, cell: int | None, findings: Findings) -> None:
        for use in facts.imports:
            for practice, module in self.imports.get(use.name.split(".")[0], ()):
                if use.name == module or use.name.startswith(module + "."):
                    findings.add(practice, Evidence(rel, use.line, f"import {use.name}", cell))
        for kind, uses, label in (
            ("calls", facts.calls, "call {}"),
            ("decorators", facts.decorators, "@{}"),
            ("bases", facts.bases, "subclass of {}"),
        ):
            for use in uses:
                for practice, pattern in self.by_kind[kind].get(use.name.split(".")[0], ()):
                    if pattern.matches(use.name, use.keywords):
                        findings.add(
                            practice, Evidence(rel, use.line, label.format(_with_keyword(use.name, pattern)), cell)
                        )
        for use in facts.methods:
            for practice, pattern in self.by_kind["methods"].get(use.name, ()):
                if pattern.keyword is None or pattern.keyword in use.keywords:
                    findings.add(practice, Evidence(rel, use.line, f"call .{_with_keyword(use.name, pattern)}", cell))
        for use in facts.definitions:
            for practice, regex in self.definitions:
                if regex.search(use.name):
                    findings.add(practice, Evidence(rel, use.line, f"defines {use.name}", cell))


def _scoped(regex: re.Pattern[str]) -> str:
    """A pattern with its own flags, so several can share one regex: `(?i)^a$` becomes `(?i:^a$)`."""
    pattern = regex.pattern.removeprefix("(?i)")
    return f"(?i:{pattern})" if regex.flags & re.IGNORECASE else f"(?:{pattern})"


def _with_keyword(name: str, pattern: NamePattern) -> str:
    return f"{name}({pattern.keyword}=...)" if pattern.keyword else f"{name}(...)"


TEST_FOLDERS = frozenset({"tests", "test", "testing"})


def is_test_code(rel: str) -> bool:
    """A test module, a conftest, or anything in a tests folder."""
    *folders, name = rel.split("/")
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or bool(TEST_FOLDERS & set(folders))
    )


def _inspect_config(source: SourceFile, catalogue: Catalogue, findings: Findings) -> None:
    wanted = [
        (practice, detector)
        for practice in catalogue.practices
        if practice.id not in findings.full
        for detector in practice.detect.config
        if any(matches_glob(source.rel, pattern) for pattern in detector.files)
    ]
    if not wanted:
        return
    text = read_text(source, findings.skipped)
    if text is None:
        return
    # A key can only be in the parsed file if its name is in the text: most files need no parsing.
    wanted = [(practice, detector) for practice, detector in wanted if all(word in text for word in detector.words)]
    if not wanted:
        return
    entries = parse_config(source.name, text)
    if entries is None:
        findings.skipped.add(source.rel, "does not parse")
        return
    for practice, detector in wanted:
        if entry := _first_match(entries, detector):
            findings.add(practice, Evidence(source.rel, line_of(text, entry), _describe(entry)))
        elif detector.key is None and entries:
            findings.add(practice, Evidence(source.rel, 1, f"{len(entries)} settings"))


def _first_match(entries: list[Entry], detector: ConfigDetector) -> Entry | None:
    if detector.key is None:
        return None
    for entry in entries:
        if detector.key.fullmatch(entry.path) and (
            detector.value is None or (entry.value is not None and detector.value.search(entry.value))
        ):
            return entry
    return None


def _describe(entry: Entry) -> str:
    key = entry.path.replace(KEY_SEPARATOR, ".")
    if entry.value is None:
        return f"key {key}"
    value = " ".join(entry.value.split())
    return f"{key}: {value[:60]}{'...' if len(value) > 60 else ''}"


def _is_requirements(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.endswith(".txt") and (name.startswith("requirements") or rel.startswith("requirements/"))


def _inspect_requirements(source: SourceFile, catalogue: Catalogue, findings: Findings) -> None:
    practices = [practice for practice in catalogue.practices if practice.detect.requirements]
    text = read_text(source, findings.skipped) if practices else None
    for number, line in enumerate((text or "").splitlines(), start=1):
        requirement = line.split("#", 1)[0].strip()
        if requirement and not requirement.startswith("-"):  # options (-r, -e, --hash) are not requirements
            for practice in practices:
                findings.add(practice, Evidence(source.rel, number, f"requirement {requirement[:60]}"))
            return


def _is_dockerfile(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in ("dockerfile", "containerfile")
        or lowered.startswith("dockerfile.")
        or lowered.endswith(".dockerfile")
    )


def _inspect_dockerfile(source: SourceFile, catalogue: Catalogue, findings: Findings) -> None:
    practices = [practice for practice in catalogue.practices if practice.detect.dockerfile]
    text = read_text(source, findings.skipped) if practices else None
    for number, line in enumerate((text or "").splitlines(), start=1):
        words = line.split()
        if words and words[0].upper() == "FROM":
            for practice in practices:
                findings.add(practice, Evidence(source.rel, number, " ".join(words)[:80]))
            return
