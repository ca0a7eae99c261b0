"""Property-style: random team histories on real git, then an upgrade that keeps every team change or changes nothing.

The benchmark `benchmarks/bench_upgrade_properties.py` runs a few hundred sequences; CI runs these few.
"""

from __future__ import annotations

import pytest
from upgrade_helpers import STEPS
from upgrade_properties import Scaffolds, run_sequence

SEEDS = range(6)


@pytest.fixture(scope="module")
def scaffolds(tmp_path_factory):
    return Scaffolds(tmp_path_factory.mktemp("property-scaffolds"))


@pytest.mark.skipif(not STEPS, reason="needs two consecutive built levels")
@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_team_history_then_upgrade_keeps_every_team_change(scaffolds, seed):
    outcome = run_sequence(scaffolds, seed, [level for level, _ in STEPS])
    assert outcome.kind in ("committed", "conflicts", "refused")
    assert not outcome.problems, f"seed {seed}, {outcome.kind} after {outcome.operations}: {outcome.problems}"
