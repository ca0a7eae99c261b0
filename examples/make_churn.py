"""Write the two small mixed-type example CSVs, the same bytes every run (fixed seed).

    python examples/make_churn.py

- churn.csv: will a customer cancel? `churned` is a text label ("yes" / "no").
- spend.csv: the same kind of customers, with a numeric target, `annual_spend`.

Both mix numbers and text categories and leave some values empty, as exported tables do, so the
templates' tests can train every level on data that looks like a business table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROWS = 400
SEED = 7
MISSING_SHARE = 0.05  # of the values in each column with gaps


def customers(rng: np.random.Generator) -> pd.DataFrame:
    """Features a subscription business keeps, with realistic gaps."""
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 73, ROWS),
            "monthly_charges": rng.normal(65, 20, ROWS).clip(15, 130).round(2),
            "support_calls": rng.poisson(1.5, ROWS),
            "plan": rng.choice(["basic", "standard", "premium"], ROWS, p=[0.5, 0.3, 0.2]),
            "country": rng.choice(["FR", "DE", "ES", "IT", "NL"], ROWS),
            "payment": rng.choice(["card", "transfer", "paypal"], ROWS),
        }
    )
    for column in ("monthly_charges", "plan", "payment"):
        gaps = rng.random(ROWS) < MISSING_SHARE
        frame[column] = frame[column].astype(object).where(~gaps, None)
    return frame


def churned(frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Short tenure, many support calls and the basic plan make a customer likelier to leave."""
    score = (
        -0.05 * frame["tenure_months"]
        + 0.6 * frame["support_calls"]
        + frame["plan"].map({"basic": 0.8, "standard": 0.0, "premium": -0.8}).fillna(0.0)
        + rng.normal(0, 0.8, ROWS)
    )
    return pd.Series(np.where(score > score.median(), "yes", "no"), name="churned")


def annual_spend(frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Twelve months of charges, more on premium plans, less for customers who call support."""
    charges = pd.to_numeric(frame["monthly_charges"]).fillna(65.0)
    uplift = frame["plan"].map({"basic": 0.0, "standard": 120.0, "premium": 300.0}).fillna(60.0)
    spend = 12 * charges + uplift - 25 * frame["support_calls"] + rng.normal(0, 60, ROWS)
    return spend.round(2).rename("annual_spend")


def main() -> None:
    rng = np.random.default_rng(SEED)
    churn = customers(rng)
    churn["churned"] = churned(churn, rng)
    churn.to_csv(HERE / "churn.csv", index=False)

    spend = customers(rng)
    spend["annual_spend"] = annual_spend(spend, rng)
    spend.to_csv(HERE / "spend.csv", index=False)
    print(f"Wrote {HERE / 'churn.csv'} and {HERE / 'spend.csv'} ({ROWS} rows each).")


if __name__ == "__main__":
    main()
