"""The statistics of level 5's live decisions: the canary test (canary.py) and the rollback rule
(rollback.py), on labelled live rows (live_labels.py) and nothing else.

The canary is judged on the project's primary metric, in one of two ways:
- accuracy, rmse and mae are means of a per-row loss ("error": 1 wrong, 0 right; "squared";
  "absolute"), so they get a test of those losses: the pooled two-proportion z-test on error
  rates, Welch's t-test on squared or absolute errors;
- f1 (macro), roc_auc (one-vs-rest, macro) and r2 are not means of per-row values. Each row's
  influence on them (the delta method: how much the metric moves per unit weight on that row) is,
  and the mean of those influences is zero: their spread over the square root of the rows is the
  metric's standard error. The test is a Wald z-test of the two versions' metrics, each with its
  own standard error (the samples are independent: different requests).

Each function is plain arithmetic on numpy arrays with scipy's distributions, so mlops-ladder's
benchmarks (bench_canary.py, bench_rollback.py) load this file alone and measure the very rules
the project runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# The metrics that are means of a per-row loss, and that loss; the others go by their influence.
LOSS_OF_METRIC = {"accuracy": "error", "rmse": "squared", "mae": "absolute"}
INFLUENCE_METRICS = ("f1", "roc_auc", "r2")  # all three: higher is better
# The fewest labelled rows a version is judged on, whatever the formula says: every test here is
# a normal approximation, and a champion that did (nearly) perfectly on its holdout shows too
# little spread to size the sample on.
MIN_ROWS = 100


@dataclass(frozen=True)
class Rows:
    """One version's labelled rows. Classification: true and predicted classes as text (a label
    sent as "1" names the same class as a logged 1), and for roc_auc each row's class
    probabilities, one column per class in `classes` order. Regression: numbers, no scores."""

    truth: np.ndarray
    predicted: np.ndarray
    scores: np.ndarray | None = None
    classes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.truth)


def losses_of(loss: str, rows: Rows) -> np.ndarray:
    """Per-row losses, lower is better: 1 for a wrong class, else the squared or absolute error."""
    if loss == "error":
        return (rows.truth != rows.predicted).astype(float)
    errors = rows.predicted.astype(float) - rows.truth.astype(float)
    return np.abs(errors) if loss == "absolute" else errors**2


def required_rows(metric: str, holdout: Rows, worse_by: float, alpha: float, power: float) -> int:
    """Labelled rows per version for the one-sided canary test at `alpha` to catch, with
    probability `power`, a canary worse by `worse_by` on `metric`, from the champion's holdout.

    `worse_by` is in points of the metric for accuracy, f1, roc_auc and r2 (0.02: two points) and a
    share of the champion's rmse or mae (0.1: 10% higher).
    """
    if metric in LOSS_OF_METRIC:
        loss = LOSS_OF_METRIC[metric]
        needed = required_rows_of_losses(loss, losses_of(loss, holdout), worse_by, alpha, power)
        return max(needed, MIN_ROWS)
    z_alpha, z_power = stats.norm.ppf(1 - alpha), stats.norm.ppf(power)
    _, influence = influence_of(metric, holdout)
    # Each version's metric has variance sigma^2 / N, their difference 2 sigma^2 / N; sigma^2 is
    # taken at the upper end (97.5%) of its chi-square interval: a lucky holdout must not make N
    # too small.
    rows = len(holdout)
    variance = float(influence.var(ddof=1)) * (rows - 1) / stats.chi2.ppf(0.025, rows - 1)
    needed = int(np.ceil(2 * variance * (z_alpha + z_power) ** 2 / worse_by**2))
    if metric == "r2":
        return max(needed, MIN_ROWS)
    # A holdout the champion got (nearly) all right shows almost no spread of f1 or roc_auc, yet
    # a worse canary will have some. Never fewer rows than the error-rate test needs to catch the
    # same points: its sample size takes the upper end of the holdout's error rate.
    errors = losses_of("error", holdout)
    return max(needed, MIN_ROWS, required_rows_of_losses("error", errors, worse_by, alpha, power))


def worse_test(metric: str, canary: Rows, champion: Rows) -> tuple[float, float]:
    """(statistic, one-sided p-value) of "the canary is worse than the champion on `metric`":
    the loss test for accuracy, rmse and mae (worse_test_of_losses), else a Wald z-test of the
    champion's metric minus the canary's."""
    if metric in LOSS_OF_METRIC:
        loss = LOSS_OF_METRIC[metric]
        return worse_test_of_losses(loss, losses_of(loss, canary), losses_of(loss, champion))
    canary_value, canary_influence = influence_of(metric, canary)
    champion_value, champion_influence = influence_of(metric, champion)
    gap = champion_value - canary_value  # > 0: the canary is worse
    spread = np.sqrt(
        canary_influence.var(ddof=1) / len(canary) + champion_influence.var(ddof=1) / len(champion)
    )
    if spread == 0:  # every row the same on both: the metrics say it all
        return 0.0, 0.0 if gap > 0 else 1.0
    z = gap / spread
    return float(z), float(stats.norm.sf(z))


def metric_value(metric: str, rows: Rows) -> float:
    """The metric itself on `rows` (what sklearn computes for it)."""
    if metric in LOSS_OF_METRIC:
        loss = LOSS_OF_METRIC[metric]
        return metric_of(loss, losses_of(loss, rows))
    return influence_of(metric, rows)[0]


def influence_of(metric: str, rows: Rows) -> tuple[float, np.ndarray]:
    """(the metric on `rows`, each row's influence on it); the influences average to zero."""
    if metric == "f1":
        return f1_influence(rows.truth, rows.predicted)
    if metric == "roc_auc":
        return roc_auc_influence(rows)
    if metric == "r2":
        return r2_influence(rows.truth.astype(float), rows.predicted.astype(float))
    raise ValueError(f"no influence for metric {metric}: use one of {', '.join(INFLUENCE_METRICS)}")


def f1_influence(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro F1 over the classes seen in either. A class's F1 is 2 x mean(hit) / mean(count),
    hit = true and predicted as the class, count = true as it + predicted as it; the influence of a
    ratio of means is (2 hit - F1 x count) / mean(count). The macro average averages both."""
    scores, influences = [], []
    for label in np.union1d(truth, predicted):
        hit = ((truth == label) & (predicted == label)).astype(float)
        count = (truth == label).astype(float) + (predicted == label)
        f1 = 2 * hit.mean() / count.mean()
        scores.append(f1)
        influences.append((2 * hit - f1 * count) / count.mean())
    return float(np.mean(scores)), np.mean(influences, axis=0)


def roc_auc_influence(rows: Rows) -> tuple[float, np.ndarray]:
    """ROC AUC: of the second class's probability for two classes, else the macro average of each
    class against the rest (classes with no row on one side have no AUC and are left out)."""
    if rows.scores is None:
        raise ValueError("roc_auc needs the class probabilities of each row")
    columns = [1] if len(rows.classes) == 2 else range(len(rows.classes))
    scores, influences = [], []
    for column in columns:
        positive = rows.truth == rows.classes[column]
        if 0 < positive.sum() < len(positive):
            auc, influence = binary_auc_influence(positive, rows.scores[:, column])
            scores.append(auc)
            influences.append(influence)
    if not scores:
        raise ValueError("roc_auc needs rows of at least two classes")
    return float(np.mean(scores)), np.mean(influences, axis=0)


def binary_auc_influence(positive: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray]:
    """AUC = the share of (positive, negative) pairs the score orders right (ties count half).
    DeLong's placements: each positive's share of negatives below it, each negative's share of
    positives above it; the AUC's variance is their spreads over the positives' and negatives'
    counts, which the influence, scaled by rows / positives (or / negatives), carries per row."""
    positives, negatives = np.sort(score[positive]), np.sort(score[~positive])
    below = share_below(negatives, score[positive])
    above = 1 - share_below(positives, score[~positive])
    auc = float(below.mean())
    influence = np.empty(len(score))
    influence[positive] = (below - auc) * len(score) / len(positives)
    influence[~positive] = (above - auc) * len(score) / len(negatives)
    return auc, influence


def share_below(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each value, the share of `ordered` (sorted) below it, ties counting half. The values
    are looked up in sorted order too: searching a sorted array for sorted values is much faster."""
    order = np.argsort(values)
    under = np.searchsorted(ordered, values[order], side="left")
    up_to = np.searchsorted(ordered, values[order], side="right")
    shares = np.empty(len(values))
    shares[order] = (under + up_to) / 2 / len(ordered)
    return shares


def r2_influence(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, np.ndarray]:
    """r2 = 1 - mean squared error / variance of the truth; the influence of that ratio."""
    squared = (truth - predicted) ** 2
    spread = (truth - truth.mean()) ** 2
    mse, variance = squared.mean(), spread.mean()
    influence = -(squared - mse) / variance + mse * (spread - variance) / variance**2
    return float(1 - mse / variance), influence


def required_rows_of_losses(
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
        # Fleiss' adjustment for the continuity correction that worse_test_of_losses applies.
        return int(np.ceil(rows_needed / 4 * (1 + np.sqrt(1 + 4 / (rows_needed * gap))) ** 2))
    # Regression: errors `worse_by` larger scale each loss by (1 + worse_by), squared for squared
    # errors; the spread of the losses grows in the same proportion. The spread is taken at the
    # upper end (97.5%) of its chi-square interval, again so a lucky holdout does not shrink N.
    scale = 1 + worse_by if loss == "absolute" else (1 + worse_by) ** 2
    rows = len(baseline)
    mean0, variance0 = float(baseline.mean()), float(baseline.var(ddof=1))
    if mean0 == 0:  # a perfect holdout: a share of no error is no error; the floor decides
        return MIN_ROWS
    variance0 *= (rows - 1) / stats.chi2.ppf(0.025, rows - 1)
    variance = variance0 * (1 + scale**2)
    return int(np.ceil((z_alpha + z_power) ** 2 * variance / (mean0 * (scale - 1)) ** 2))


def worse_test_of_losses(
    loss: str, canary: np.ndarray, champion: np.ndarray
) -> tuple[float, float]:
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


def metric_degradation_test(
    metric: str, live: Rows, holdout: Rows, max_relative_drop: float
) -> tuple[float, float, float]:
    """(live metric, holdout metric, one-sided p-value) of "the live metric is worse than
    `max_relative_drop` off the holdout's": degradation_test on the per-row losses for accuracy,
    rmse and mae; for f1, roc_auc and r2 a z-test of the live metric below the line
    holdout - drop x |holdout|, both with their standard errors by the delta method (the holdout's
    scaled by the line's slope, 1 - drop when the holdout is positive)."""
    if metric in LOSS_OF_METRIC:
        loss = LOSS_OF_METRIC[metric]
        return degradation_test(
            loss, losses_of(loss, live), losses_of(loss, holdout), max_relative_drop
        )
    live_metric, live_influence = influence_of(metric, live)
    holdout_metric, holdout_influence = influence_of(metric, holdout)
    slope = 1 - max_relative_drop * np.sign(holdout_metric)
    excess = holdout_metric - max_relative_drop * abs(holdout_metric) - live_metric
    spread = np.sqrt(
        live_influence.var(ddof=1) / len(live)
        + slope**2 * holdout_influence.var(ddof=1) / len(holdout)
    )
    if spread == 0:  # every row the same on both: the metrics say it all
        return live_metric, holdout_metric, 0.0 if excess > 0 else 1.0
    return live_metric, holdout_metric, float(stats.norm.sf(excess / spread))
