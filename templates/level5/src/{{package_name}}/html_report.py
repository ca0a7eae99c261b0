"""Evidently's HTML drift report, drawn in a process of its own while monitoring works.

Importing Evidently alone takes seconds, and drawing its report a few more. Neither is needed
for the numbers (monitor.py computes them), so `python -m <package> monitor` first starts this
module as a program of its own (`python -m <package>.html_report`): it imports Evidently on a
second core while the command reads the prediction log and runs the statistics. Then it reads
its job from its standard input (the path of a file holding the two samples, pickled), draws,
and exits; an empty input means "nothing to draw".

A fresh interpreter rather than a fork or a multiprocessing worker: it holds none of the
parent's memory or database connections, and it never re-runs the parent's script (which
multiprocessing's "spawn" does to a script without an `if __name__ == "__main__":` guard).
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# The folder this package was imported from: the report process imports it from there too.
PACKAGE_PARENT = Path(__file__).resolve().parents[1]


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


class HtmlProcess:
    """A started report process: send it one job, then wait for its HTML (or cancel it)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_PARENT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        # The job and the process's errors go through files in a folder of its own. Errors: a
        # pipe that nobody reads until the end could fill up and stall the process.
        self.folder = Path(tempfile.mkdtemp(prefix="html-report-"))
        self.errors = self.folder / "errors.txt"
        with self.errors.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=env,
            )

    def submit(self, job: HtmlJob) -> None:
        """Hand the job over; returns at once, even while the process still imports Evidently."""
        job_file = self.folder / "job.pickle"
        job_file.write_bytes(pickle.dumps(job))
        self._send(str(job_file))

    def wait(self) -> None:
        """Block until the HTML is written; a RuntimeError says why it was not."""
        exit_code = self.process.wait()
        if exit_code != 0:
            lines = self.errors.read_text(errors="replace").strip().splitlines()
            error = lines[-1] if lines else f"exit code {exit_code}"
            raise RuntimeError(f"Evidently could not draw the HTML report: {error}")

    def cancel(self) -> None:
        """Stop the process if it still runs (no rows, or monitoring failed); clean up."""
        self._send("")  # an empty job: a process still importing Evidently ends by itself
        if self.process.poll() is None:
            self.process.kill()  # no need to wait for Evidently's import to finish
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _send(self, line: str) -> None:
        if self.process.stdin is None or self.process.stdin.closed:
            return
        try:
            self.process.stdin.write(f"{line}\n".encode())
            self.process.stdin.close()
        except BrokenPipeError:  # the process ended already; wait() reports why
            pass


def main() -> None:
    """The report process: import Evidently, then draw the job named on standard input."""
    import evidently.presets  # noqa: F401  (the slow import, done before the job arrives)

    job_path = sys.stdin.readline().strip()
    if job_path:
        draw(pickle.loads(Path(job_path).read_bytes()))


if __name__ == "__main__":
    main()
