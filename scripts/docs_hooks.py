"""MkDocs hooks: serve Mermaid from the site itself when MLOPS_LADDER_MERMAID_JS names a mermaid.min.js.

Material loads Mermaid from a CDN unless the page already defines `mermaid`; an offline machine (the
browser test, CI) has no CDN, so it ships the file from the npm package instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

MERMAID_ENV = "MLOPS_LADDER_MERMAID_JS"
SITE_PATH = "javascripts/mermaid.min.js"


def _mermaid_file() -> Path | None:
    given = os.environ.get(MERMAID_ENV)
    return Path(given) if given else None


def on_config(config: Any) -> Any:
    mermaid = _mermaid_file()
    if mermaid is not None:
        if not mermaid.is_file():
            raise FileNotFoundError(f"{MERMAID_ENV}={mermaid} is not a file")
        config.extra_javascript.append(SITE_PATH)
    return config


def on_post_build(config: Any) -> None:
    mermaid = _mermaid_file()
    if mermaid is not None:
        target = Path(config.site_dir) / SITE_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mermaid, target)
