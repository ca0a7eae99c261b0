"""The built site opened in headless Chromium: each level page shows its title, a rendered diagram and exercises.

Mermaid is served from the site itself (the npm package), since this machine has no CDN: the test proves
the diagram is drawn in a real browser, not only that a `mermaid` block exists in the Markdown.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from docs_site import build_site
from headless_browser import MERMAID_JS, MERMAID_PACKAGE, ensure_npm_package, rendered_dom, static_server

from mlops_ladder.levels import all_levels


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = build_site(folder, mermaid_js=ensure_npm_package(MERMAID_PACKAGE, MERMAID_JS))
    assert result.returncode == 0, result.stderr[-4000:]
    return folder


def test_each_level_page_shows_its_title_diagram_and_exercises(site: Path) -> None:
    with static_server(site) as base:
        for number, level in all_levels().items():
            dom = rendered_dom(f"{base}/levels/level{number}/")
            assert re.search(rf"<h1[^>]*>Level {number}: {re.escape(html.escape(level.name))}<", dom), (
                f"level {number}: no title"
            )
            # Material swaps each <pre class="mermaid"> for a <div class="mermaid"> once Mermaid drew it.
            assert '<div class="mermaid"' in dom, f"level {number}: the diagram was not rendered"
            assert '<pre class="mermaid">' not in dom, f"level {number}: a diagram was left undrawn"
            assert 'id="exercises"' in dom, f"level {number}: no exercises section"
            exercises = dom.split('id="exercises"', 1)[1]
            assert "<p>" in exercises or "<ol>" in exercises or "<ul>" in exercises, "the exercise list is empty"
