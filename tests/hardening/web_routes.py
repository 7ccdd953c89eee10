"""Every URL of the site, from the resolver, with its parameters filled from seeded demo data.

Used by the web-security tests (CSRF on every POST, CSP on every page). A new route whose parameter this table
cannot fill makes those tests fail with its name, so it cannot slip through untested.
"""

from __future__ import annotations

import re

from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from defects.models import Defect
from demo.data import DEMO_PASSWORD
from gates import services as gate_services
from gates.models import ChecklistItem, ChecklistSignoff, GateEvaluation, QualityGate
from incidents.models import ActionItem, Incident
from measures.models import MeasureKey
from metrics.models import AlertRule, Webhook
from notifications.kinds import Kind
from notifications.services import publish
from releases.models import Release
from testing.models import JUnitIngestion, Requirement, TestCase, TestResult, TestRun

from ..worldcache import cached_world

PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")

# (first path segment, parameter name) -> key of the ids dict built by seed_ids()
VALUES = {
    ("projects", "key"): "project_key",
    ("projects", "pk"): "alert_rule",
    ("releases", "pk"): "release",
    ("releases", "release_id"): "release",
    ("releases", "gate_id"): "gate",
    ("releases", "item_id"): "checklist_item",
    ("releases", "key"): "metric",  # a metric key: the page listing what the metric counts
    ("projects", "metric"): "project_metric",  # a project metric with an item list
    ("defects", "key"): "defect_key",
    ("requirements", "pk"): "requirement",
    ("testcases", "pk"): "testcase",
    ("runs", "pk"): "run",
    ("runs", "case_id"): "run_case",
    ("results", "pk"): "result",
    ("incidents", "pk"): "incident",
    ("incidents", "item_pk"): "action_item",
    ("gates", "pk"): "gate",
    ("signoffs", "pk"): "signoff",
    ("evaluations", "pk"): "evaluation",
    ("projects", "measure_key"): "measure_key",
    ("notifications", "pk"): "notification",
}

# the API's own segment names, then parameter names alone
API_VALUES = {
    ("action-items", "pk"): "action_item",
    ("alert-rules", "pk"): "alert_rule",
    ("checklist-items", "pk"): "checklist_item",
    ("decisions", "pk"): "evaluation",
    ("junit-ingestions", "pk"): "junit_ingestion",
    ("webhooks", "pk"): "webhook",
    "measure_key": "measure_key",
    ("releases", "key"): "metric",
    ("projects", "metric"): "metric",
    "key": "project_key",
    "project_key": "project_key",
    "username": "username",
    "ref": "defect_key",
}


def walk(patterns=None, prefix: str = ""):
    """(route, name) of every URL pattern, nested includes resolved."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def page_routes() -> list[str]:
    """The site's own page routes: not the admin, not the API, not static files."""
    return sorted({route for route, _ in walk() if not route.startswith(("admin/", "api/", "^", "static/"))})


def api_routes() -> list[str]:
    """/api/v1/ routes (DRF router regexes normalised), without the format-suffix variants."""
    found = set()
    for route, _ in walk():
        if not route.startswith("api/v1/") or "format" in route:
            continue
        found.add(re.sub(r"(?<=/)\^|\$$", "", route.replace("api/v1/^", "api/v1/")))
    return sorted(found)


def fill(route: str, ids: dict) -> str:
    segment = route.split("/")[2] if route.startswith("api/v1/") else route.split("/")[0]

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        key = VALUES.get((segment, name))
        if key is None and route.startswith("api/v1/"):
            key = API_VALUES.get((segment, name)) or API_VALUES.get(name)
        assert key is not None, (
            f"no value for <{name}> in route {route!r}: extend tests/hardening/web_routes.py"
        )
        return str(ids[key])

    return "/" + PARAM.sub(value, route)


def seed_ids() -> dict:
    """Seed the demo data (3 projects, six months) plus what the demo lacks (a gate evaluation, a sign-off, an
    alert rule), and pick one object of each kind in project PAY. Built once per test process, copied back for
    each later test (tests/worldcache.py)."""
    return cached_world("demo", _seed_ids)


def _seed_ids() -> dict:
    call_command("seed_demo", verbosity=0, seed=7)
    release = (
        Release.objects.filter(project__key="PAY", test_runs__results__status="failed")
        .order_by("-id")
        .first()
    )
    gate = QualityGate.objects.filter(project__key="PAY").order_by("id").first()
    evaluation = GateEvaluation.objects.filter(release=release).first() or gate_services.gate_evaluate(
        gate=gate, release=release, by=None
    )
    item = ChecklistItem.objects.filter(gate__project__key="PAY").order_by("id").first()
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="admin")
    signoff = ChecklistSignoff.objects.filter(item__gate__project__key="PAY").first()
    if signoff is None:
        signoff = ChecklistSignoff.objects.create(item=item, release=release, signed_by=admin)
    rule = AlertRule.objects.filter(project__key="PAY").first() or AlertRule.objects.create(
        project=release.project, metric="defect_leakage", threshold=50, created_by=admin
    )
    run = TestRun.objects.filter(release=release).order_by("-id").first()
    result = TestResult.objects.filter(run=run, status="failed").first()
    incident = Incident.objects.filter(project__key="PAY").order_by("id").first()
    measure_key = MeasureKey.objects.create(
        project=release.project, key="bundle_size_kb", label="Bundle size", unit="KB", direction="lower"
    )
    ingestion = JUnitIngestion.objects.create(
        release=release, created_by=admin, state="done", path="", content_hash="0" * 64
    )
    # One notification of the admin the route tests log in as (its "open" page redirects to the defect)
    notification = publish(
        kind=Kind.DEFECT_ASSIGNED,
        project=release.project,
        recipients=[admin],
        title="A defect was assigned to you",
        url="/defects/",
    ).notifications.get()
    return {
        "project_key": "PAY",
        "release": release.pk,
        "gate": gate.pk,
        "checklist_item": item.pk,
        "defect_key": Defect.objects.filter(project__key="PAY").order_by("id").first().key,
        "requirement": Requirement.objects.filter(project__key="PAY").order_by("id").first().pk,
        "testcase": TestCase.objects.filter(project__key="PAY").order_by("id").first().pk,
        "run": run.pk,
        "run_case": result.test_case_id,
        "result": result.pk,
        "incident": incident.pk,
        "action_item": (
            ActionItem.objects.filter(incident=incident).first() or ActionItem.objects.first()
        ).pk,
        "signoff": signoff.pk,
        "evaluation": evaluation.pk,
        "alert_rule": rule.pk,
        "username": "viewer",
        "metric": "defect_leakage",
        "project_metric": "mttr_hours",
        "measure_key": measure_key.key,
        "junit_ingestion": ingestion.pk,
        "notification": notification.pk,
        "webhook": (
            Webhook.objects.filter(project=release.project).first()
            or Webhook.objects.create(
                project=release.project, name="chat", url="https://example.com/hook", secret="s" * 32
            )
        ).pk,
        "password": DEMO_PASSWORD,
    }
