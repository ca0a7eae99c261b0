"""The statistics of monitoring: reference summaries, drift tests, effect sizes and data quality.

Why not a fixed threshold per feature (Evidently's, SageMaker's and Vertex AI's default)? Because
it misfires both ways: a PSI above 0.1 is noise in most 100-row windows, and a KS p-value below
0.05 flags a harmless 0.05-sigma shift in every 100,000-row window. So a feature raises a drift
alarm only when all three hold:

1. the window has at least `min_rows` values of it (else the verdict is "not enough data");
2. its test is significant after Holm's correction across every tested column of the report
   (KS for numbers, chi-square for categories): the chance that an unchanged window raises any
   drift alarm at all stays below `alpha`, however many features there are;
3. its effect size, the population stability index (PSI) over the reference's quantile bins,
   exceeds `effect_threshold`: a shift too small to matter never alarms, however many rows.

The reference side is a summary computed once at training time (bin edges, counts, a bounded
sample; see `summarize_numbers` and `summarize_categories`), so monitoring never reloads the
training data. This module imports only numpy, pandas and scipy, and nothing from its package,
so the benchmarks in the mlops-ladder repository load it by path. SciPy's statistics are imported
by the tests that use them: importing them takes most of a second, which `monitor` spends while
its HTML report process starts (monitor.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

NUMERIC = "numeric"
CATEGORICAL = "categorical"

DRIFT = "drift"
NO_DRIFT = "no drift"
NOT_ENOUGH_DATA = "not enough data"

# Ten quantile bins: each holds a tenth of the training data, so PSI weighs every part of the
# distribution alike; more bins make PSI noisier on small windows without seeing more.
REFERENCE_BINS = 10
# KS compares the window with this many training values at most: enough to detect a 0.3-sigma
# shift in a 5,000-row window with power close to 1, and small enough to store as JSON.
REFERENCE_SAMPLE_ROWS = 5000
# Windows up to this size get scipy's own KS test (it computes exact p-values up to 10,000 rows).
SCIPY_KS_ROWS = 10_000
# Categories seen fewer times in training are pooled into one bucket, so that no chi-square cell
# rests on a handful of rows (its approximation needs expected counts of about 5).
MIN_CATEGORY_ROWS = 5
OTHER = "(other)"  # the pooled bucket: rare training categories and categories never seen
# Half a row added to every bin before taking shares: PSI stays finite when a bin is empty, and
# the result moves far less on one empty bin than with a tiny floor such as 1e-4.
PSI_SMOOTHING = 0.5


# --- the reference, computed at training time ------------------------------------------------


def summarize_numbers(values: np.ndarray, sample: np.ndarray) -> dict:
    """A numeric feature's reference: range, missing share, quantile edges, bin counts, sample.

    `values` is the whole training column (NaN where missing); `sample` is the same column over a
    bounded random subset of rows, kept for the KS test.
    """
    values = np.asarray(values, dtype="float64")
    present = values[~np.isnan(values)]
    if present.size == 0:
        edges = np.array([])
    else:
        inner = np.linspace(0, 1, REFERENCE_BINS + 1)[1:-1]
        # A feature with few distinct values (a 0/1 flag) repeats quantiles: keep each edge once.
        edges = np.unique(np.quantile(present, inner))
    return {
        "kind": NUMERIC,
        "rows": int(values.size),
        "missing_share": float(1 - present.size / values.size) if values.size else 0.0,
        "min": float(present.min()) if present.size else None,
        "max": float(present.max()) if present.size else None,
        "edges": edges.tolist(),
        "counts": bin_counts(present, edges).tolist(),
        "sample": [float(value) for value in sample if not math.isnan(value)],
    }


def summarize_categories(values: pd.Series) -> dict:
    """A categorical feature's reference: missing share and the count of each category."""
    counts = values.dropna().astype(str).value_counts()
    return {
        "kind": CATEGORICAL,
        "rows": len(values),
        "missing_share": float(values.isna().mean()) if len(values) else 0.0,
        "counts": {str(name): int(count) for name, count in counts.items()},
    }


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many values fall in each bin: below the first edge, between edges, from the last edge."""
    positions = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="right")
    return np.bincount(positions, minlength=len(edges) + 1)


# --- drift of one column -----------------------------------------------------------------------


@dataclass
class ColumnDrift:
    """The drift evidence for one column; `verdict` is set by `decide` once every column is in."""

    test: str  # "ks" or "chi-square"
    rows: int  # values of this column in the window (missing ones excluded)
    statistic: float | None = None
    p_value: float | None = None
    effect_size: float | None = None  # PSI
    p_value_adjusted: float | None = None  # Holm-corrected across the report's columns
    effect_threshold: float = 0.0
    verdict: str = NOT_ENOUGH_DATA


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index: sum over bins of (current - reference) * ln(current / reference).

    For a normal feature whose mean moves by d standard deviations it is close to d squared
    (0.09 for 0.3 sigma, 0.0004 for 0.02 sigma), a little less over ten bins.
    """
    reference = np.asarray(reference_counts, dtype="float64") + PSI_SMOOTHING
    current = np.asarray(current_counts, dtype="float64") + PSI_SMOOTHING
    reference /= reference.sum()
    current /= current.sum()
    return float(np.sum((current - reference) * np.log(current / reference)))


def numeric_drift(reference: dict, values: np.ndarray, min_rows: int) -> ColumnDrift:
    """Two-sample KS test against the reference sample, and PSI over the reference bins."""
    values = np.asarray(values, dtype="float64")
    # Sorted once: the KS test needs it, and then the bin counts cost almost nothing.
    present = np.sort(values[~np.isnan(values)])
    result = ColumnDrift(test="ks", rows=int(present.size))
    if present.size < min_rows or not reference["sample"]:
        return result
    result.statistic, result.p_value = ks_test(np.asarray(reference["sample"]), present)
    counts = sorted_bin_counts(present, np.asarray(reference["edges"]))
    result.effect_size = psi(np.asarray(reference["counts"]), counts)
    return result


def sorted_bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`bin_counts` of values already sorted: how many lie below each edge, then differences."""
    below = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate([[0], below, [sorted_values.size]]))


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value, the same as `scipy.stats.ks_2samp`.

    Up to SCIPY_KS_ROWS values scipy runs as is (with its exact p-values). Beyond, the statistic
    is computed at the reference values only, and the p-value as scipy's asymptotic branch does:
    scipy evaluates both ECDFs at every value of both samples, which is several times slower on
    a million-row window and gives the same number. Between two reference values the reference
    ECDF is flat and the window's only rises, so the largest gap sits at a reference value,
    just at or just before it.
    """
    from scipy import stats

    if current.size <= SCIPY_KS_ROWS:
        test = stats.ks_2samp(reference, current)
        return float(test.statistic), float(test.pvalue)
    reference = np.sort(reference)
    if np.any(current[1:] < current[:-1]):  # numeric_drift sorted it already: no second sort,
        current = np.sort(current)  # which costs as much as the first on a million values
    gaps = []
    for side in ("right", "left"):  # at each reference value, and just before it
        reference_cdf = np.searchsorted(reference, reference, side=side) / reference.size
        current_cdf = np.searchsorted(current, reference, side=side) / current.size
        gaps.append(np.max(np.abs(reference_cdf - current_cdf)))
    statistic = float(max(gaps))
    effective_rows = reference.size * current.size / (reference.size + current.size)
    p_value = float(np.clip(stats.kstwo.sf(statistic, np.round(effective_rows)), 0, 1))
    return statistic, p_value


def category_buckets(reference: dict) -> list[str]:
    """The reference categories frequent enough to be compared on their own; the rest is OTHER."""
    return [name for name, count in reference["counts"].items() if count >= MIN_CATEGORY_ROWS]


def bucket_counts(reference: dict, current_counts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the same buckets: the frequent categories, then OTHER."""
    buckets = category_buckets(reference)
    reference_counts = [reference["counts"][name] for name in buckets]
    current = [int(current_counts.get(name, 0)) for name in buckets]
    reference_counts.append(sum(reference["counts"].values()) - sum(reference_counts))
    current.append(int(current_counts.sum()) - sum(current))
    return np.array(reference_counts), np.array(current)


def categorical_drift(reference: dict, current_counts: pd.Series, min_rows: int) -> ColumnDrift:
    """Chi-square test of homogeneity (training counts vs window counts), and PSI over categories.

    A test of homogeneity rather than goodness of fit: the training shares are themselves an
    estimate, which matters when the training data is small next to the window.
    """
    rows = int(current_counts.sum())
    result = ColumnDrift(test="chi-square", rows=rows)
    if rows < min_rows:
        return result
    reference_counts, counts = bucket_counts(reference, current_counts)
    table = np.vstack([reference_counts, counts])
    table = table[:, table.sum(axis=0) > 0]  # a bucket empty on both sides says nothing
    result.effect_size = psi(reference_counts, counts)
    if table.shape[1] < 2:  # one category on both sides: nothing can differ
        result.statistic, result.p_value = 0.0, 1.0
        return result
    from scipy import stats

    test = stats.chi2_contingency(table, correction=False)
    result.statistic = float(test.statistic)
    result.p_value = float(test.pvalue)
    return result


# --- every column together ---------------------------------------------------------------------


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: reject where adjusted <= alpha.

    Holm rather than Benjamini-Hochberg because the promise to the on-call engineer is about any
    alarm at all (the family-wise error rate), which Holm keeps below alpha under any dependence
    between features; Benjamini-Hochberg bounds only the expected share of false alarms among the
    alarms. The power Holm gives up is small here: at large windows the effect size decides.
    """
    p = np.asarray(p_values, dtype="float64")
    if p.size == 0:
        return []
    order = np.argsort(p)
    multipliers = p.size - np.arange(p.size)
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(multipliers * p[order]))
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted.tolist()


def decide(columns: dict[str, ColumnDrift], alpha: float, thresholds: dict[str, float]) -> None:
    """Set each column's verdict: drift needs a significant corrected test AND a large effect."""
    tested = [name for name, column in columns.items() if column.p_value is not None]
    adjusted = holm([columns[name].p_value for name in tested])  # type: ignore[misc]
    for name, p_adjusted in zip(tested, adjusted, strict=True):
        column = columns[name]
        column.p_value_adjusted = p_adjusted
        column.effect_threshold = thresholds[name]
        effect = column.effect_size if column.effect_size is not None else 0.0
        column.verdict = DRIFT if p_adjusted <= alpha and effect > thresholds[name] else NO_DRIFT
    for name, column in columns.items():
        column.effect_threshold = thresholds[name]


# --- data quality of one column ----------------------------------------------------------------


def wrong_type_mask(values: pd.Series, kind: str) -> np.ndarray:
    """True where a logged value is present but not of the column's type.

    A number column holds real numbers (a boolean or a text is wrong); a category column holds
    text (a number or a boolean is wrong). A column pandas already typed needs no per-value look.
    """
    if (
        kind == NUMERIC
        and pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
    ):
        return np.zeros(len(values), dtype=bool)
    if kind == CATEGORICAL and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return np.zeros(len(values), dtype=bool)
    if kind == NUMERIC:
        right = values.map(
            lambda value: isinstance(value, int | float) and not isinstance(value, bool)
        )
    else:
        right = values.map(lambda value: isinstance(value, str))
    return (~right.to_numpy(dtype=bool)) & values.notna().to_numpy()


def as_numbers(values: pd.Series, wrong: np.ndarray) -> np.ndarray:
    """The column as float64, with missing and wrongly typed values as NaN."""
    if not wrong.any() and pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    kept = values.where(~wrong)
    return pd.to_numeric(kept, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def out_of_range_share(reference: dict, numbers: np.ndarray, margin: float) -> float:
    """Share of present values outside the training [min, max] widened by `margin` of its width."""
    present = numbers[~np.isnan(numbers)]
    if present.size == 0 or reference["min"] is None:
        return 0.0
    width = reference["max"] - reference["min"]
    low, high = reference["min"] - margin * width, reference["max"] + margin * width
    return float(np.mean((present < low) | (present > high)))


def unseen_share(reference: dict, current_counts: pd.Series) -> float:
    """Share of present values whose category the training data never had."""
    total = int(current_counts.sum())
    if total == 0:
        return 0.0
    unseen = current_counts[~current_counts.index.isin(list(reference["counts"]))]
    return float(unseen.sum() / total)


# --- one report: every column's drift and quality ------------------------------------------------

ALARM = "alarm"
OK = "ok"


@dataclass(frozen=True)
class Thresholds:
    """The limits of one column: params.yaml `monitoring`, its per-feature overrides applied."""

    effect_threshold: float = 0.05  # PSI; 0.05 is about a 0.2-sigma mean shift of a normal feature
    max_missing_increase: float = 0.1  # missing share allowed above the training data's
    max_out_of_range_share: float = 0.05
    range_margin: float = 0.1  # the training [min, max] widened by this share of its width
    max_unseen_share: float = 0.01
    max_wrong_type_share: float = 0.0


def quality_check(value: float, threshold: float, enough_rows: bool) -> dict:
    verdict = NOT_ENOUGH_DATA if not enough_rows else ALARM if value > threshold else OK
    return {"value": value, "threshold": threshold, "verdict": verdict}


def check_column(
    reference: dict, values: pd.Series, limits: Thresholds, min_rows: int
) -> tuple[ColumnDrift, dict]:
    """The drift evidence (verdict still open) and the data-quality checks of one logged column."""
    kind = reference["kind"]
    enough = len(values) >= min_rows
    wrong = wrong_type_mask(values, kind)
    missing = float(values.isna().mean()) if len(values) else 0.0
    quality = {
        "missing_share": quality_check(
            missing, reference["missing_share"] + limits.max_missing_increase, enough
        ),
        "wrong_type_share": quality_check(
            float(wrong.mean()) if len(values) else 0.0, limits.max_wrong_type_share, enough
        ),
    }
    if kind == NUMERIC:
        numbers = as_numbers(values, wrong)
        outside = out_of_range_share(reference, numbers, limits.range_margin)
        quality["out_of_range_share"] = quality_check(
            outside, limits.max_out_of_range_share, enough
        )
        return numeric_drift(reference, numbers, min_rows), quality
    counts = values[~wrong].dropna().astype(str).value_counts()
    quality["unseen_share"] = quality_check(
        unseen_share(reference, counts), limits.max_unseen_share, enough
    )
    return categorical_drift(reference, counts, min_rows), quality


def assess(
    references: dict[str, dict],
    window: pd.DataFrame,
    limits: dict[str, Thresholds],
    alpha: float,
    min_rows: int,
) -> dict[str, dict]:
    """Drift and data quality of every referenced column of `window`, one Holm family for all.

    Returns, per column: its kind, its drift evidence and verdict, and its quality checks.
    """
    drifts: dict[str, ColumnDrift] = {}
    qualities: dict[str, dict] = {}
    for name, reference in references.items():
        drifts[name], qualities[name] = check_column(
            reference, window[name], limits[name], min_rows
        )
    decide(drifts, alpha, {name: limits[name].effect_threshold for name in references})
    return {
        name: {
            "kind": references[name]["kind"],
            "drift": vars(drifts[name]),
            "quality": qualities[name],
        }
        for name in references
    }
