"""Walk a repository for `assess` within bounds: no symlinks, no vendored or data folders, no huge files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Folders that hold someone else's code, generated files or data: never evidence, often huge.
SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".ipynb_checkpoints",
        ".eggs",
        "site-packages",
        "build",
        "dist",
        "data",
        "datasets",
        "mlruns",
        "mlartifacts",
    }
)
# A folder holding one of these is a virtual environment or a conda environment, whatever its name.
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")

MAX_FILE_BYTES = 1_000_000  # code and config files larger than this are generated or data, not written by hand
MAX_NOTEBOOK_BYTES = 20_000_000  # notebooks carry their outputs (plots as base64), so they get more room
MAX_FILES = 200_000  # the walk stops here and says so: a bound on time for any repository


class SourceFile:
    """A file the walk found; its size is looked up only for the files that are read (one stat call each)."""

    __slots__ = ("_size", "path", "rel")

    def __init__(self, path: str, rel: str) -> None:
        self.path = path  # a plain string: a Path per file costs more than reading most of them
        self.rel = rel  # relative to the assessed folder, with "/" separators
        self._size: int | None = None

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def size(self) -> int:
        if self._size is None:
            try:
                self._size = os.lstat(self.path).st_size
            except OSError:  # gone since the walk listed it: nothing to read
                self._size = 0
        return self._size


@dataclass
class Skipped:
    """Files the walk or the readers left out, and why, so a reader of the report can tell."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    truncated: bool = False

    def add(self, rel: str, reason: str) -> None:
        self.files.append((rel, reason))


def walk(root: Path, skipped: Skipped) -> Iterator[SourceFile]:
    """Every regular file under `root` worth reading, folder by folder, never following a symlink."""
    pending: list[tuple[str | Path, str]] = [(root, "")]
    seen = 0
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            skipped.add(prefix.rstrip("/") or ".", f"folder not readable ({error.strerror or error})")
            continue
        if prefix and any(entry.name in ENVIRONMENT_MARKERS for entry in entries):
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_FILES:
                skipped.truncated = True
                return
            rel = prefix + entry.name
            try:
                # follow_symlinks=False: a link is never followed, so a symlink loop cannot trap the walk.
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIPPED_FOLDERS and not entry.name.endswith(".egg-info"):
                        pending.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):  # FIFOs, sockets and devices are never opened
                    yield SourceFile(entry.path, rel)
            except OSError as error:
                skipped.add(rel, f"not readable ({error.strerror or error})")


def read_text(source: SourceFile, skipped: Skipped) -> str | None:
    """The file's text, or None (noted in `skipped`) when it is too large, binary or unreadable.

    Text that is not valid UTF-8 is read with replacement characters: a stray Latin-1 byte in a
    comment must not hide the code around it.
    """
    limit = MAX_NOTEBOOK_BYTES if source.rel.endswith(".ipynb") else MAX_FILE_BYTES
    if source.size > limit:
        skipped.add(source.rel, f"larger than {limit:,} bytes")
        return None
    try:
        with open(source.path, "rb") as file:
            raw = file.read(limit + 1)
    except OSError as error:
        skipped.add(source.rel, f"not readable ({error.strerror or error})")
        return None
    if len(raw) > limit:  # it grew since the walk saw it
        skipped.add(source.rel, f"larger than {limit:,} bytes")
        return None
    if b"\0" in raw[:8192]:
        skipped.add(source.rel, "binary")
        return None
    return raw.decode("utf-8-sig", errors="replace")
