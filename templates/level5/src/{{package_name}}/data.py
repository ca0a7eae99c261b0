"""The data: load it, check its schema, type its features, split it with a fixed seed, and
fingerprint its content."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

from .config import DataParams, Params, UserError

# Datasets that ship with scikit-learn, so the project runs offline with no download.
BUNDLED_LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "diabetes": datasets.load_diabetes,
}


# A feature's type, as the model's MLflow signature names it.
NUMBER = "double"
TEXT = "string"


class SchemaError(UserError):
    """The data does not have the columns or types the project expects."""


class Split(NamedTuple):
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


class TrainingData(NamedTuple):
    frame: pd.DataFrame  # the whole dataset, features and target
    fingerprint: str  # SHA-256 of its content (see fingerprint)
    split: Split


def load_dataset(data: DataParams) -> pd.DataFrame:
    """The whole dataset as one frame: feature columns plus the target column `data.target`."""
    if data.source == "csv":
        return read_csv(data)
    frame = BUNDLED_LOADERS[data.source](as_frame=True).frame
    # Names such as "mean radius" become "mean_radius": valid identifiers are easier to use as
    # JSON keys and column names everywhere the features travel later.
    frame.columns = [re.sub(r"\W+", "_", str(column)).strip("_") for column in frame.columns]
    return frame.rename(columns={"target": data.target})


def read_csv(data: DataParams) -> pd.DataFrame:
    if data.path is None or not data.path.is_file():
        raise SchemaError(f"No CSV file at {data.path}. Fix: correct data.path in params.yaml.")
    try:
        return pd.read_csv(data.path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SchemaError(f"{data.path} is not a readable CSV file ({error}).") from None


def feature_columns(df: pd.DataFrame, data: DataParams) -> list[str]:
    """The configured features, or every column but the target when none are listed."""
    return list(data.features) or [column for column in df.columns if column != data.target]


def validate_schema(df: pd.DataFrame, data: DataParams) -> None:
    """Stop with a SchemaError naming the column when the data cannot be trained on."""
    if data.target not in df.columns:
        raise SchemaError(
            f"The target column '{data.target}' is not in the data "
            f"(columns: {', '.join(map(str, df.columns))}). "
            "Fix: set data.target in params.yaml to the column to predict."
        )
    if df[data.target].isna().any():
        rows = df.index[df[data.target].isna()].tolist()[:5]
        raise SchemaError(
            f"The target column '{data.target}' has missing values (rows {rows}). "
            "Fix: drop or fill those rows."
        )
    features = feature_columns(df, data)
    if not features:
        raise SchemaError("The data has no feature columns besides the target. Fix: add features.")
    if data.target in features:
        raise SchemaError(
            f"The target column '{data.target}' is also listed in data.features. "
            "Fix: remove it from data.features in params.yaml (a model must not see its answer)."
        )
    for column in features:
        if column not in df.columns:
            raise SchemaError(
                f"The feature column '{column}' is not in the data. "
                "Fix: correct data.features in params.yaml or add the column."
            )
    if len(df) < 10:
        raise SchemaError(f"The data has only {len(df)} rows; training and testing need 10.")


def feature_types(x: pd.DataFrame) -> dict[str, str]:
    """Each feature's type, decided by the training data: a number or text (a category).

    The names are the MLflow signature's types. The signature records them with the model, so
    scoring a CSV, the service's request schema and the drift report all treat a column alike.
    """
    return {
        str(column): NUMBER if pd.api.types.is_numeric_dtype(x[column]) else TEXT
        for column in x.columns
    }


def as_model_input(rows: pd.DataFrame, types: dict[str, str], source: str) -> pd.DataFrame:
    """The columns of `types`, in that order, in the form the model was trained on.

    Numbers become float64 and text becomes Python strings; a missing value is NaN in both, which
    the pipeline fills in (see features.py). A value that is not a number in a number column
    stops with a SchemaError naming the column.
    """
    columns = {}
    for name, kind in types.items():
        column = rows[name]
        if kind == TEXT:
            # A CSV column of codes such as 1, 2, 3 reads as numbers: compare them as text.
            columns[name] = column.astype(str).astype(object).where(column.notna(), np.nan)
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        if (numbers.isna() & column.notna()).any():
            example = first_non_numeric(column)
            raise SchemaError(
                f"The column '{name}' of {source} must be numeric but holds {example!r}. "
                "Fix: clean that column."
            )
        columns[name] = numbers.astype("float64")
    return pd.DataFrame(columns, index=rows.index)


def first_non_numeric(column: pd.Series) -> object:
    """The first value of a column that cannot be read as a number, to show in an error."""
    as_numbers = pd.to_numeric(column, errors="coerce")
    bad = column[as_numbers.isna() & column.notna()]
    return bad.iloc[0] if len(bad) else column.dtype


def split(df: pd.DataFrame, data: DataParams, stratify: bool = True) -> Split:
    """Train and test parts, the same for the same data and `data.seed`.

    Stratifying (classification) keeps each class's share equal in both parts.
    """
    features = df[feature_columns(df, data)]
    x = as_model_input(features, feature_types(features), source="the data")
    y = df[data.target]
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x,
            y,
            test_size=data.test_size,
            random_state=data.seed,
            stratify=y if stratify else None,
        )
    except ValueError as error:
        # Raised when a class has too few rows to appear in both parts.
        raise SchemaError(
            f"Cannot split the data on '{data.target}' ({error}). "
            "Fix: add rows for the rare classes."
        ) from None
    return Split(x_train, x_test, y_train, y_test)


def fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of the data's columns, types and values: the same data gives the same string."""
    digest = hashlib.sha256()
    digest.update(repr([(str(name), str(dtype)) for name, dtype in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def check_fingerprint(actual: str, data: DataParams) -> None:
    """With data.sha256 set, refuse data whose fingerprint is another one."""
    if data.sha256 is not None and actual != data.sha256:
        source = data.path if data.source == "csv" else data.source
        raise SchemaError(
            f"The data at {source} has fingerprint {actual}, but data.sha256 in params.yaml "
            f"expects {data.sha256}. Fix: restore the expected data, or set data.sha256 to the "
            "new fingerprint (or null) if the change is intended."
        )


def load_training_data(params: Params) -> TrainingData:
    """Load, check and split the configured data: what train, evaluate and the gate all start from.

    The split is stratified for classification, and the data is refused when data.sha256 names
    another fingerprint.
    """
    df = load_dataset(params.data)
    validate_schema(df, params.data)
    target = df[params.data.target]
    if params.task == "regression" and not pd.api.types.is_numeric_dtype(target):
        raise SchemaError(
            f"The target column '{params.data.target}' holds text such as {target.iloc[0]!r}, "
            "but regression predicts numbers. Fix: set task: classification in params.yaml, "
            "or pick a numeric target."
        )
    data_fingerprint = fingerprint(df)
    check_fingerprint(data_fingerprint, params.data)
    parts = split(df, params.data, stratify=params.task == "classification")
    return TrainingData(df, data_fingerprint, parts)
