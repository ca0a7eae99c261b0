"""Find each practice's evidence in a repository: every file read at most once, by the parser its kind needs."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from mlops_ladder.assess_catalogue import KEY_SEPARATOR, Catalogue, ConfigDetector, NamePattern, Practice
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

    def add(self, practice: Practice, evidence: Evidence) -> None:
        found = self.evidence[practice.id]
        if len(found) < MAX_EVIDENCE:
            found.append(evidence)


def find_evidence(root: Path, catalogue: Catalogue) -> Findings:
    findings = Findings({practice.id: [] for practice in catalogue.practices})
    python = PythonIndex(catalogue.practices)
    named_files = [(practice, practice.detect.files) for practice in catalogue.practices if practice.detect.files]
    for source in walk(root, findings.skipped):
        findings.scanned += 1
        _inspect(source, catalogue, python, findings)
        for practice, patterns in named_files:
            if source.size and any(matches_glob(source.rel, pattern) for pattern in patterns):
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


class PythonIndex:
    """The catalogue's Python detectors keyed by the name they look for, so each use is one dict lookup."""

    def __init__(self, practices: tuple[Practice, ...]) -> None:
        self.imports: dict[str, list[tuple[Practice, str]]] = defaultdict(list)
        self.by_kind: dict[str, dict[str, list[tuple[Practice, NamePattern]]]] = {
            kind: defaultdict(list) for kind in ("calls", "methods", "decorators", "bases")
        }
        self.definitions: list[tuple[Practice, re.Pattern[str]]] = []
        self.tests: list[Practice] = []
        triggers: list[str] = []
        for practice in practices:
            if detector := practice.detect.python:
                self._add(practice, detector, triggers)
        # A file none of these words appear in cannot hold evidence: it is not parsed at all.
        self.trigger = re.compile("|".join(triggers)) if triggers else None

    def _add(self, practice: Practice, detector, triggers: list[str]) -> None:
        for module in detector.imports:
            self.imports[module.split(".")[0]].append((practice, module))
            triggers.append(re.escape(module.split(".")[0]))
        for kind in ("calls", "decorators", "bases"):
            for pattern in getattr(detector, kind):
                root = pattern.name.split(".")[0]
                self.by_kind[kind][root].append((practice, pattern))
                triggers.append(re.escape(root))
        for pattern in detector.methods:
            method = pattern.name.split("(")[0]
            self.by_kind["methods"][method].append((practice, pattern))
            triggers.append(re.escape(method))
        if detector.definitions:
            self.definitions.append((practice, detector.definitions))
            flags = "(?i:" if detector.definitions.flags & re.IGNORECASE else "(?:"
            unanchored = re.sub(r"^\(\?i\)", "", detector.definitions.pattern).replace("^", "").replace("$", "")
            triggers.append(flags + unanchored + ")")
        if detector.tests:
            self.tests.append(practice)

    def inspect_module(self, source: SourceFile, findings: Findings) -> None:
        if is_test_code(source.rel):
            self._inspect_tests(source, findings)
            return
        text = read_text(source, findings.skipped)
        if text is None or not (self.trigger and self.trigger.search(text)):
            return
        if (facts := parse_python(text)) is None:
            findings.skipped.add(source.rel, "not valid Python 3")
            return
        self._match(facts, source.rel, None, findings)

    def _inspect_tests(self, source: SourceFile, findings: Findings) -> None:
        """Test code is evidence of tests only: a test that calls MLflow does not make the project track runs."""
        name = source.name
        if not self.tests or not (name.startswith("test_") or name.endswith("_test.py")):
            return
        text = read_text(source, findings.skipped)
        if text is None or "def test" not in text:
            return
        if (facts := parse_python(text)) is None:
            findings.skipped.add(source.rel, "not valid Python 3")
            return
        for use in facts.definitions:
            if use.name.startswith("test"):
                for practice in self.tests:
                    findings.add(practice, Evidence(source.rel, use.line, f"test {use.name}"))

    def inspect_notebook(self, source: SourceFile, findings: Findings) -> None:
        text = read_text(source, findings.skipped)
        cells = code_cells(text) if text is not None else None
        if text is not None and cells is None:
            findings.skipped.add(source.rel, "not a notebook (invalid JSON)")
        for cell in cells or []:
            if self.trigger and self.trigger.search(cell.source) and (facts := parse_python(cell.source)):
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
                        findings.add(practice, Evidence(rel, use.line, label.format(_with_keyword(use.name, pattern)), cell))
        for use in facts.methods:
            for practice, pattern in self.by_kind["methods"].get(use.name, ()):
                if pattern.keyword is None or pattern.keyword in use.keywords:
                    findings.add(practice, Evidence(rel, use.line, f"call .{_with_keyword(use.name, pattern)}", cell))
        for use in facts.definitions:
            for practice, regex in self.definitions:
                if regex.search(use.name):
                    findings.add(practice, Evidence(rel, use.line, f"defines {use.name}", cell))


def _with_keyword(name: str, pattern: NamePattern) -> str:
    return f"{name}({pattern.keyword}=...)" if pattern.keyword else f"{name}(...)"


TEST_FOLDERS = frozenset({"tests", "test", "testing"})


def is_test_code(rel: str) -> bool:
    """A test module, a conftest, or anything in a tests folder."""
    *folders, name = rel.split("/")
    return (
        name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or bool(TEST_FOLDERS & set(folders))
    )


def _inspect_config(source: SourceFile, catalogue: Catalogue, findings: Findings) -> None:
    wanted = [
        (practice, detector)
        for practice in catalogue.practices
        for detector in practice.detect.config
        if any(matches_glob(source.rel, pattern) for pattern in detector.files)
    ]
    if not wanted:
        return
    text = read_text(source, findings.skipped)
    if text is None:
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
    return lowered in ("dockerfile", "containerfile") or lowered.startswith("dockerfile.") or lowered.endswith(
        ".dockerfile"
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
