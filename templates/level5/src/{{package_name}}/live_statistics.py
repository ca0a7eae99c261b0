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
        pooled = (p0 + p1) / 2
        spread = z_alpha * np.sqrt(2 * pooled * (1 - pooled))
        spread += z_power * np.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
        return int(np.ceil((spread / (p1 - p0)) ** 2))
    # Regression: errors `worse_by` larger scale each loss by (1 + worse_by), squared for squared
    # errors; the spread of the losses grows in the same proportion.
    scale = 1 + worse_by if loss == "absolute" else (1 + worse_by) ** 2
    mean0, sd0 = float(baseline.mean()), float(baseline.std(ddof=1))
    variance = sd0**2 * (1 + scale**2)
    return int(np.ceil((z_alpha + z_power) ** 2 * variance / (mean0 * (scale - 1)) ** 2))


def worse_test(loss: str, canary: np.ndarray, champion: np.ndarray) -> tuple[float, float]:
    """(statistic, one-sided p-value) of "the canary's mean loss is higher than the champion's":
    the pooled two-proportion z-test for errors, Welch's t-test for regression losses."""
    if loss == "error":
        pooled = (canary.sum() + champion.sum()) / (len(canary) + len(champion))
        spread = np.sqrt(pooled * (1 - pooled) * (1 / len(canary) + 1 / len(champion)))
        if spread == 0:  # both all right or all wrong: no difference to test
            return 0.0, 1.0
        z = (canary.mean() - champion.mean()) / spread
        return float(z), float(stats.norm.sf(z))
    result = stats.ttest_ind(canary, champion, equal_var=False, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def degradation_test(
    loss: str, losses: np.ndarray, holdout_metric: float, max_relative_drop: float
) -> tuple[float, float, float]:
    """(live metric, relative drop, one-sided p-value) of "the live metric is worse than
    `max_relative_drop` below the holdout's": accuracy for errors (an exact binomial test),
    rmse for squared and mae for absolute losses (a one-sample t-test on the losses)."""
    if loss == "error":
        live = 1 - float(losses.mean())
        allowed_error = 1 - holdout_metric * (1 - max_relative_drop)
        test = stats.binomtest(int(losses.sum()), len(losses), allowed_error, alternative="greater")
        return live, (holdout_metric - live) / holdout_metric, float(test.pvalue)
    allowed = holdout_metric * (1 + max_relative_drop)
    threshold = allowed if loss == "absolute" else allowed**2
    live = float(losses.mean()) if loss == "absolute" else float(np.sqrt(losses.mean()))
    if losses.std() == 0:  # every loss the same: the mean says it all
        p_value = 0.0 if losses.mean() > threshold else 1.0
    else:
        p_value = float(stats.ttest_1samp(losses, threshold, alternative="greater").pvalue)
    return live, (live - holdout_metric) / holdout_metric, p_value
