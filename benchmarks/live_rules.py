"""What the canary and rollback simulations share: the template's statistics module, loaded from its
file (it imports only numpy and scipy), simulated per-row errors, and rates shown with their interval."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

STATISTICS = Path(__file__).resolve().parents[1] / "templates/level5/src/{{package_name}}/live_statistics.py"


def load_statistics():
    spec = importlib.util.spec_from_file_location("live_statistics", STATISTICS)
    module = importlib.util.module_from_spec(spec)
    sys.modules["live_statistics"] = module
    spec.loader.exec_module(module)
    return module


def shown(hits: int, trials: int) -> str:
    """A simulated rate with its 95% Wilson interval."""
    interval = binomtest(hits, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return f"{hits / trials:6.1%} [{interval.low:5.1%}, {interval.high:5.1%}]"


def errors(rng, rows: int, rate: float) -> np.ndarray:
    """`rows` per-row errors (1 wrong, 0 right), each wrong with probability `rate`; the tests read
    only their sum and count, so their order does not matter."""
    drawn = np.zeros(rows)
    drawn[: rng.binomial(rows, min(rate, 1.0))] = 1.0
    return drawn
