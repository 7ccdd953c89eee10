"""The documentation site builds and works without network access: built with `mkdocs build --strict`,
served from a local HTTP server and opened in headless Chromium with every other request refused, the
data-flow diagram is drawn (Mermaid is served with the site, not from a CDN), search works and no page error
occurs."""

import functools
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.browser
def test_the_built_site_draws_its_diagram_offline(browser, tmp_path):
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert build.returncode == 0, build.stderr

    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    outside: list[str] = []
    context.route(
        lambda url: not url.startswith(base),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _check_site(page, base)
    finally:
        context.close()
        server.shutdown()
    assert outside == [], f"the site fetched from the network: {outside}"
    assert errors == []


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _check_site(page, base: str) -> None:
    page.goto(f"{base}/architecture/")
    diagram = page.locator("div.mermaid").first
    # Material replaces the code block with a drawing; until Mermaid has drawn it, the box has no height.
    page.wait_for_function(
        "() => { const d = document.querySelector('div.mermaid'); return d && d.getBoundingClientRect().height > 300 }",
        timeout=30_000,
    )
    assert diagram.bounding_box()["width"] > 300
    # the search box finds the contract page (the index is built with the site, searched in the browser)
    page.keyboard.press("/")
    page.keyboard.type("stability index")
    page.locator(".md-search-result__link", has_text="Metric and gate contract").first.wait_for()
