"""Stored XSS: hostile text typed into defects, comments, JUnit reports (test names, failure messages, run
names), requirements and incidents is shown escaped on every page that displays it, charts' hover labels
included, and never runs.

The browser context bypasses the Content-Security-Policy on purpose: the CSP would block an injected inline
script anyway, and this test is about the escaping itself (the CSP is the second line, tested separately).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import pytest
from django.utils import timezone

from gates import services as gate_services
from gates.models import QualityGate
from metrics import services as metric_services
from testing import models as testing_models

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload="window.__xss=1">'
PAYLOADS = (SCRIPT, IMG, SVG)
# Plotly renders a few tags in labels and hover text (<b>, <a href>, ...): they too must show as typed.
RICH = '<b>bold</b> <a href="javascript:window.__xss=1">link</a>'
ALL = " ".join(PAYLOADS)

# After every page: nothing ran, and no element the payloads would create exists.
INJECTED = (
    "() => ({xss: window.__xss === undefined ? null : window.__xss,"
    " elements: document.querySelectorAll('img[src=\"x\"], svg[onload], [onerror], [onload]').length,"
    " scripts: Array.from(document.scripts).filter(s => s.textContent.includes('__xss=1') && !s.type.includes('json')).length})"
)


def junit(names: list[str], message: str) -> bytes:
    cases = "".join(
        f'<testcase classname={quoteattr("xss.suite")} name={quoteattr(n)} time="0.1">'
        f"<failure message={quoteattr(message)}>{message.replace('&', '&amp;').replace('<', '&lt;')}</failure>"
        "</testcase>"
        for n in names
    )
    return f'<?xml version="1.0"?><testsuite name="xss" tests="{len(names)}">{cases}</testsuite>'.encode()


@pytest.fixture
def hostile(make_member, api_client_for, project, release, admin):
    """Every kind of user text the pages show, each carrying all three payloads."""
    qa, manager = make_member("qa"), make_member("manager")
    qa_api, manager_api = api_client_for(qa), api_client_for(manager)
    created = qa_api.post(
        "/api/v1/defects/",
        {
            "project": project.key,
            "title": f"Refund {ALL}",
            "description": f"Steps {ALL}",
            "severity": "critical",
            "found_in_release": release.version,
            "component": f"pay{SVG}",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    key = created.json()["key"]
    assert (
        qa_api.post(f"/api/v1/defects/{key}/comments/", {"body": f"Comment {ALL}"}, format="json").status_code
        == 201
    )
    moved = qa_api.post(
        f"/api/v1/defects/{key}/transitions/", {"to": "triaged", "comment": f"Move {ALL}"}, format="json"
    )
    assert moved.status_code in (200, 201), moved.content
    # two CI runs, so the pass-rate chart has points whose hover text carries the run name
    for i, name in enumerate((f"nightly {IMG} {RICH}", f"nightly {SCRIPT}")):
        upload = qa_api.post(
            f"/api/v1/releases/{release.pk}/junit/?revision=r{i}&run_name={quote(name)}",
            data=junit([f"test_refund {SCRIPT}", f"test_pay {IMG}", f"test_void {SVG}"], f"boom {ALL}"),
            content_type="application/xml",
        )
        assert upload.status_code == 201, upload.content
    requirement = qa_api.post(
        "/api/v1/requirements/",
        {"project": project.key, "key": "REQ-1", "title": f"Refunds {ALL}", "releases": [release.pk]},
        format="json",
    )
    assert requirement.status_code == 201, requirement.content
    incident = manager_api.post(
        "/api/v1/incidents/",
        {
            "project": project.key,
            "title": f"Outage {ALL}",
            "description": f"Impact {ALL}",
            "started_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
            "release": release.pk,
            "defects": [key],
        },
        format="json",
    )
    assert incident.status_code == 201, incident.content
    metric_services.recompute_now(release_ids=[release.pk])
    gate = QualityGate.objects.filter(project=project).order_by("id").first()
    if gate is not None:
        gate_services.gate_evaluate(gate=gate, release=release, by=admin)
    run = testing_models.TestRun.objects.filter(release=release).order_by("-id").first()
    return {
        "admin": admin,
        "key": key,
        "run": run.pk,
        "release": release.pk,
        "incident": incident.json()["id"],
        "requirement": requirement.json()["id"],
    }


def test_hostile_text_is_shown_escaped_and_never_runs(browser, live_server, hostile, project):
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/accounts/login/")
    page.fill("#id_username", hostile["admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    release, key = hostile["release"], hostile["key"]
    # page -> the payload-bearing text it must show literally
    pages = {
        f"/defects/?project={project.key}": "Refund ",
        f"/defects/{key}/": "Comment ",  # detail and timeline (comment, move comment, description)
        f"/runs/{hostile['run']}/": "test_refund ",
        f"/runs/?release={release}": "nightly ",
        f"/releases/{release}/traceability/": "Refunds ",
        f"/requirements/{hostile['requirement']}/": "Refunds ",
        "/requirements/": "Refunds ",
        "/testcases/": "test_pay ",
        "/incidents/": "Outage ",
        f"/incidents/{hostile['incident']}/": "Impact ",
        f"/releases/{release}/": "nightly ",
        f"/releases/{release}/dashboard/": None,
        f"/projects/{project.key}/dashboard/": None,
        "/dashboards/": None,
        f"/releases/{release}/readiness/": None,
        f"/releases/{release}/gates/": None,
        f"/projects/{project.key}/audit/": None,
        "/defects/new/": None,
    }
    for url, label in pages.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate(INJECTED) == {"xss": None, "elements": 0, "scripts": 0}, url
        if label is not None:
            text = page.locator("main").inner_text()
            # the payload is visible as text, exactly as typed (escaped markup, not stripped, not rendered)
            shown = [p for p in PAYLOADS if f"{label}{p}" in text or p in text]
            assert shown, (url, text[:2000])
            assert SCRIPT in text or IMG in text, url

    # Defect page: description and every timeline entry show the payloads as text.
    page.goto(f"/defects/{key}/")
    page.wait_for_load_state("networkidle")
    text = page.locator("main").inner_text()
    for expected in (f"Refund {ALL}", f"Steps {ALL}", f"Comment {ALL}", f"Move {ALL}"):
        assert expected in text, expected

    # Charts: the pass-rate chart's hover label carries the run names; it shows them as text.
    page.goto(f"/releases/{release}/dashboard/")
    page.wait_for_load_state("networkidle")
    chart = page.locator("[data-chart='runs']")
    page.wait_for_function(
        "document.querySelector(\"[data-chart='runs']\").classList.contains('js-plotly-plot')"
    )
    hover_texts = []
    for point in (0, 1):
        page.evaluate(
            "(n) => window.Plotly.Fx.hover(document.querySelector(\"[data-chart='runs']\"),"
            " [{curveNumber: 0, pointNumber: n}])",
            point,
        )
        hover_texts.append(chart.locator(".hoverlayer").text_content())
    joined = " ".join(hover_texts)
    # (both runs start within seconds: the two points may share a pixel, so hover shows the first one)
    assert f"nightly {IMG} {RICH}" in joined, joined
    labels = page.evaluate("document.querySelector(\"[data-chart='runs']\").data[0].text.join(' ')")
    assert "nightly &lt;script&gt;window.__xss=1&lt;/script&gt;" in labels, labels
    assert page.evaluate(INJECTED) == {"xss": None, "elements": 0, "scripts": 0}
    assert errors == []
    context.close()
