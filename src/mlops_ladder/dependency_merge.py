"""A semantic merge of pyproject.toml's dependency lists: the next level's list plus the team's own changes.

A line-based merge conflicts whenever the team and the next level both append to the same list,
which is what nearly every upgrade does, and it can also "succeed" with two different requirements
for one package. So the dependency arrays are merged by package first (the team's additions,
removals and re-pins applied to the next level's array, every comment of both kept), then the rest
of the file is merged by lines as usual.

When both sides set a version for the same package, differently, neither wins: that one entry gets
inline conflict markers showing both versions, and the caller leaves the file as a git conflict.
Every package the team touched gets an outcome that says what the merge did with it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from tomlkit.items import Array, Null, Whitespace
from tomlkit.toml_document import TOMLDocument

from mlops_ladder.gitrepo import merge_texts

PYPROJECT = "pyproject.toml"
DEFAULT_INDENT = "  "

# What the merge did with a package the team touched, in the order the summary lists them.
OUTCOMES = {
    "conflict": "conflict: yours {yours} vs {label} {theirs}",
    "added": "your addition kept: {yours}",
    "pinned": "your version kept: {yours} ({label} did not change it)",
    "kept-dropped": "{label} drops it, but you changed it, so yours stays: {yours}",
    "removed": "your removal kept",
    "same": "{label} makes the same change: {theirs}",
    "comment": "your comment kept",
}


@dataclass(frozen=True)
class PackageOutcome:
    package: str  # the package, with its list when that is not [project].dependencies: "pytest (dev)"
    action: str  # a key of OUTCOMES
    yours: str | None = None  # the team's requirement; None when they removed it
    theirs: str | None = None  # the next level's requirement; None when it has none
    label: str = "the next level"

    def __str__(self) -> str:
        details = OUTCOMES[self.action].format(
            yours=self.yours or "(removed)", theirs=self.theirs or "(none)", label=self.label
        )
        return f"{self.package}: {details}"


@dataclass(frozen=True)
class Entry:
    """One requirement of a dependency array, with the comments that belong to it."""

    requirement: str
    comment: str = ""  # on the same line, "# ..." included
    above: tuple[str, ...] = ()  # whole-line comments directly above it
    conflict: tuple[str, ...] = ()  # when set, these lines (with markers) replace the entry


@dataclass
class Listing:
    """A dependency array as entries, the comment lines after its last entry, and its indent."""

    entries: list[Entry]
    trailing: list[str]
    indent: str = DEFAULT_INDENT


@dataclass
class PyprojectMerge:
    text: str  # holds conflict markers when `conflicted`
    packages: list[PackageOutcome] = field(default_factory=list)

    @property
    def conflicted(self) -> bool:
        return any(outcome.action == "conflict" for outcome in self.packages)


def merge_pyproject(base: str, ours: str, theirs: str, label: str = "the next level") -> PyprojectMerge | None:
    """The merged file and what happened to each package the team touched.

    None when the file cannot be merged this way (it is not valid TOML, or lines outside the
    dependency lists conflict): git's own line merge, conflict or not, then stands.
    `label` names the next level in the outcomes and in the conflict markers.
    """
    try:
        base_doc, our_doc, their_doc = (tomlkit.parse(text) for text in (base, ours, theirs))
    except tomlkit.exceptions.ParseError:
        return None
    outcomes: list[PackageOutcome] = []
    conflicts: dict[str, tuple[str, ...]] = {}
    for path, their_array in _dependency_arrays(their_doc):
        merged, array_outcomes = _merge_array(_get(base_doc, path), _get(our_doc, path), their_array, label)
        suffix = "" if path == ("project", "dependencies") else f" ({path[-1]})"
        outcomes += [replace(outcome, package=outcome.package + suffix) for outcome in array_outcomes]
        _set(our_doc, path, _copy(their_array) if merged is None else _render(merged, conflicts))
        _set(base_doc, path, _copy(their_array))
    text = merge_texts(tomlkit.dumps(base_doc), tomlkit.dumps(our_doc), theirs)
    if text is None:
        return None
    return PyprojectMerge(_write_conflicts(text, conflicts), outcomes)


def add_dependencies(pyproject: str, additions: list[Entry]) -> str:
    """pyproject.toml with `additions` appended to [project].dependencies, comments and all."""
    doc = tomlkit.parse(pyproject)
    listing = read_listing(doc["project"]["dependencies"])
    listing.entries += additions
    doc["project"]["dependencies"] = _render(listing, {})
    return tomlkit.dumps(doc)


def package_key(requirement: str) -> str:
    """The package a requirement is for, normalised; its marker too, so `numpy<2; python_version<'3.12'`
    and `numpy>=2; python_version>='3.12'` stay two entries."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement.strip()
    return canonicalize_name(parsed.name) + (f"; {parsed.marker}" if parsed.marker else "")


def same_requirement(first: str, second: str) -> bool:
    """True when two requirements ask for the same thing, however they are spelt (`A == 1` and `a==1`)."""
    try:
        return Requirement(first) == Requirement(second)
    except InvalidRequirement:
        return first.strip() == second.strip()


def read_listing(array: Array | None) -> Listing:
    """An array's requirements with their comments, the comments after the last one, and its indent.

    tomlkit's public API gives an array's values but not its comments, so this reads its item
    groups (value, indent, comment), which tomlkit has kept since 0.11.
    """
    entries: list[Entry] = []
    pending: list[str] = []
    indent = None
    for group in array._value if array is not None else []:
        comment = group.comment.as_string().strip() if group.comment is not None else ""
        if group.value is None or isinstance(group.value, Null | Whitespace):
            if comment:
                pending.append(comment)
            continue
        if indent is None and group.indent is not None and "\n" in group.indent.as_string():
            indent = group.indent.as_string().rsplit("\n", 1)[1]
        entries.append(Entry(str(group.value), comment, tuple(pending)))
        pending = []
    return Listing(entries, pending, indent or DEFAULT_INDENT)


def _merge_array(
    base: Array | None, ours: Array | None, theirs: Array, label: str
) -> tuple[Listing | None, list[PackageOutcome]]:
    """The next level's entries with the team's changes applied (None: the team left the list alone),
    and an outcome per package they touched."""
    old_listing, our_listing, merged = read_listing(base), read_listing(ours), read_listing(theirs)
    if (our_listing.entries, our_listing.trailing) == (old_listing.entries, old_listing.trailing):
        return None, []
    old = {package_key(entry.requirement): entry for entry in old_listing.entries}
    new = {package_key(entry.requirement): entry for entry in merged.entries}
    base_comments = {line for entry in old_listing.entries for line in entry.above} | set(old_listing.trailing)
    outcomes = []
    previous = None  # the last of the team's packages placed so far: additions follow it
    for entry in our_listing.entries:
        key = package_key(entry.requirement)
        own_comments = tuple(line for line in entry.above if line not in base_comments)
        outcome = _apply(merged, key, old.get(key), replace(entry, above=own_comments), new.get(key), previous, label)
        if outcome is not None:
            outcomes.append(outcome)
        elif own_comments:  # untouched requirement, new comment above it
            _attach_comments(merged, key, own_comments)
        previous = key if _position(merged, key) is not None else previous
    kept = {package_key(entry.requirement) for entry in our_listing.entries}
    for key in [key for key in old if key not in kept]:
        outcomes.append(_apply_removal(merged, key, old[key], new.get(key), label))
    merged.trailing += [line for line in our_listing.trailing if line not in base_comments]
    return merged, outcomes


def _apply(
    merged: Listing, key: str, before: Entry | None, ours: Entry, theirs: Entry | None, previous: str | None, label: str
) -> PackageOutcome | None:
    """Apply one of the team's entries to `merged`; the outcome, or None when they did not touch it."""
    outcome = PackageOutcome(key, "", ours.requirement, theirs.requirement if theirs else None, label)
    if before is not None and (before.requirement, before.comment) == (ours.requirement, ours.comment):
        return None
    if before is not None and same_requirement(before.requirement, ours.requirement):
        if theirs is None:
            return None  # only a comment changed, on a package the next level drops
        _put(merged, key, replace(theirs, comment=ours.comment, above=theirs.above + ours.above))
        return replace(outcome, action="comment")
    if theirs is None:  # new to both lists, or re-pinned by the team and dropped by the next level
        _insert_after(merged, previous, ours)
        return replace(outcome, action="added" if before is None else "kept-dropped")
    if same_requirement(theirs.requirement, ours.requirement):
        _put(merged, key, replace(theirs, comment=ours.comment or theirs.comment, above=theirs.above + ours.above))
        return replace(outcome, action="same")
    if before is not None and same_requirement(before.requirement, theirs.requirement):
        _put(merged, key, replace(ours, above=theirs.above + ours.above))
        return replace(outcome, action="pinned")
    _put(merged, key, _conflict_entry(ours, theirs, label, merged.indent))
    return replace(outcome, action="conflict")


def _apply_removal(merged: Listing, key: str, before: Entry, theirs: Entry | None, label: str) -> PackageOutcome:
    """The team removed `key`: it stays removed unless the next level changed its version."""
    if theirs is None or same_requirement(before.requirement, theirs.requirement):
        if theirs is not None:
            merged.entries.pop(_index(merged, key))
        return PackageOutcome(key, "removed", None, None, label)
    removed = Entry(f"# (you removed {key})")
    _put(merged, key, _conflict_entry(removed, theirs, label, merged.indent))
    return PackageOutcome(key, "conflict", None, theirs.requirement, label)


def _conflict_entry(ours: Entry, theirs: Entry, label: str, indent: str) -> Entry:
    """An entry standing for both versions between conflict markers (the team's comment lines stay above)."""
    lines = ["<<<<<<< HEAD (yours)", *_entry_lines(ours, indent), "=======", *_entry_lines(theirs, indent)]
    return Entry(theirs.requirement, above=theirs.above + ours.above, conflict=(*lines, f">>>>>>> {label}"))


def _entry_lines(entry: Entry, indent: str) -> list[str]:
    if entry.requirement.startswith("#"):  # a removal: no requirement, only a note
        return [indent + entry.requirement]
    line = f"{indent}{tomlkit.string(entry.requirement).as_string()},"
    return [line + (f"  {entry.comment}" if entry.comment else "")]


def _position(merged: Listing, key: str) -> int | None:
    return next((i for i, entry in enumerate(merged.entries) if package_key(entry.requirement) == key), None)


def _index(merged: Listing, key: str) -> int:
    """The position of `key`, which the caller knows is in `merged`."""
    at = _position(merged, key)
    if at is None:
        raise KeyError(key)
    return at


def _put(merged: Listing, key: str, entry: Entry) -> None:
    merged.entries[_index(merged, key)] = entry


def _insert_after(merged: Listing, previous: str | None, entry: Entry) -> None:
    at = _position(merged, previous) if previous is not None else None
    merged.entries.insert(0 if previous is None else len(merged.entries) if at is None else at + 1, entry)


def _attach_comments(merged: Listing, key: str, comments: tuple[str, ...]) -> None:
    at = _position(merged, key)
    if at is None:  # the next level dropped the package: keep the team's words anyway
        merged.trailing += comments
    else:
        merged.entries[at] = replace(merged.entries[at], above=merged.entries[at].above + comments)


def _render(listing: Listing, conflicts: dict[str, tuple[str, ...]]) -> Array:
    """A multi-line TOML array of `listing`; each conflict entry becomes a placeholder recorded in `conflicts`."""
    lines = ["["]
    for entry in listing.entries:
        lines += [listing.indent + comment for comment in entry.above]
        if entry.conflict:
            placeholder = f"mlops-ladder-conflict-{len(conflicts)}"
            conflicts[f"{listing.indent}{tomlkit.string(placeholder).as_string()},"] = entry.conflict
            entry = Entry(placeholder)
        lines += _entry_lines(entry, listing.indent)
    lines += [listing.indent + comment for comment in listing.trailing]
    return _parse_array("\n".join([*lines, "]"]))


def _write_conflicts(text: str, conflicts: dict[str, tuple[str, ...]]) -> str:
    """Replace each placeholder line with its conflict block (markers at the start of the line, as git writes them)."""
    lines = text.split("\n")
    return "\n".join(line for raw in lines for line in conflicts.get(raw, (raw,)))


def _dependency_arrays(doc: TOMLDocument) -> list[tuple[tuple[str, ...], Array]]:
    """Each dependency array of `doc` with its path: [project].dependencies, then the extras."""
    project = doc.get("project", {})
    paths: list[tuple[str, ...]] = [("project", "dependencies")] if "dependencies" in project else []
    extras = project.get("optional-dependencies", {})
    paths += [("project", "optional-dependencies", name) for name in extras]
    return [(path, array) for path in paths if (array := _get(doc, path)) is not None]


def _get(doc: TOMLDocument, path: tuple[str, ...]) -> Array | None:
    """The dependency array at `path`; None when a key on the way is missing."""
    node: Any = doc  # tomlkit types every value it reads as Any
    for key in path:
        if key not in node:
            return None
        node = node[key]
    array: Array = node  # a dependency list is a TOML array in every pyproject.toml pip accepts
    return array


def _set(doc: TOMLDocument, path: tuple[str, ...], value: Array) -> None:
    node: MutableMapping[str, Any] = doc
    for key in path[:-1]:
        node = node.setdefault(key, tomlkit.table())
    node[path[-1]] = value


def _copy(array: Array) -> Array:
    return _parse_array(array.as_string())


def _parse_array(text: str) -> Array:
    """The TOML array written in `text`, parsed as the value of a throwaway key."""
    array: Array = tomlkit.parse(f"x = {text}")["x"]  # tomlkit types it Any; the text is an array
    return array
