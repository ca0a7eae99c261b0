"""The exploration notebook runs top to bottom, headless, the way `jupyter execute` runs it."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"


def test_explore_notebook_runs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The "python3" kernel runs on this same interpreter, the one the project is installed in.
    # It starts in the notebook's folder, as in Jupyter; the outputs stay in memory only.
    folder = {"metadata": {"path": str(NOTEBOOK.parent)}}
    NotebookClient(notebook, kernel_name="python3", timeout=120, resources=folder).execute()

    outputs = [output for cell in notebook.cells if cell.get("outputs") for output in cell.outputs]
    printed = "".join(output.get("text", "") for output in outputs)
    assert "train:" in printed
    assert any("image/png" in output.get("data", {}) for output in outputs), "no plot was drawn"
