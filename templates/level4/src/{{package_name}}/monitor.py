"""Monitoring: drift and data quality of the served inputs and outputs, with alerts.

`python -m <package> monitor` reads the champion's most recent `monitoring.window_rows` predictions
from the prediction log, and checks each feature and the model's output
against the reference saved with the champion at training time (reference.py):

- drift: a test (KS for numbers, chi-square for categories), its p-value corrected across all
  columns (Holm), and the PSI effect size; see drift_statistics.py for why an alarm needs both;
- data quality: missing share, values outside the training range, unseen categories, wrong types.

It writes into `monitoring.report_dir`:

    drift_summary.json  per column: test, statistic, p-value (raw and corrected), effect size,
                        threshold and verdict, plus each quality check; the alarms; the webhook
    drift_report.html   Evidently's report on a sample of the window, to look at distributions
                        (its own per-column verdicts are Evidently's; the JSON holds ours),
                        drawn in a process of its own while the numbers are computed
                        (html_report.py); the command ends once it is written

Each crossed threshold is posted to the webhook, if one is configured (alerts.py), and written
to the audit trail as an `alert` entry saying whether it was delivered.
Exit codes: 0 nothing crossed; 1 at least one alarm; 2 a usage error (no log, no champion);
3 fewer than `monitoring.min_rows` rows of the champion in the window, so nothing was judged.
"""

from __future__ import annotations

import gc
import json
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa

from . import audit
from . import drift_statistics as ds
from .alerts import Alert, Delivery, describe_target, send_alerts, webhook_url
from .config import MonitoringParams, Params, UserError, prediction_log_url
from .html_report import HtmlJob, HtmlProcess, draw
from .metrics import publish_gauges
from .prediction_log import make_engine, predictions
from .reference import PREDICTION, load_reference

HTML_NAME = "drift_report.html"
SUMMARY_NAME = "drift_summary.json"

QUIET, ALARM, NOT_ENOUGH_DATA = "quiet", "alarm", "not enough data"
EXIT_CODES = {QUIET: 0, ALARM: 1, NOT_ENOUGH_DATA: 3}


def run_monitor(params: Params) -> dict:
    """Check the latest window, write the reports, send the alerts; return the JSON summary."""
    # Evidently's HTML starts first, in a process of its own: it imports and draws on another
    # core while this one reads the log and computes the numbers (html_report.py says more).
    html = HtmlProcess() if params.monitoring.html_sample_rows else None
    try:
        return monitor_window(params, html)
    finally:
        if html is not None:
            html.cancel()  # nothing left to do once the report is written; else stop it


def monitor_window(params: Params, html: HtmlProcess | None) -> dict:
    """`run_monitor`'s work: the window, the HTML job, the numbers, the alerts, the files."""
    reference, version = load_reference(params)
    window = load_window(params, reference, version)
    report_dir = params.resolve(params.monitoring.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path, html_path = report_dir / SUMMARY_NAME, report_dir / HTML_NAME
    job = None
    if html is not None and len(window):
        job = html_job(reference, window, params.monitoring, html_path)
        html.submit(job)  # drawn while the statistics run below
    summary = summarize(params, reference, window, version)
    if job is not None:
        summary["html_report"] = str(html_path)
    alerts = [Alert(**alarm, report=str(summary_path)) for alarm in summary["alarms"]]
    deliveries = send_alerts(params, alerts)
    summary["webhook"] = describe_deliveries(params, deliveries)
    audit_alerts(params, alerts, deliveries)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    publish_gauges(params, gauges(summary))
    print_summary(summary, summary_path)
    if html is not None and job is not None:
        # The numbers are out; the command still ends with the HTML written (or says why not).
        html.wait()
        print(f"Evidently report (distributions, on a sample): {job.path}")
    return summary


def gauges(summary: dict) -> dict[str, float]:
    """The numbers the service shows on /metrics, where Prometheus' alert rules watch them."""
    features = summary["features"]
    drifted = [name for name, column in features.items() if column["drift"]["verdict"] == ds.DRIFT]
    quality = [alarm for alarm in summary["alarms"] if alarm["check"] != "drift"]
    return {
        "drift_detected": float(any(alarm["check"] == "drift" for alarm in summary["alarms"])),
        "drifted_feature_share": len(drifted) / max(len(features), 1),
        # columns with a data-quality alarm (missing, out of range, unseen, wrong type)
        "anomaly_share": len({alarm["column"] for alarm in quality}) / max(len(features), 1),
    }


# Rows read and parsed at a time. A chunk's parsed rows take ~30 MB per 20,000 while the window
# itself takes ~90 MB per million rows: small chunks keep a million-row window's memory at about
# twice the window (the chunks, then the joined window), and cost no time (measured: 20,000 rows,
# 440 MB at the peak; 100,000 rows, 590 MB; the same CPU time).
CHUNK_ROWS = 20_000


def read_window(url: str, version: str, features: list[str], limit: int) -> pd.DataFrame:
    """The latest `limit` predictions of one model version: one column per feature, `prediction`.

    A chunk of rows at a time (newest first, each chunk older than the last), the database joins
    the logged JSON texts into one JSON array, which orjson parses in one call and pandas turns
    into columns: no Python code runs per row, so a million-row window takes seconds, and the
    chunks bound the memory. A value stays as logged (a text in a number column is still a
    text), so the data-quality checks see it; a missing value or feature reads as missing.
    """
    if not has_prediction_log(url):
        raise UserError(
            f"No prediction log at {url} yet, so there is nothing to compare. "
            f"Fix: start the service (`python -m {__package__} serve`) and send it requests."
        )
    frames: list[pd.DataFrame] = []
    engine = make_engine(url)
    # One thread asks the database for the next chunk while this one parses the last: the
    # driver lets go of the GIL while the database works, so both run at once.
    try:
        with engine.connect() as connection, ThreadPoolExecutor(max_workers=1) as database:
            first = chunk_query(version, None, min(CHUNK_ROWS, limit))
            pending: Future[sa.Row] | None = database.submit(fetch_chunk, connection, first)
            read = 0
            while pending is not None:
                rows, oldest, inputs, outputs = pending.result()
                if not rows:
                    break
                read += rows
                pending = None
                if read < limit:
                    query = chunk_query(version, oldest, min(CHUNK_ROWS, limit - read))
                    pending = database.submit(fetch_chunk, connection, query)
                frames.append(parse_chunk(inputs, outputs, features))
    finally:
        engine.dispose()
    if not frames:
        return pd.DataFrame({name: [] for name in [*features, PREDICTION]})
    return pd.concat(frames, ignore_index=True)


def chunk_query(version: str, older_than: int | None, rows: int) -> sa.Select:
    """The next `rows` rows of `version`, newest first, older than id `older_than`: how many,
    the oldest id among them, and their inputs and their predictions, each column's JSON texts
    joined by commas (a JSON array without its brackets). One aggregate walks the rows once, so
    the n-th input and the n-th prediction belong to the same row."""
    table = predictions
    chunk = sa.select(table.c.id, table.c.inputs, table.c.prediction)
    chunk = chunk.where(table.c.model_version == version)
    if older_than is not None:
        chunk = chunk.where(table.c.id < older_than)
    newest = chunk.order_by(table.c.id.desc()).limit(rows).subquery()
    return sa.select(
        sa.func.count(),
        sa.func.min(newest.c.id),
        sa.func.aggregate_strings(sa.cast(newest.c.inputs, sa.Text), ","),
        sa.func.aggregate_strings(sa.cast(newest.c.prediction, sa.Text), ","),
    )


def fetch_chunk(connection: sa.Connection, query: sa.Select) -> sa.Row:
    return connection.execute(query).one()


def parse_chunk(inputs: str, outputs: str, features: list[str]) -> pd.DataFrame:
    """One chunk's joined JSON texts as columns: the features, then `prediction`."""
    # Parsing makes a dict per row. Python's garbage collector would walk them all again every
    # few thousand new ones, which costs more than the parsing; none of them forms a cycle.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        frame = pd.DataFrame(orjson.loads(f"[{inputs}]"), columns=features)
        frame[PREDICTION] = orjson.loads(f"[{outputs}]")
    finally:
        if was_enabled:
            gc.enable()
    return frame


def has_prediction_log(url: str) -> bool:
    engine = make_engine(url)
    try:
        return sa.inspect(engine).has_table(predictions.name)
    finally:
        engine.dispose()


def load_window(params: Params, reference: dict, version: str) -> pd.DataFrame:
    """The champion's latest logged rows: one column per feature as logged, and `prediction`."""
    url = prediction_log_url(params)
    window = read_window(url, version, list(reference["features"]), params.monitoring.window_rows)
    if reference[PREDICTION]["kind"] == ds.CATEGORICAL:
        # Class labels are compared as text (the reference counted them so), 0 and "0" alike.
        labels = window[PREDICTION]
        window[PREDICTION] = labels.astype(str).where(labels.notna())
    return window


def column_limits(monitoring: MonitoringParams, columns: list[str]) -> dict[str, ds.Thresholds]:
    """The section's limits for each column, with its overrides from `monitoring.features`."""
    unknown = sorted(set(monitoring.features) - set(columns))
    if unknown:
        raise UserError(
            f"monitoring.features names {unknown}, which the champion's reference does not have "
            f"(columns: {', '.join(columns)}). Fix: correct the names in params.yaml."
        )
    defaults = {field: getattr(monitoring, field) for field in ds.Thresholds.__dataclass_fields__}
    limits = {}
    for name in columns:
        overrides = monitoring.features.get(name)
        given = overrides.model_dump(exclude_none=True) if overrides else {}
        limits[name] = ds.Thresholds(**{**defaults, **given})
    return limits


def summarize(params: Params, reference: dict, window: pd.DataFrame, version: str) -> dict:
    """Every column's drift and quality verdicts, the alarms, and the overall status."""
    monitoring = params.monitoring
    references = {**reference["features"], PREDICTION: reference[PREDICTION]}
    limits = column_limits(monitoring, list(references))
    columns = ds.assess(references, window, limits, monitoring.alpha, monitoring.min_rows)
    alarms = list_alarms(columns, version)
    if alarms:
        status = ALARM
    elif len(window) < monitoring.min_rows:
        status = NOT_ENOUGH_DATA
    else:
        status = QUIET
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": version,
        "status": status,
        "rows": len(window),
        "reference_rows": reference["rows"],
        "min_rows": monitoring.min_rows,
        "alpha": monitoring.alpha,
        "correction": "holm",
        "effect_size": "psi",
        "alarms": alarms,
        "features": {name: columns[name] for name in reference["features"]},
        PREDICTION: columns[PREDICTION],
    }


def list_alarms(columns: dict[str, dict], version: str) -> list[dict]:
    """One alarm per crossed threshold: drift of a column, or one of its quality checks."""
    alarms = []
    for name, column in columns.items():
        drift = column["drift"]
        if drift["verdict"] == ds.DRIFT:
            alarms.append(
                alarm("drift", name, drift["effect_size"], drift["effect_threshold"], version)
            )
        for check, result in column["quality"].items():
            if result["verdict"] == ds.ALARM:
                alarms.append(alarm(check, name, result["value"], result["threshold"], version))
    return alarms


def alarm(check: str, column: str, value: float, threshold: float, version: str) -> dict:
    return {
        "check": check,
        "column": column,
        "value": value,
        "threshold": threshold,
        "model_version": version,
    }


def describe_deliveries(params: Params, deliveries: list[Delivery]) -> dict:
    url = webhook_url(params)
    return {
        "target": describe_target(url) if url else None,
        "delivered": sum(delivery.delivered for delivery in deliveries),
        "failed": [
            {
                "check": d.alert.check,
                "column": d.alert.column,
                "attempts": d.attempts,
                "error": d.error,
            }
            for d in deliveries
            if not d.delivered
        ],
    }


def audit_alerts(params: Params, alerts: list[Alert], deliveries: list[Delivery]) -> None:
    """One `alert` entry per alert in the audit trail: what crossed, by how much, the threshold,
    and whether the webhook got it. A trail that cannot be written is reported, not raised:
    the alerts are already out, and the JSON summary holds them too."""
    url = webhook_url(params)
    outcomes: list[Delivery | None] = list(deliveries) if deliveries else [None] * len(alerts)
    try:
        for alert, delivery in zip(alerts, outcomes, strict=True):
            audit.record(
                "alert",
                params,
                model=params.registry.model_name,
                version=alert.model_version,
                check=alert.check,
                column=alert.column,
                value=alert.value,
                threshold=alert.threshold,
                webhook=describe_target(url) if url else None,
                delivered=delivery.delivered if delivery else False,
                error=(delivery.error if delivery else "no webhook configured"),
                report=alert.report,
            )
    except Exception as error:  # a full disk, a locked database: say so, finish monitoring
        print(f"WARNING: the audit trail could not record the alerts: {error}", file=sys.stderr)


def reference_sample(reference: dict, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A frame drawn from the saved summaries, for Evidently: numbers from the reference sample,
    categories in their training shares. Columns are drawn apart; Evidently compares them apart."""
    columns = {}
    for name, summary in {**reference["features"], PREDICTION: reference[PREDICTION]}.items():
        if summary["kind"] == ds.NUMERIC:
            values = np.asarray(summary["sample"] or [np.nan])
        else:
            counts = summary["counts"] or {"": 1}
            values = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
        columns[name] = rng.choice(values, size=rows, replace=len(values) < rows)
    return pd.DataFrame(columns)


def html_job(
    reference: dict, window: pd.DataFrame, monitoring: MonitoringParams, path: Path
) -> HtmlJob:
    """What Evidently draws: at most `html_sample_rows` rows of each side, a human view that stays
    fast on a million-row window (Evidently took 71 s on 1M x 10 rows in full)."""
    rng = np.random.default_rng(0)
    current = window.sample(min(len(window), monitoring.html_sample_rows), random_state=0)
    current = current.reset_index(drop=True)
    kinds = {name: summary["kind"] for name, summary in reference["features"].items()}
    kinds[PREDICTION] = reference[PREDICTION]["kind"]
    numbers = [name for name, kind in kinds.items() if kind == ds.NUMERIC]
    for name in numbers:
        current[name] = pd.to_numeric(current[name], errors="coerce")
    return HtmlJob(
        current=current,
        reference=reference_sample(reference, monitoring.html_sample_rows, rng),
        numerical=numbers,
        categorical=[name for name, kind in kinds.items() if kind == ds.CATEGORICAL],
        psi_threshold=monitoring.effect_threshold,
        path=path,
    )


def write_html(
    reference: dict, window: pd.DataFrame, monitoring: MonitoringParams, path: Path
) -> None:
    """Evidently's drift report on a sample of the window, drawn in this process."""
    draw(html_job(reference, window, monitoring, path))


def print_summary(summary: dict, summary_path: Path) -> None:
    """A table a person can read in a terminal: one line per column, then the alarms."""
    print(
        f"Checked {summary['rows']} logged predictions of model version {summary['model_version']} "
        f"against its training reference ({summary['reference_rows']} rows); "
        f"alpha {summary['alpha']} (Holm), effect size PSI, min rows {summary['min_rows']}."
    )
    header = f"{'column':<28} {'test':<10} {'statistic':>9} {'p (Holm)':>9} {'PSI':>7} {'limit':>6}"
    print(f"  {header}  verdict")
    columns = {**summary["features"], PREDICTION: summary[PREDICTION]}
    for name, column in columns.items():
        drift = column["drift"]
        print(
            f"  {name[:28]:<28} {drift['test']:<10} {number(drift['statistic']):>9} "
            f"{number(drift['p_value_adjusted']):>9} {number(drift['effect_size']):>7} "
            f"{drift['effect_threshold']:>6.3g}  {drift['verdict']}"
        )
    for alarm in summary["alarms"]:
        value, threshold = alarm["value"], alarm["threshold"]
        print(f"ALARM {alarm['check']} in '{alarm['column']}': {value:.4g} > {threshold:.4g}")
    webhook = summary["webhook"]
    if webhook["target"]:
        print(f"Webhook {webhook['target']}: {webhook['delivered']} alert(s) delivered.")
        for failure in webhook["failed"]:
            print(
                f"  NOT delivered: {failure['check']} in '{failure['column']}' "
                f"after {failure['attempts']} attempt(s): {failure['error']}"
            )
    print(f"Status: {summary['status'].upper()}. Summary: {summary_path}")


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
