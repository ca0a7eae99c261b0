"""Evidently's HTML drift report, drawn in a process of its own while monitoring works.

Importing Evidently alone takes seconds, and drawing its report a few more. Neither is needed
for the numbers (monitor.py computes them), so `python -m <package> monitor` starts this process
first: Evidently imports and draws on a second core while the command reads the prediction log
and runs the statistics, and the JSON summary never waits for it.

The process is started with "spawn": a fresh interpreter that imports this module and
Evidently, never a copy of the parent's memory and its open database connections. Where no
process can be started (inside a daemonic worker), the report is drawn in this process
instead: slower, same file.
"""

from __future__ import annotations

import multiprocessing
import queue
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

WAIT_SECONDS = 1.0  # how often the wait for the report checks that its process is still alive


@dataclass
class HtmlJob:
    """Everything Evidently needs, already prepared: the frames are small samples."""

    current: pd.DataFrame  # a sample of the window, number columns as numbers
    reference: pd.DataFrame  # a frame drawn from the saved reference summaries
    numerical: list[str]
    categorical: list[str]
    psi_threshold: float
    path: Path


def draw(job: HtmlJob) -> None:
    """Run Evidently's drift preset (PSI) on the job's frames and save the HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=job.numerical, categorical_columns=job.categorical
    )
    preset = DataDriftPreset(method="psi", threshold=job.psi_threshold)
    with warnings.catch_warnings():
        # A constant column makes numpy warn inside Evidently's summaries; the report is fine.
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(job.current, data_definition=definition),
            Dataset.from_pandas(job.reference, data_definition=definition),
        )
        snapshot.save_html(str(job.path))


def serve_one_job(jobs: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    """The report process: import Evidently while the parent reads the log, then draw the one
    job it is sent (None: nothing to draw) and answer None, or what went wrong."""
    import evidently.presets  # noqa: F401  (the slow import, done before the job arrives)

    job = jobs.get()
    if job is None:
        return
    try:
        draw(job)
    except Exception as error:  # reported by the parent, which decides what to do
        results.put(f"{type(error).__name__}: {error}")
    else:
        results.put(None)


class HtmlProcess:
    """A started report process: send it one job, then wait for its HTML (or cancel it)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        # Queues, not a pipe: `put` hands the job to a background thread and returns at once,
        # even while the process is still importing Evidently and not reading yet.
        self.jobs = context.Queue()
        self.results = context.Queue()
        self.process = context.Process(
            target=serve_one_job, args=(self.jobs, self.results), name="evidently-html"
        )
        self.process.start()

    def submit(self, job: HtmlJob) -> None:
        self.jobs.put(job)

    def wait(self) -> None:
        """Block until the HTML is written; a RuntimeError says why it was not."""
        error = self.result()
        self.process.join()
        if error:
            raise RuntimeError(f"Evidently could not draw the HTML report: {error}")

    def result(self) -> str | None:
        while True:
            try:
                return self.results.get(timeout=WAIT_SECONDS)
            except queue.Empty:
                if not self.process.is_alive():
                    break
        try:  # it may have answered just before it ended
            return self.results.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            return f"its process ended without an answer (exit code {self.process.exitcode})"

    def cancel(self) -> None:
        """No report after all (no rows, or monitoring failed): let the process end."""
        # A job still on its way to a stopped process must not keep this one from exiting.
        self.jobs.cancel_join_thread()
        if self.process.is_alive():
            self.process.terminate()  # it may still be importing Evidently: no need to wait
        self.process.join()


def start_html_process() -> HtmlProcess | None:
    """A report process importing Evidently from now on, or None where none can be started."""
    try:
        return HtmlProcess()
    except (AssertionError, OSError):  # a daemonic parent may not have children; no resources
        return None
