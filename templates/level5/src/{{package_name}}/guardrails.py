"""Guardrails of the promotion gate: limits a challenger must respect even when it scores better.

- fairness: the fairness check passes (fairness.py: gaps under their maxima, every group large
  enough, or the params file says why the data has no sensitive attribute);
- latency: the 95th percentile of a one-row prediction stays under `gate.max_p95_latency_ms`
  (the service answers one row at a time, so a slower model is felt by every client);
- calibration (classifiers): the Brier score is not worse than the champion's by more than
  `gate.max_brier_increase` (probabilities that people read must stay trustworthy).
Each check returns its value, its limit and its verdict, so the decision can show its evidence.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .fairness import FairnessReport

# One-row predictions timed to estimate the 95th percentile; a few more are run first to warm up.
LATENCY_SAMPLES = 50
WARM_UP = 3


@dataclass
class Guardrail:
    name: str
    value: float | str | None
    limit: float | str | None
    passed: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def p95_latency_ms(model, x: pd.DataFrame) -> float:
    """The 95th percentile, in ms, of `model.predict` on one row, over rows of `x` taken in turn."""
    timings = []
    for index in range(WARM_UP + LATENCY_SAMPLES):
        row = x.iloc[[index % len(x)]]
        started = time.perf_counter()
        model.predict(row)
        if index >= WARM_UP:
            timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 95))


def brier_score(y_true: pd.Series, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Mean squared distance between predicted probabilities and the one-hot truth (0 = perfect)."""
    truth = (np.asarray(y_true)[:, None] == np.asarray(classes)[None, :]).astype(float)
    return float(np.mean(np.sum((probabilities - truth) ** 2, axis=1)))


def fairness_guardrail(report: FairnessReport | None) -> Guardrail:
    if report is None:
        return Guardrail("fairness", None, None, False, "no fairness report was computed")
    return Guardrail("fairness", report.status, "pass", report.passed, report.reason)


def latency_guardrail(p95_ms: float | None, limit_ms: float) -> Guardrail:
    if p95_ms is None:
        return Guardrail("latency_p95_ms", None, limit_ms, False, "latency was not measured")
    passed = p95_ms <= limit_ms
    word = "within" if passed else "over"
    return Guardrail(
        "latency_p95_ms", p95_ms, limit_ms, passed, f"p95 {p95_ms:.1f} ms, {word} {limit_ms} ms"
    )


def calibration_guardrail(
    challenger: float | None, champion: float | None, tolerance: float
) -> Guardrail:
    if challenger is None or champion is None:
        return Guardrail(
            "brier_increase", None, tolerance, True, "no champion probabilities to compare"
        )
    increase = challenger - champion
    passed = increase <= tolerance
    detail = (
        f"Brier {challenger:.4f} vs champion {champion:.4f} (worse by at most {tolerance} allowed)"
    )
    return Guardrail("brier_increase", increase, tolerance, passed, detail)
