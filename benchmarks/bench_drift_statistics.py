"""False-alarm rate and power of level 4's drift alarms, simulated (issue 11, point 1).

    python benchmarks/bench_drift_statistics.py [--windows 400] [--seed 0]

It loads the level-4 template's `drift_statistics.py` by path (the module imports nothing from its
package) and runs it exactly as `monitor` does, with the `monitoring` defaults of the template's
params.yaml (alpha, effect_threshold, min_rows; `--alpha` tries another alpha). Each scenario draws a training
set (20,000 rows, 20 standard-normal features), summarizes it as training does (quantile edges,
bin counts, a 5,000-row sample), then draws `--windows` monitoring windows and counts the windows
with any drift alarm. A new training set is drawn every 20 windows, so the figures average over
references as well as windows. Printed, with a 95% Wilson interval:

- unchanged data, 20 features, windows of 100, 1,000 and 100,000 rows: share of windows with any
  alarm (target: at most 5%);
- a 0.3-sigma mean shift in one feature, 5,000-row windows: share of windows that flag it
  (power; target: at least 0.9);
- a 0.02-sigma mean shift in one feature, 100,000-row windows: share that flag it (target: none);
- for contrast, the fixed thresholds the issue measured: any feature with 10-bin PSI > 0.1, and any
  feature with KS p < 0.05 (no correction, no effect size), on the same windows.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "templates" / "level4" / "src" / "{{package_name}}" / "drift_statistics.py"

FEATURES = 20
TRAINING_ROWS = 20_000
WINDOWS_PER_REFERENCE = 20
PARAMS = REPO / "templates" / "level4" / "params.yaml.jinja"


def template_defaults() -> dict:
    """The `monitoring` section of the level-4 params.yaml: the defaults a new project gets."""
    text = PARAMS.read_text(encoding="utf-8")
    section = text[text.index("\nmonitoring:") :]
    return yaml.safe_load(section.replace("{{ package_name }}", "package"))["monitoring"]


def load_drift_statistics() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_statistics", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_statistics"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def make_references(ds: ModuleType, rng: np.random.Generator) -> dict[str, dict]:
    training = rng.normal(size=(TRAINING_ROWS, FEATURES))
    sample = training[rng.choice(TRAINING_ROWS, ds.REFERENCE_SAMPLE_ROWS, replace=False)]
    return {f"x{i}": ds.summarize_numbers(training[:, i], sample[:, i]) for i in range(FEATURES)}


def window(rng: np.random.Generator, rows: int, shift: float) -> pd.DataFrame:
    values = rng.normal(size=(rows, FEATURES))
    values[:, 0] += shift  # the shifted feature, when there is one, is x0
    return pd.DataFrame(values, columns=[f"x{i}" for i in range(FEATURES)])


def wilson(hits: int, total: int) -> tuple[float, float]:
    """95% Wilson interval of a proportion."""
    z = 1.96
    share = hits / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def simulate(
    ds: ModuleType, settings: dict, rows: int, shift: float, windows: int, rng: np.random.Generator
) -> dict[str, int]:
    """Windows with any alarm: ours, fixed PSI > 0.1, fixed KS p < 0.05."""
    limits = {f"x{i}": ds.Thresholds(effect_threshold=settings["effect_threshold"]) for i in range(FEATURES)}
    counts = {"ours": 0, "ours_on_x0": 0, "psi_0.1": 0, "ks_0.05": 0}
    references: dict[str, dict] = {}
    for index in range(windows):
        if index % WINDOWS_PER_REFERENCE == 0:
            references = make_references(ds, rng)
        report = ds.assess(references, window(rng, rows, shift), limits, settings["alpha"], settings["min_rows"])
        verdicts = {name: column["drift"]["verdict"] for name, column in report.items()}
        counts["ours"] += ds.DRIFT in verdicts.values()
        counts["ours_on_x0"] += verdicts["x0"] == ds.DRIFT
        counts["psi_0.1"] += any(column["drift"]["effect_size"] > 0.1 for column in report.values())
        counts["ks_0.05"] += any(column["drift"]["p_value"] < 0.05 for column in report.values())
    return counts


SCENARIOS = [
    # (label, rows, shift, what is counted, target)
    ("unchanged, n=100", 100, 0.0, "ours", "<= 0.05"),
    ("unchanged, n=1,000", 1_000, 0.0, "ours", "<= 0.05"),
    ("unchanged, n=100,000", 100_000, 0.0, "ours", "<= 0.05"),
    ("0.3 sigma shift in x0, n=5,000", 5_000, 0.3, "ours_on_x0", ">= 0.90"),
    ("0.02 sigma shift in x0, n=100,000", 100_000, 0.02, "ours_on_x0", "0 (not flagged)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=400, help="windows per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, help="instead of the template's monitoring.alpha")
    args = parser.parse_args()
    ds = load_drift_statistics()
    settings = template_defaults()
    if args.alpha is not None:
        settings["alpha"] = args.alpha
    rng = np.random.default_rng(args.seed)
    print(
        f"{FEATURES} N(0,1) features, training {TRAINING_ROWS:,} rows, {args.windows} windows per scenario, "
        f"alpha {settings['alpha']} (Holm), PSI > {settings['effect_threshold']}, min_rows {settings['min_rows']}"
    )
    header = f"{'scenario':<36} {'ours':>7} {'95% interval':>16} {'target':>16} {'PSI>0.1':>8} {'KS<0.05':>8}"
    print(header)
    print("-" * len(header))
    for label, rows, shift, counted, target in SCENARIOS:
        # Fewer large windows: each 100,000-row window costs about 0.1 s.
        windows = args.windows if rows < 100_000 else max(WINDOWS_PER_REFERENCE, args.windows // 2)
        counts = simulate(ds, settings, rows, shift, windows, rng)
        low, high = wilson(counts[counted], windows)
        print(
            f"{label:<36} {counts[counted] / windows:>7.3f} {f'[{low:.3f}, {high:.3f}]':>16} {target:>16} "
            f"{counts['psi_0.1'] / windows:>8.3f} {counts['ks_0.05'] / windows:>8.3f}"
        )
    print("ours: share of windows with any drift alarm (unchanged rows) or with an alarm on x0 (shift rows).")
    print("PSI>0.1, KS<0.05: share of the same windows where a fixed per-feature threshold fires on any feature.")


if __name__ == "__main__":
    main()
