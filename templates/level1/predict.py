"""Score a CSV file with the model that train.py saved.

    python predict.py INPUT.csv [--output predictions.csv] [--model model.joblib]

The input needs exactly the feature columns the model was trained on, in any order.
The output is the input with one more column, "prediction".
"""

import argparse
import sys
from pathlib import Path

import joblib
import pandas as pd

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Score a CSV file with the model.")
    parser.add_argument("input", type=Path, help="CSV file, one row per example")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("predictions.csv"),
        help="where to write the scored rows (default: predictions.csv)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=HERE / "model.joblib",
        help="model saved by train.py (default: model.joblib next to this script)",
    )
    return parser.parse_args()


def check_columns(rows: pd.DataFrame, expected: list[str]) -> None:
    """Stop with a message naming the columns that differ from the training data."""
    missing = [name for name in expected if name not in rows.columns]
    unexpected = [name for name in rows.columns if name not in expected]
    if missing:
        sys.exit(
            f"error: the input lacks column(s) {', '.join(missing)}; "
            "add them, the model was trained on them."
        )
    if unexpected:
        sys.exit(
            f"error: the input has unexpected column(s) {', '.join(unexpected)}; "
            "remove them (the target column does not belong in the input)."
        )


def main() -> None:
    args = parse_args()
    if not args.model.is_file():
        sys.exit(f"error: no model file at {args.model}; run python train.py first.")
    if not args.input.is_file():
        sys.exit(f"error: no input file at {args.input}; give the path of a CSV file.")

    model = joblib.load(args.model)
    rows = pd.read_csv(args.input)
    # A pipeline fitted on a DataFrame remembers its column names, in training order.
    expected = list(model.feature_names_in_)
    check_columns(rows, expected)

    scored = rows.copy()
    scored["prediction"] = model.predict(rows[expected])
    scored.to_csv(args.output, index=False)
    print(f"Wrote {len(scored)} predictions to {args.output}.")


if __name__ == "__main__":
    main()
