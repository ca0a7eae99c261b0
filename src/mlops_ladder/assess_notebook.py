"""The code cells of a Jupyter notebook, read as the JSON it is (no nbformat, no kernel)."""

from __future__ import annotations

import json
from dataclasses import dataclass

# Cell magics whose body is still Python; any other `%%` cell (bash, html, sql...) is not.
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")


@dataclass(frozen=True)
class CodeCell:
    number: int  # 1-based, counting every cell as Jupyter shows them
    source: str


def code_cells(text: str) -> list[CodeCell] | None:
    """The notebook's code cells as Python text; None when it is not a notebook."""
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None
    found = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue  # markdown cells are words, never evidence
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        if isinstance(text, str) and (python := _without_magics(text)) is not None:
            found.append(CodeCell(number, python))
    return found


def _without_magics(source: str) -> str | None:
    """IPython's `%magic`, `!shell` and `?help` lines blanked (line numbers stay); None for a non-Python cell."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        if not lines[0].startswith(PYTHON_CELL_MAGICS):
            return None
        lines[0] = ""
    return "\n".join("" if line.lstrip().startswith(("%", "!", "?")) else line for line in lines)
