"""Level 1, exercise 2: score three rows of your own with predict.py.

python -m pytest docs/exercises/check_level1_score_rows.py --project=PATH
"""

from pathlib import Path

import pandas as pd


def test_three_rows_were_scored(project: Path):
    rows, scores = project / "my_rows.csv", project / "my_scores.csv"
    assert rows.is_file(), "No my_rows.csv: write three rows (copy the header and rows of sample_input.csv)."
    assert scores.is_file(), "No my_scores.csv: run `python predict.py my_rows.csv --output my_scores.csv`."
    given, scored = pd.read_csv(rows), pd.read_csv(scores)
    assert len(given) == 3, f"my_rows.csv has {len(given)} rows, not 3."
    assert "prediction" in scored.columns, "my_scores.csv has no prediction column: was it written by predict.py?"
    assert len(scored) == len(given), "my_scores.csv does not score every row of my_rows.csv: run predict.py again."
