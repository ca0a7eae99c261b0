"""The statistics of level 5's live decisions: the canary test (canary.py) and the rollback rule
(rollback.py), on per-row losses (live_labels.py) and nothing else.

A loss is one of three kinds: "error" (classification: 1 wrong, 0 right), "squared" or "absolute"
(regression). Each function is plain arithmetic on numpy arrays with scipy's distributions, so
mlops-ladder's benchmarks (bench_canary.py, bench_rollback.py) load this file alone and measure
the very rules the project runs.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def required_rows(
    loss: str, baseline: np.ndarray, worse_by: float, alpha: float, power: float
) -> int:
    """Labelled rows per version for a one-sided test at `alpha` to catch, with probability
    `power`, a canary worse by `worse_by`, given the champion's per-row losses `baseline`.

    `worse_by` is in points of error rate for "error" losses (0.02: two points of accuracy) and a
    share of the champion's rmse or mae for regression (0.1: 10% higher).
    """
    z_alpha, z_power = stats.norm.ppf(1 - alpha), stats.norm.ppf(power)
    if loss == "error":
        errors, rows = int(baseline.sum()), len(baseline)
        # The upper end (97.5%) of the champion's error rate (Jeffreys interval), capped at 0.5
        # where a proportion's variance peaks: a lucky holdout must not make N too small.
        p0 = min(float(stats.beta.ppf(0.975, errors + 0.5, rows - errors + 0.5)), 0.5)
        p1 = min(p0 + worse_by, 1.0)
        pooled, gap = (p0 + p1) / 2, p1 - p0
        spread = z_alpha * np.sqrt(2 * pooled * (1 - pooled))
        spread += z_power * np.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
        rows_needed = (spread / gap) ** 2
        # Fleiss' adjustment for the continuity correction that worse_test applies.
        return int(np.ceil(rows_needed / 4 * (1 + np.sqrt(1 + 4 / (rows_needed * gap))) ** 2))
    # Regression: errors `worse_by` larger scale each loss by (1 + worse_by), squared for squared
    # errors; the spread of the losses grows in the same proportion. The spread is taken at the
    # upper end (97.5%) of its chi-square interval, again so a lucky holdout does not shrink N.
    scale = 1 + worse_by if loss == "absolute" else (1 + worse_by) ** 2
    rows = len(baseline)
    mean0, variance0 = float(baseline.mean()), float(baseline.var(ddof=1))
    variance0 *= (rows - 1) / stats.chi2.ppf(0.025, rows - 1)
    variance = variance0 * (1 + scale**2)
    return int(np.ceil((z_alpha + z_power) ** 2 * variance / (mean0 * (scale - 1)) ** 2))


def worse_test(loss: str, canary: np.ndarray, champion: np.ndarray) -> tuple[float, float]:
    """(statistic, one-sided p-value) of "the canary's mean loss is higher than the champion's":
    the pooled two-proportion z-test with a continuity correction for errors (the correction
    keeps the false-abort rate at or under alpha, where the plain test overshoots it a little),
    Welch's t-test for regression losses."""
    if loss == "error":
        pooled = (canary.sum() + champion.sum()) / (len(canary) + len(champion))
        inverse_rows = 1 / len(canary) + 1 / len(champion)
        spread = np.sqrt(pooled * (1 - pooled) * inverse_rows)
        if spread == 0:  # both all right or all wrong: no difference to test
            return 0.0, 1.0
        z = (canary.mean() - champion.mean() - inverse_rows / 2) / spread
        return float(z), float(stats.norm.sf(z))
    if np.ptp(canary) == 0 and np.ptp(champion) == 0:  # no spread at all: the means say it all
        return 0.0, 0.0 if canary[0] > champion[0] else 1.0
    result = stats.ttest_ind(canary, champion, equal_var=False, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def metric_of(loss: str, losses: np.ndarray) -> float:
    """The metric the losses add up to: accuracy (errors), rmse (squared), mae (absolute)."""
    mean = float(losses.mean())
    if loss == "error":
        return 1 - mean
    return float(np.sqrt(mean)) if loss == "squared" else mean


def degradation_test(
    loss: str, live: np.ndarray, holdout: np.ndarray, max_relative_drop: float
) -> tuple[float, float, float]:
    """(live metric, holdout metric, one-sided p-value) of "the live metric is worse than
    `max_relative_drop` off the holdout's", from the per-row losses of both.

    The holdout's own mean is an estimate from a few hundred rows, so its spread enters the test
    next to the live rows': a lucky holdout does not make an unchanged champion look degraded.
    - errors: the line not to cross is an error rate of drop + (1 - drop) x the holdout's (its
      accuracy times 1 - drop); a z-test on the live error rate minus that line;
    - squared and absolute errors: the line is the holdout's mean loss times (1 + drop), squared
      for rmse; the z-test compares the logarithms of the two means, whose spread is the losses'
      coefficient of variation over the square root of their count. A skewed loss whose holdout
      mean came out low by luck also has a small spread: on the log scale that does not make the
      test overconfident, as it would on the raw scale.
    """
    live_metric, holdout_metric = metric_of(loss, live), metric_of(loss, holdout)
    if loss == "error":
        slope = 1 - max_relative_drop
        excess = live.mean() - (slope * holdout.mean() + max_relative_drop)
        spread = np.sqrt(
            live.var(ddof=1) / len(live) + slope**2 * holdout.var(ddof=1) / len(holdout)
        )
    else:
        slope = (1 + max_relative_drop) ** (2 if loss == "squared" else 1)
        if live.mean() == 0 or holdout.mean() == 0:  # a perfect model: any error is "worse"
            return live_metric, holdout_metric, 0.0 if live.mean() > holdout.mean() else 1.0
        excess = np.log(live.mean()) - np.log(holdout.mean() * slope)
        spread = np.sqrt(
            live.var(ddof=1) / (len(live) * live.mean() ** 2)
            + holdout.var(ddof=1) / (len(holdout) * holdout.mean() ** 2)
        )
    if spread == 0:  # every loss the same on both: the means say it all
        return live_metric, holdout_metric, 0.0 if excess > 0 else 1.0
    return live_metric, holdout_metric, float(stats.norm.sf(excess / spread))
