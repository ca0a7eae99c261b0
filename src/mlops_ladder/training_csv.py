"""Check a user's training CSV before a project is built on it: one sentence and the fix, never a traceback.

The generated projects read the file with pandas' defaults (comma-separated, UTF-8, pandas' missing
markers), so these checks read it the same way with the csv module: the CLI stays free of pandas.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_ladder.errors import LadderError

# The cells pandas reads as missing by default (`pd.read_csv(na_values=...)` documentation).
MISSING = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A"}
MISSING |= {"NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|Inf|INF)")
# The templates hold out this share of the rows for testing (TEST_SIZE / data.test_size).
TEST_SHARE = 0.2
MIN_ROWS = 10
# Classification on decimal numbers: more distinct values than this means a quantity, not classes.
MAX_DECIMAL_CLASSES = 20
# Signatures of files people export by mistake instead of a CSV.
BINARY_KINDS = {b"PK\x03\x04": "a zip archive or an Excel .xlsx file", b"PAR1": "a Parquet file", b"%PDF": "a PDF"}
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
AS_CSV = "Export the table as a comma-separated CSV file in UTF-8 (Excel: Save As > CSV UTF-8)."
TARGET_FIX = "Pass the column to predict with --data target_column=<column>."


def check_training_csv(path: Path, target: str, task: str) -> None:
    """Refuse, with the reason and the fix, a file the generated project could not train on."""
    _check_is_text_file(path)
    values = _target_cells(path, target)
    rows, name = len(values), path.name
    if rows == 0:
        raise LadderError(f"{name} has a header line but no data rows.", "Export the table again, with its rows.")
    if rows < MIN_ROWS:
        raise LadderError(
            f"{name} has {rows} data row(s); training and testing a model needs at least {MIN_ROWS}.",
            "Add rows to the file.",
        )
    present = [value for value in values if value not in MISSING]
    if not present:
        raise LadderError(f"The column {target!r} of {name} is empty in every row.", f"Fill it in. {TARGET_FIX}")
    if task == "regression":
        _check_regression_target(present, target)
    else:
        _check_classes(present, target, name)


def _check_is_text_file(path: Path) -> None:
    if not path.exists():
        raise LadderError(f"There is no file at {path}.", "Check the CSV path (csv_path) you gave.")
    if path.is_dir():
        raise LadderError(f"{path} is a folder, not a CSV file.", "Give the path of the CSV file itself.")
    with path.open("rb") as file:
        start = file.read(65536)
    if not start.strip():
        raise LadderError(f"{path.name} is empty.", "Export the table again, with a header line and its rows.")
    if start.startswith(UTF16_MARKS):
        raise LadderError(
            f"{path.name} is UTF-16 text; the project reads CSV files as UTF-8.",
            f"Convert it: `iconv -f UTF-16 -t UTF-8 {path.name} > utf8.csv`, or {AS_CSV[0].lower()}{AS_CSV[1:]}",
        )
    kind = next((kind for magic, kind in BINARY_KINDS.items() if start.startswith(magic)), None)
    if kind or b"\x00" in start:
        raise LadderError(f"{path.name} is not a text CSV file (it looks like {kind or 'binary data'}).", AS_CSV)


@contextmanager
def _no_field_size_limit() -> Iterator[None]:
    # pandas reads cells of any length; the csv module stops at 128 KB unless told otherwise.
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _target_cells(path: Path, target: str) -> list[str]:
    """The target column's cell in every data row (blank lines skipped, as pandas skips them)."""
    values: list[str] = []
    # utf-8-sig: a byte-order mark before the header (Excel's "CSV UTF-8") is not part of the first name.
    with path.open(encoding="utf-8-sig", newline="") as file, _no_field_size_limit():
        reader = csv.reader(file)
        try:
            header = _checked_header(next(reader, []), path.name, target)
            position = header.index(target)
            for row in reader:
                if not row:
                    continue
                if len(row) > len(header):
                    raise LadderError(
                        f"Line {reader.line_num} of {path.name} has {len(row)} fields; the header has {len(header)}.",
                        "Fix that line (a comma inside a value must be in double quotes).",
                    )
                values.append(row[position] if position < len(row) else "")
        except UnicodeDecodeError:
            raise LadderError(
                f"{path.name} is not UTF-8 text (line {reader.line_num + 1} has bytes UTF-8 cannot read).",
                f"Convert it: `iconv -f latin1 -t UTF-8 {path.name} > utf8.csv` (if it came from Windows, try "
                "-f cp1252), or save it from Excel as CSV UTF-8.",
            ) from None
        except csv.Error as error:
            raise LadderError(f"Line {reader.line_num} of {path.name} is not valid CSV ({error}).", AS_CSV) from None
    return values


def _checked_header(header: list[str], name: str, target: str) -> list[str]:
    if not any(cell.strip() for cell in header):
        raise LadderError(f"{name} has no header line (its first line is blank).", "Put the column names on line 1.")
    if len(header) == 1 and (separator := next((s for s in ";\t|" if s in header[0]), None)):
        shown = "a tab" if separator == "\t" else repr(separator)
        raise LadderError(f"{name} is separated by {shown}, not by commas.", AS_CSV)
    unnamed = [str(position + 1) for position, cell in enumerate(header) if not cell.strip()]
    if unnamed:
        raise LadderError(
            f"Column {', '.join(unnamed)} of {name} has no name in the header line.",
            "Name every column (a pandas index saved by to_csv has none: save with index=False).",
        )
    twice = [column for column, count in Counter(header).items() if count > 1]
    if twice:
        raise LadderError(
            f"{name} has the column name {twice[0]!r} more than once.", "Rename the copies so every name is unique."
        )
    if target not in header:
        shown = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        raise LadderError(f"{name} has no column {target!r} (it has: {shown}).", TARGET_FIX)
    return header


def _check_regression_target(present: list[str], target: str) -> None:
    text = next((value for value in present if not NUMBER.fullmatch(value.strip())), None)
    if text is not None:
        raise LadderError(
            f"The column {target!r} holds text ({text!r}), and regression predicts numbers.",
            "Use --data task=classification to predict it as classes, or a numeric target column "
            "(decimals written with a point, not a comma).",
        )


def _check_classes(present: list[str], target: str, name: str) -> None:
    """Classes a stratified train/test split can divide: at least two, each with two rows or more.

    The rule for a numeric target: whole numbers are classes (0/1, 1-5 ratings); decimal numbers
    with more than MAX_DECIMAL_CLASSES distinct values are a quantity, which regression predicts.
    """
    classes = Counter(present)
    if all(NUMBER.fullmatch(value.strip()) for value in classes):
        decimals = [value for value in classes if not float(value).is_integer()]
        if decimals and len(classes) > MAX_DECIMAL_CLASSES:
            raise LadderError(
                f"The column {target!r} holds {len(classes)} distinct decimal numbers (such as {decimals[0]}): "
                "a quantity to predict by regression, not classes.",
                "Use --data task=regression, or group the values into classes first.",
            )
    if len(classes) < 2:
        raise LadderError(
            f"The column {target!r} of {name} holds one class only ({present[0]!r}); a classifier needs two or more.",
            f"Add rows of the other classes. {TARGET_FIX}",
        )
    rare = [label for label, count in classes.items() if count < 2]
    if rare:
        raise LadderError(
            f"The class {rare[0]!r} of {target!r} has a single row in {name} ({len(rare)} class(es) do), "
            "and the train/test split needs two rows of every class.",
            "Add rows for those classes, or remove those rows.",
        )
    rows = len(present)
    test_rows = math.ceil(rows * TEST_SHARE)
    if min(test_rows, rows - test_rows) < len(classes):
        raise LadderError(
            f"{name} has {rows} labelled rows for {len(classes)} classes: too few for every class to appear "
            f"in both the training part and the {TEST_SHARE:.0%} test part.",
            "Add rows, or merge rare classes.",
        )
