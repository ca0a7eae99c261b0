"""Headless Chromium (Debian's `chromium` package) for the docs tests: screenshots and rendered DOMs.

Also the two browser-side libraries that pages normally take from a CDN, which an offline machine
cannot reach: Mermaid (the site's diagrams) and Swagger UI (a FastAPI /docs page), installed from the
npm registry into .tools/ once per checkout, as the workflow linter is (tests/linters.py).
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".tools"
MERMAID_PACKAGE, MERMAID_JS = "mermaid@11", TOOLS / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
SWAGGER_PACKAGE, SWAGGER_DIR = "swagger-ui-dist@5", TOOLS / "node_modules" / "swagger-ui-dist"


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is missing: `apt-get install chromium` (.ci/run installs it)")
    return binary


def _browser(*options: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. The virtual time
    # budget lets the page's scripts finish (diagrams, single-page apps) before the capture.
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    command += ["--disable-dev-shm-usage", "--virtual-time-budget=20000", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)


def screenshot(url: str, png: Path, width: int = 1280, height: int = 900) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    _browser(f"--window-size={width},{height}", f"--screenshot={png}", url)
    return png


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran."""
    return _browser("--dump-dom", url).stdout


def ensure_npm_package(package: str, installed: Path) -> Path:
    """Install an npm package into .tools/ (git-ignored) unless there; a file lock serialises workers."""
    TOOLS.mkdir(exist_ok=True)
    with (TOOLS / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists():
            npm = shutil.which("npm")
            assert npm, f"npm is missing: the docs tests install {package} with it (see CONTRIBUTING.md)"
            command = [npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--silent", package]
            subprocess.run(command, check=True, capture_output=True)
    return installed


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve a folder on a free loopback port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def is_real_png(png: Path, min_bytes: int = 20_000) -> bool:
    """A PNG of a page with something on it: the signature, and more bytes than a blank page compresses to."""
    data = png.read_bytes()
    return data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > min_bytes
