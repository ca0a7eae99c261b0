"""The data: load it, check its schema, split it with a fixed seed, and fingerprint its content."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

from .config import DataParams, UserError

# Datasets that ship with scikit-learn, so the project runs offline with no download.
BUNDLED_LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "diabetes": datasets.load_diabetes,
}


class SchemaError(UserError):
    """The data does not have the columns or types the project expects."""


class Split(NamedTuple):
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


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
        if not pd.api.types.is_numeric_dtype(df[column]):
            example = first_non_numeric(df[column])
            raise SchemaError(
                f"The feature column '{column}' must be numeric but holds {example!r}. "
                "Fix: clean that column or leave it out of data.features in params.yaml."
            )
    if len(df) < 10:
        raise SchemaError(f"The data has only {len(df)} rows; training and testing need 10.")


def first_non_numeric(column: pd.Series) -> object:
    """The first value of a column that cannot be read as a number, to show in an error."""
    as_numbers = pd.to_numeric(column, errors="coerce")
    bad = column[as_numbers.isna() & column.notna()]
    return bad.iloc[0] if len(bad) else column.dtype


def split(df: pd.DataFrame, data: DataParams, stratify: bool = True) -> Split:
    """Train and test parts, the same for the same data and `data.seed`.

    Stratifying (classification) keeps each class's share equal in both parts.
    """
    # float64 features can hold missing values (NaN), in training and in the model's signature.
    x = df[feature_columns(df, data)].astype("float64")
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
