"""Every page of the seeded demo data in headless Chromium under the real Content-Security-Policy: no violation
(`securitypolicyviolation` events, CSP console messages), no JavaScript error, no failed same-origin request;
Plotly charts drawn with their styles, htmx fragments loaded, Swagger UI rendered."""

from __future__ import annotations

import pytest
from django.test import Client

from .web_routes import fill, page_routes, seed_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '') + ' at '
                    + e.sourceFile + ':' + e.lineNumber);
});
"""


def html_pages(ids: dict) -> list[str]:
    """The page routes that answer a full HTML page to the demo admin on GET (POST-only routes answer 405,
    htmx fragments have no <html>, the PDF and /healthz are not HTML)."""
    client = Client()
    assert client.login(username="admin", password=ids["password"])
    pages = []
    for route in page_routes():
        url = fill(route, ids)
        if url == "/accounts/logout/":
            continue
        response = client.get(url)
        if response.status_code == 200 and b"<html" in response.content[:400]:
            pages.append(url)
    return pages


def watch(page) -> dict:
    problems: dict[str, list[str]] = {"console": [], "failed": []}
    page.on(
        "console",
        lambda msg: (
            problems["console"].append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems["failed"].append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return problems


def visit(page, url: str, problems: dict) -> list[str]:
    problems["console"].clear()
    problems["failed"].clear()
    page.js_errors.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__csp")
    return [*violations, *problems["console"], *problems["failed"], *page.js_errors]


def test_every_page_works_under_the_content_security_policy(page, live_server):
    ids = seed_ids()
    pages = html_pages(ids)
    # the generated list really covers the site: boards, details, dashboards, gates, forms
    for expected in (
        "/defects/",
        f"/defects/{ids['defect_key']}/",
        f"/runs/{ids['run']}/",
        "/dashboards/",
        f"/releases/{ids['release']}/dashboard/",
        "/projects/PAY/dashboard/",
        f"/releases/{ids['release']}/readiness/",
        "/projects/PAY/audit/",
        "/accounts/token/",
        f"/releases/{ids['release']}/traceability/",
        f"/incidents/{ids['incident']}/",
    ):
        assert expected in pages
    assert len(pages) >= 30, pages

    page.context.add_init_script(LISTENER)
    problems = watch(page)
    # logged out first: the login page
    assert visit(page, "/accounts/login/", problems) == []
    page.fill("#id_username", "admin")
    page.fill("#id_password", ids["password"])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    found = {}
    charts_seen = 0
    for url in [*pages, "/api/docs/", "/admin/", "/admin/defects/defect/"]:
        issues = visit(page, url, problems)
        if issues:
            found[url] = issues
        targets = page.locator("script[data-plotly-target]").count()
        if targets:
            # every embedded figure was drawn, and Plotly's CSS rules went into the nonce'd <style>
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot').length >= "
                "document.querySelectorAll('script[data-plotly-target]').length"
            )
            rules = page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length")
            assert rules > 0, url
            charts_seen += targets
            # hover the first trace's first point: the hover label renders without a violation
            page.evaluate(
                "() => { const gd = document.querySelector('.js-plotly-plot');"
                " window.Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: 0}]); }"
            )
            extra = page.evaluate("window.__csp")
            if extra:
                found.setdefault(url, []).extend(extra)
    assert found == {}
    assert charts_seen >= 5

    # htmx: the defect page's similar-defects fragment (hx-trigger=load) arrived
    visit(page, f"/defects/{ids['defect_key']}/", problems)
    page.wait_for_function("!document.body.innerText.includes('Looking for similar defects')")
    # Swagger UI rendered from the locally served assets
    visit(page, "/api/docs/", problems)
    page.wait_for_selector(".swagger-ui .info .title")
