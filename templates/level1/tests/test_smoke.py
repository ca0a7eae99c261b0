"""Smoke test: train.py, predict.py and the notebook run and give sane results.

Run it from the project folder with `python -m pytest -q`. It trains for real, so it
writes model.joblib and sample_input.csv next to train.py, as `python train.py` does.
"""

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

PROJECT = Path(__file__).resolve().parents[1]


def run_script(*args: str) -> subprocess.CompletedProcess:
    """Run a project script with this Python, as a user would in the project folder."""
    command = [sys.executable, *args]
    return subprocess.run(
        command, cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False
    )


def read_metrics(train_output: str) -> dict[str, float]:
    """Pick out the indented `name value` lines that train.py prints."""
    metrics = {}
    for line in train_output.splitlines():
        if line.startswith("  "):
            name, value = line.split()[:2]
            metrics[name] = float(value)
    return metrics


@pytest.fixture(scope="module")
def trained() -> str:
    """Train once for all the tests here and return what train.py printed."""
    result = run_script("train.py")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_train_saves_a_model_with_sane_metrics(trained: str) -> None:
    assert (PROJECT / "model.joblib").is_file()
    assert "(primary)" in trained
    metrics = read_metrics(trained)
    assert len(metrics) == 3, trained
    assert all(math.isfinite(value) for value in metrics.values()), metrics
    if "r2" in metrics:
        # RMSE is never below MAE; R2 above 0 means better than predicting the mean.
        assert metrics["rmse"] >= metrics["mae"] >= 0, metrics
        assert 0 < metrics["r2"] <= 1, metrics
    else:
        assert all(0 <= value <= 1 for value in metrics.values()), metrics
        # ROC AUC above 0.5 means the model ranks the classes better than a coin.
        assert metrics["roc_auc"] > 0.5, metrics


def test_predict_scores_every_row(trained: str, tmp_path: Path) -> None:
    rows = pd.read_csv(PROJECT / "sample_input.csv").head(3)
    source, output = tmp_path / "rows.csv", tmp_path / "predictions.csv"
    rows.to_csv(source, index=False)

    result = run_script("predict.py", str(source), "--output", str(output))

    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(output)
    assert len(scored) == len(rows)
    assert scored["prediction"].notna().all()


def test_predict_names_a_missing_column(trained: str, tmp_path: Path) -> None:
    rows = pd.read_csv(PROJECT / "sample_input.csv")
    dropped = rows.columns[0]
    rows.drop(columns=dropped).to_csv(tmp_path / "rows.csv", index=False)

    result = run_script("predict.py", str(tmp_path / "rows.csv"))

    assert result.returncode != 0
    assert dropped in result.stderr


def test_predict_without_a_model_says_to_train(tmp_path: Path) -> None:
    missing = tmp_path / "missing.joblib"

    result = run_script("predict.py", "rows.csv", "--model", str(missing))

    assert result.returncode != 0
    assert "run python train.py first" in result.stderr


def test_notebook_runs_top_to_bottom() -> None:
    notebook = nbformat.read(PROJECT / "notebook.ipynb", as_version=4)
    # Run it from the project folder, as Jupyter would. Outputs stay in memory only.
    folder = {"metadata": {"path": str(PROJECT)}}
    client = NotebookClient(notebook, kernel_name="python3", resources=folder)
    client.execute()

    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "(primary)" in printed
