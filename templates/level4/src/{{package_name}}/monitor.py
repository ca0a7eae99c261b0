"""The drift report: are the inputs the service sees still like the data the model trained on?

`python -m <package> monitor` takes the most recent `monitoring.window_rows` predictions from the
prediction log, compares their inputs with the training split (the reference) using Evidently's
data-drift preset (one statistical test per feature), and writes into `monitoring.report_dir`:

    drift_report.html   the full Evidently report, to open in a browser
    drift_summary.json  per feature: test, score, threshold, drifted; and the overall verdict

The dataset counts as drifted when at least `monitoring.drift_share` of the features drifted;
the command then exits 1, so a CI job or a scheduler can act on it.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from .config import Params, UserError, prediction_log_url
from .data import NUMBER, TEXT, as_model_input, feature_types, load_training_data
from .prediction_log import read_predictions

HTML_NAME = "drift_report.html"
SUMMARY_NAME = "drift_summary.json"
SHOWN_FEATURES = 10  # drifted features printed; the JSON summary has them all


def load_reference(params: Params) -> pd.DataFrame:
    """The training split: the same rows the model was fitted on (same data, same seed)."""
    return load_training_data(params).split.x_train


def load_current(params: Params, types: dict[str, str]) -> pd.DataFrame:
    """The inputs of the most recent predictions, one column per feature, typed as in training."""
    url = prediction_log_url(params)
    logged = read_predictions(url, limit=params.monitoring.window_rows)
    if logged.empty:
        raise UserError(
            f"No predictions in the log at {url} yet, so there is nothing to compare. "
            f"Fix: start the service (`python -m {__package__} serve`) and send it requests."
        )
    missing = [name for name in types if name not in logged.columns]
    if missing:
        raise UserError(
            f"The logged inputs lack the training features {missing}: the served model does not "
            "match params.yaml. Fix: serve a champion trained with this project's data."
        )
    return as_model_input(logged, types, source="the prediction log")


def build_report(current: pd.DataFrame, reference: pd.DataFrame, drift_share: float):
    """Run Evidently's data-drift preset; tests are included because they hold the verdicts.

    Numbers and text categories get different tests (Evidently picks them by column kind).
    """
    types = feature_types(reference)
    definition = DataDefinition(
        numerical_columns=[name for name, kind in types.items() if kind == NUMBER],
        categorical_columns=[name for name, kind in types.items() if kind == TEXT],
    )
    report = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True)
    with warnings.catch_warnings():
        # A feature that is constant in the window makes numpy warn inside Evidently's summary
        # statistics; its drift test is still computed, so the warning is only noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        return report.run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )


def summarize(snapshot, drift_share: float) -> dict:
    """Per-feature scores and verdicts, and the dataset verdict, from the Evidently snapshot.

    Scores live in the ValueDrift metrics (a p-value or a distance, depending on the test);
    the drifted / not drifted verdict of each feature lives in the test bound to that metric.
    """
    result = snapshot.dict()
    metrics = {metric["id"]: metric for metric in result["metrics"]}
    features = {}
    for test in result["tests"]:
        config = test["metric_config"]["params"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        features[config["column"]] = {
            "method": config["method"],
            "score": metrics[test["metric_config"]["metric_id"]]["value"],
            "threshold": config["threshold"],
            "drifted": test["status"] == "FAIL",
        }
    drifted = sorted(name for name, feature in features.items() if feature["drifted"])
    share = len(drifted) / len(features) if features else 0.0
    return {
        "dataset_drift": share >= drift_share,
        "drifted_features": drifted,
        "drifted_share": share,
        "drift_share_threshold": drift_share,
        "features": features,
    }


def run_monitor(params: Params) -> bool:
    """Write the drift report and its JSON summary; True when the dataset drifted."""
    reference = load_reference(params)
    current = load_current(params, feature_types(reference))
    snapshot = build_report(current, reference, params.monitoring.drift_share)
    summary = summarize(snapshot, params.monitoring.drift_share)

    report_dir = params.resolve(params.monitoring.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    html_path = report_dir / HTML_NAME
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # as in build_report
        snapshot.save_html(str(html_path))
    summary = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "current_rows": len(current),
        "reference_rows": len(reference),
        "report": str(html_path),
        **summary,
    }
    summary_path = report_dir / SUMMARY_NAME
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print_summary(summary, summary_path)
    return summary["dataset_drift"]


def print_summary(summary: dict, summary_path: Path) -> None:
    drifted = summary["drifted_features"]
    print(
        f"Compared the last {summary['current_rows']} logged inputs with "
        f"{summary['reference_rows']} training rows: {len(drifted)} of "
        f"{len(summary['features'])} features drifted ({summary['drifted_share']:.0%}; "
        f"the dataset counts as drifted from {summary['drift_share_threshold']:.0%})."
    )
    for name in drifted[:SHOWN_FEATURES]:
        feature = summary["features"][name]
        print(f"  {name}: {feature['method']} = {feature['score']:.3g}")
    if len(drifted) > SHOWN_FEATURES:
        print(f"  ... and {len(drifted) - SHOWN_FEATURES} more (see the summary)")
    verdict = "DRIFT DETECTED" if summary["dataset_drift"] else "No dataset drift"
    print(f"{verdict}. Report: {summary['report']} (summary: {summary_path})")
