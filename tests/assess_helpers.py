"""Small repositories written in a test, and the assessment of one, for the assess tests."""

from __future__ import annotations

from pathlib import Path

from mlops_ladder.assess import assess_project
from mlops_ladder.assess_result import Assessment


def write_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def found(result: Assessment) -> set[str]:
    return {item.practice.id for item in result.practices if item.found}


def evidence(result: Assessment, practice: str) -> list[str]:
    """`file:line detail` of each piece of evidence for one practice."""
    item = next(item for item in result.practices if item.practice.id == practice)
    return [f"{found.where} {found.detail}" for found in item.evidence]


def assess_files(root: Path, files: dict[str, str | bytes]) -> Assessment:
    return assess_project(write_repo(root, files))
