"""Fairness: how the model treats each group of the sensitive attributes that params.yaml names.

For every attribute (a column of the data), the holdout rows are split into groups: one group per
value when the column has few values (a category, or a coded column such as `sex` in diabetes),
otherwise quantile bins. Each group gets its size and two numbers:
- its parity value: how often each class is predicted (classification) or the mean prediction
  (regression). The demographic-parity gap is the largest difference between groups;
- its error: the error rate (classification) or the mean absolute error (regression). The
  error-rate gap is the largest difference between groups.
Regression gaps are divided by the standard deviation of the target, so 0.1 means a tenth of the
target's usual spread whatever its unit.

The two gaps can disagree wildly: when the groups really differ (their true outcomes do), an
accurate model predicts differently for them and its parity gap is large while its errors are
alike. So each gap has its own maximum; the parity one may be null (reported, not enforced).

A gap measured on a few rows is mostly noise: a group smaller than `min_group_size` makes the
attribute "insufficient evidence", which never passes. Silence is refused too: a project whose
data has no sensitive attribute says so in params.yaml, with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .config import FairnessParams, Params

# A numeric column with at most this many distinct values is sliced by value, not binned.
MAX_VALUES_AS_GROUPS = 10

Status = Literal["pass", "fail", "insufficient evidence", "refused", "not applicable"]
PASSING: tuple[Status, ...] = ("pass", "not applicable")


@dataclass
class Group:
    attribute: str
    name: str  # the value, or the bin as [low, high)
    size: int
    error: float  # error rate (classification) or mean absolute error (regression)
    mean_prediction: float | None = None  # regression
    rates: dict[str, float] = field(
        default_factory=dict
    )  # classification: share predicted per class
    enough_rows: bool = True  # at least min_group_size rows: only such groups enter the gaps


@dataclass
class AttributeReport:
    attribute: str
    groups: list[Group]
    parity_gap: float  # between the groups with enough rows
    error_gap: float  # between the groups with enough rows
    status: Status
    reason: str


@dataclass
class FairnessReport:
    """The verdict on every sensitive attribute; `passed` is what a gate reads."""

    status: Status
    reason: str
    attributes: list[AttributeReport] = field(default_factory=list)
    max_error_gap: float | None = None
    max_parity_gap: float | None = None
    min_group_size: int | None = None

    @property
    def passed(self) -> bool:
        return self.status in PASSING

    @property
    def largest_error_gap(self) -> float | None:
        gaps = [report.error_gap for report in self.attributes]
        return max(gaps) if gaps else None

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def fairness_report(model, x: pd.DataFrame, y: pd.Series, params: Params) -> FairnessReport:
    """Score `model` on the rows `x` (true values `y`) group by group, and give the verdict."""
    settings = params.fairness
    refusal = why_silent(settings, list(x.columns))
    if refusal:
        return FairnessReport("refused", refusal)
    assert settings is not None and settings.sensitive_attributes is not None  # why_silent checked
    if not settings.sensitive_attributes:
        return FairnessReport(
            "not applicable",
            f"no sensitive attribute in this data: {settings.no_sensitive_attributes_reason}",
        )
    predictions = np.asarray(model.predict(x))
    reports = [
        attribute_report(column, x[column], np.asarray(y), predictions, params.task, settings)
        for column in settings.sensitive_attributes
    ]
    return FairnessReport(
        status=overall_status(reports),
        reason="; ".join(f"{report.attribute}: {report.reason}" for report in reports),
        attributes=reports,
        max_error_gap=settings.max_error_gap,
        max_parity_gap=settings.max_parity_gap,
        min_group_size=settings.min_group_size,
    )


def why_silent(settings: FairnessParams | None, columns: list[str]) -> str:
    """The sentence refusing a params file that does not say which attributes are sensitive."""
    fix = (
        "list the sensitive columns under fairness.sensitive_attributes in params.yaml, or set it "
        "to [] and say why in fairness.no_sensitive_attributes_reason"
    )
    if settings is None or settings.sensitive_attributes is None:
        return f"params.yaml does not say which attributes are sensitive: {fix}."
    if (
        not settings.sensitive_attributes
        and not (settings.no_sensitive_attributes_reason or "").strip()
    ):
        return f"fairness.sensitive_attributes is empty but no reason is given: {fix}."
    missing = [name for name in settings.sensitive_attributes if name not in columns]
    if missing:
        return (
            f"the sensitive attributes {missing} are not features of the data: correct "
            "fairness.sensitive_attributes in params.yaml."
        )
    return ""


def attribute_report(
    attribute: str,
    column: pd.Series,
    y_true: np.ndarray,
    predictions: np.ndarray,
    task: str,
    settings: FairnessParams,
) -> AttributeReport:
    names = group_names(column, settings.bins)
    groups = []
    for name in sorted(names.dropna().unique(), key=str):
        rows = (names == name).to_numpy()
        group = group_metrics(attribute, str(name), y_true[rows], predictions[rows], task)
        group.enough_rows = group.size >= settings.min_group_size
        groups.append(group)
    parity_gap, error_gap = gaps([group for group in groups if group.enough_rows], task, y_true)
    report = AttributeReport(attribute, groups, parity_gap, error_gap, "pass", "")
    report.status, report.reason = verdict(report, settings)
    return report


def group_names(column: pd.Series, bins: int) -> pd.Series:
    """Each row's group: its value when the column has few values, else its quantile bin."""
    if not pd.api.types.is_numeric_dtype(column) or column.nunique() <= MAX_VALUES_AS_GROUPS:
        # Round numeric codes so that 0.0506801 and 0.05068010000001 are one group.
        return column.round(6).astype(str) if pd.api.types.is_numeric_dtype(column) else column
    binned = pd.qcut(column, q=bins, duplicates="drop")
    return binned.astype(str).where(binned.notna())


def group_metrics(attribute: str, name: str, y_true, predictions, task: str) -> Group:
    if task == "classification":
        labels, counts = np.unique(predictions, return_counts=True)
        rates = {
            str(label): float(count / len(predictions))
            for label, count in zip(labels, counts, strict=True)
        }
        error = float(np.mean(predictions != y_true))
        return Group(attribute, name, len(y_true), error, rates=rates)
    values = predictions.astype(float)
    error = float(np.mean(np.abs(values - y_true.astype(float))))
    return Group(attribute, name, len(y_true), error, mean_prediction=float(values.mean()))


def gaps(groups: list[Group], task: str, y_true: np.ndarray) -> tuple[float, float]:
    """(demographic-parity gap, error-rate gap): the largest difference between two groups."""
    if len(groups) < 2:
        return 0.0, 0.0
    errors = [group.error for group in groups]
    if task == "classification":
        classes = {label for group in groups for label in group.rates}
        parity_gap = max(
            _spread([group.rates.get(label, 0.0) for group in groups]) for label in classes
        )
        return parity_gap, _spread(errors)
    spread = float(np.std(y_true.astype(float))) or 1.0  # a constant target: plain units
    means = [group.mean_prediction or 0.0 for group in groups]
    return _spread(means) / spread, _spread(errors) / spread


def verdict(report: AttributeReport, settings: FairnessParams) -> tuple[Status, str]:
    """Fail on a gap over its maximum between groups with enough rows; else insufficient
    evidence when any group is too small (a gap to it would be mostly noise)."""
    sizes = ", ".join(f"{group.name}: n={group.size}" for group in report.groups)
    figures = f"parity gap {report.parity_gap:.3f}, error gap {report.error_gap:.3f} ({sizes})"
    problems = []
    if report.error_gap > settings.max_error_gap:
        problems.append(f"error gap over {settings.max_error_gap}")
    if settings.max_parity_gap is not None and report.parity_gap > settings.max_parity_gap:
        problems.append(f"parity gap over {settings.max_parity_gap}")
    if problems:
        return "fail", f"{' and '.join(problems)}: {figures}"
    small = [group.name for group in report.groups if not group.enough_rows]
    if small or len(report.groups) < 2:
        why = (
            f"groups {small} have fewer than {settings.min_group_size} rows"
            if small
            else "one group only"
        )
        return "insufficient evidence", f"{why}, too few to judge: {figures}"
    return "pass", figures


def overall_status(reports: list[AttributeReport]) -> Status:
    statuses = {report.status for report in reports}
    for status in ("fail", "insufficient evidence"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "pass"


def _spread(values: list[float]) -> float:
    return float(max(values) - min(values))
