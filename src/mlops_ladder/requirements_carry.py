"""requirements.txt lines carried into pyproject.toml as PEP 508 dependencies, or reported by name.

Level 1 lists its requirements in requirements.txt and level 2 in pyproject.toml, so the requirements
the team added at level 1 move on that step. pip's requirements format is wider than PEP 508 (options,
local paths, `#egg=` URLs): each line is parsed with `packaging`, translated where a valid entry
exists (`git+https://...#egg=name` -> `name @ git+https://...`), and otherwise left in
requirements.txt and reported with the reason. Nothing invalid is ever written to pyproject.toml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from mlops_ladder.dependency_merge import Entry, add_dependencies, package_key, read_listing, same_requirement
from mlops_ladder.level1_carry import Carry, NotCarried

REQUIREMENTS = "requirements.txt"
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar", ".zip")
LOCAL_PATH = (
    "is a local path: pyproject.toml cannot depend on a relative path, and an absolute one breaks every "
    "other clone; publish the package or refer to it by URL (`name @ git+https://...`)"
)
SOURCE_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index", "--trusted-host")
OPTION_REASONS = {
    ("-r", "--requirement"): "includes another requirements file; carry what that file lists by hand",
    ("-c", "--constraint"): "constrains versions at install time, which pyproject.toml's dependencies cannot do",
    ("-e", "--editable"): "asks for an editable install, a choice of the install command; "
    "depend on the package by name or as `name @ URL`",
    SOURCE_OPTIONS: "says where pip looks for packages: that is the installer's setting "
    "(pip.conf or PIP_INDEX_URL), not the project's",
}


@dataclass(frozen=True)
class RequirementLine:
    text: str  # without its comment
    comment: str = ""
    above: tuple[str, ...] = ()  # comment lines directly above it


def carry_requirements(base: str, ours: str, pyproject: str) -> Carry:
    """pyproject.toml with the requirements the team added to requirements.txt, as PEP 508 entries.

    A package pyproject.toml already lists keeps its own requirement (reported). Options, local paths
    and lines that are no valid requirement stay in requirements.txt and are reported, never written.
    """
    old_lines = _requirement_lines(base)
    old_texts = {line.text for line in old_lines}
    old_comments = {comment for line in old_lines for comment in line.above}
    old_requirements = {package_key(str(r)): str(r) for r in map(_translate, old_texts) if isinstance(r, Requirement)}
    present = _listed_dependencies(pyproject)
    result = Carry(pyproject)
    additions: list[Entry] = []
    for line in _requirement_lines(ours):
        if line.text in old_texts:
            continue
        requirement = _translate(line.text)
        if isinstance(requirement, str):
            result.not_carried.append(NotCarried(line.text, requirement))
            continue
        key = package_key(str(requirement))
        if key in old_requirements and same_requirement(old_requirements[key], str(requirement)):
            continue  # the level-1 requirement, spelt differently
        if key in present or key in old_requirements or key in {package_key(e.requirement) for e in additions}:
            result.not_carried.append(NotCarried(line.text, _why_not_added(key, present)))
            continue
        above = tuple(comment for comment in line.above if comment not in old_comments)
        additions.append(Entry(str(requirement), line.comment, above))
        result.carried.append(str(requirement))
    if additions:
        result.text = add_dependencies(pyproject, additions)
    if any(Requirement(entry.requirement).url for entry in additions):
        result.text = _allow_direct_references(result.text)
    return result


def _allow_direct_references(pyproject: str) -> str:
    """Let hatchling build a project whose dependencies include `name @ URL` (it refuses them by default)."""
    doc = tomlkit.parse(pyproject)
    if doc.get("build-system", {}).get("build-backend") != "hatchling.build":
        return pyproject
    hatch = doc.setdefault("tool", tomlkit.table(is_super_table=True)).setdefault(
        "hatch", tomlkit.table(is_super_table=True)
    )
    metadata = hatch.setdefault("metadata", tomlkit.table())
    if metadata.get("allow-direct-references") is not True:
        metadata.add(tomlkit.comment("hatchling builds a project with `name @ URL` dependencies only when told to"))
        metadata.add("allow-direct-references", True)
        metadata.add(tomlkit.nl())
    return tomlkit.dumps(doc)


def _why_not_added(key: str, present: dict[str, str]) -> str:
    if key in present:
        return f"pyproject.toml already asks for {present[key]}; change that entry if you need this version"
    return f"level 2 does not list {key} itself; add it to pyproject.toml's dependencies if you need this version"


def _listed_dependencies(pyproject: str) -> dict[str, str]:
    """Every requirement pyproject.toml lists (main and optional), by package, with where it is listed."""
    project = tomlkit.parse(pyproject).get("project", {})
    arrays = {"[project] dependencies": project.get("dependencies")}
    arrays |= {f"the {name} extra": array for name, array in project.get("optional-dependencies", {}).items()}
    return {
        package_key(entry.requirement): f"{entry.requirement} ({where})"
        for where, array in arrays.items()
        for entry in read_listing(array).entries
    }


def _requirement_lines(text: str) -> list[RequirementLine]:
    """The lines of a requirements file that say something, each with its comments (pip's comment rule)."""
    lines: list[RequirementLine] = []
    pending: list[str] = []
    for raw in text.replace("\\\n", "").splitlines():
        comment_at = re.search(r"(^|\s)#", raw)
        body = raw[: comment_at.start()].strip() if comment_at else raw.strip()
        comment = raw[comment_at.start() :].strip() if comment_at else ""
        if body:
            lines.append(RequirementLine(body, comment, tuple(pending)))
            pending = []
        elif comment:
            pending.append(comment)
        else:
            pending = []  # a blank line: the comments above head a section, not the next line
    return lines


def _translate(line: str) -> Requirement | str:
    """A requirements-file line as a PEP 508 requirement, or why it cannot be one."""
    if line.startswith("-"):
        return _option_reason(line.split()[0].split("=")[0])
    if per_requirement := re.search(r"\s(--?[A-Za-z][\w-]*)", line):
        return f"carries the pip option {per_requirement.group(1)}, which pyproject.toml cannot hold"
    try:
        requirement = Requirement(line)
    except InvalidRequirement as error:
        if "://" in line or line.startswith(VCS_PREFIXES):
            return _from_url(line)
        if line.startswith((".", "/", "~")) or "/" in line or "\\" in line:
            return LOCAL_PATH
        return f"is not a valid requirement ({str(error).splitlines()[0]})"
    if requirement.url is not None and urlsplit(requirement.url).scheme.endswith("file"):
        return LOCAL_PATH
    if requirement.url is None and requirement.name.lower().endswith(ARCHIVE_SUFFIXES):
        return LOCAL_PATH  # a file name: pip installs the archive next to the requirements file
    return requirement


def _option_reason(option: str) -> str:
    for names, reason in OPTION_REASONS.items():
        if option in names:
            return f"the pip option {option} {reason}"
    return f"the pip option {option} has no place in pyproject.toml's dependencies"


def _from_url(line: str) -> Requirement | str:
    """`git+https://host/repo.git@v1#egg=name` (pip's form) as `name @ git+https://host/repo.git@v1`."""
    url, _, marker = (part.strip() for part in line.partition(" ;"))
    parts = urlsplit(url)
    if parts.scheme.endswith("file"):
        return LOCAL_PATH
    fragment = parse_qsl(parts.fragment, keep_blank_values=True)
    egg = dict(fragment).get("egg")
    kept = "&".join(f"{key}={value}" for key, value in fragment if key != "egg")  # subdirectory=... stays
    name = egg or _name_from_filename(parts.path.rsplit("/", 1)[-1])
    if not name:
        return "is a URL without a package name: end it with #egg=<name>, or write it as `<name> @ <url>`"
    try:
        return Requirement(f"{name} @ {urlunsplit(parts._replace(fragment=kept))}" + (f" ; {marker}" if marker else ""))
    except InvalidRequirement as error:
        return f"is not a valid requirement as `{name} @ <url>` ({str(error).splitlines()[0]})"


def _name_from_filename(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
