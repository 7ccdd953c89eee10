"""Current gates on the dashboards cost a fixed number of queries (issue 13): with gates, evaluations, go decisions
with waivers and a suspension at every release, each page answers in the same number of queries at 1 and at 4
releases."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gates import services
from gates.models import ChecklistItem, GateCondition, QualityGate
from metrics import services as metric_services
from releases.models import Release, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _ready_release(project, version: str) -> Release:
    """A ready release with defects and results, its metrics snapshotted (pages read snapshots)."""
    release = f.ReleaseFactory(project=project, version=version, status="ready")
    for severity in ("blocker", "minor"):
        f.DefectFactory(project=project, found_in_release=release, severity=severity)
    run = f.TestRunFactory(release=release)
    for status in ("passed", "passed", "failed"):
        f.TestResultFactory(run=run, release=release, status=status)
    metric_services.snapshot_release(release=release)
    return release


def _go_live(project) -> QualityGate:
    gate = QualityGate.objects.create(
        project=project, name="Go-live", from_status="ready", to_status="released"
    )
    GateCondition.objects.create(gate=gate, metric="test_pass_rate", operator="gte", error_threshold=50)
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    QualityGate.objects.create(
        project=project, name="Handover", from_status="released", to_status="handed_over"
    )
    return gate


def _decide(gate, release, rm) -> None:
    """A go with a waiver on the unsigned checklist item (waivers are prefetched, so they count)."""
    evaluation = services.gate_evaluate(gate=gate, release=release, by=rm)
    services.decision_record(
        release=release,
        gate=gate,
        evaluation=evaluation,
        decision="go_with_waivers",
        rationale="Reviewed",
        by=rm,
        waivers=[
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "Oral review",
                "owner": rm,
                "expires": (timezone.now() + dt.timedelta(days=3)).date(),
            }
        ],
    )


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "page",
    [
        "/dashboards/",
        "/projects/{key}/dashboard/",
        "/releases/{pk}/dashboard/",
        "/gates/",
        "/releases/{pk}/gates/panel/",
    ],
)
def test_current_gate_pages_cost_the_same_at_1_and_4_releases(client, make_member, project, page):
    rm = make_member(Role.RELEASE_MANAGER)
    client.force_login(rm)
    gate = _go_live(project)
    first = _ready_release(project, "1.0")
    _decide(gate, first, rm)
    metric_services.snapshot_project(project=project)
    url = page.format(key=project.key, pk=first.pk)
    small = _count(client, url)
    for n in range(3):
        _decide(gate, _ready_release(project, f"1.{n + 1}"), rm)
    metric_services.snapshot_project(project=project)
    large = _count(client, url)
    print(f"{page}: {small} queries at 1 release, {large} at 4")
    assert large == small, f"{page}: {small} queries at 1 release, {large} at 4"
