"""Incidents: services, pages and API, permissions, recompute scheduling, query bounds."""

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import ActionItem, Incident, PostMortem
from metrics.models import PendingRecompute
from qualitygov.errors import AccessDenied
from tests import factories as f

SHOTS = Path(tempfile.gettempdir())  # screenshots land in /tmp: look at them after a run
pytestmark = pytest.mark.django_db


def test_incident_create_schedules_a_recompute_of_release_and_project(release, manager):
    incident = services.incident_create(
        project=release.project,
        title="Checkout down",
        by=manager,
        started_at=timezone.now() - dt.timedelta(hours=2),
        release=release,
        severity="sev1",
    )
    assert incident.detected_at == incident.started_at
    assert PendingRecompute.objects.filter(scope="release", release=release).exists()
    assert PendingRecompute.objects.filter(scope="project", project=release.project).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"restored_at": "before_start"},
        {"started_at": "future"},
        {"severity": "sev9"},
        {"title": "  "},
    ],
)
def test_invalid_incidents_are_refused_and_nothing_is_written(release, change, manager):
    from qualitygov.errors import DomainError

    now = timezone.now()
    data = {"title": "Outage", "started_at": now - dt.timedelta(hours=1), "severity": "sev2"}
    for key, value in change.items():
        data[key] = {"before_start": now - dt.timedelta(hours=3), "future": now + dt.timedelta(days=1)}.get(
            value, value
        )
    with pytest.raises(DomainError):
        services.incident_create(project=release.project, by=manager, **data)
    assert not Incident.objects.exists()


def test_release_of_another_project_is_refused(release, manager):
    from qualitygov.errors import DomainError

    other = f.ReleaseFactory(project=f.ProjectFactory(key="OPS"))
    with pytest.raises(DomainError):
        services.incident_create(
            project=release.project,
            title="x",
            by=manager,
            started_at=timezone.now(),
            release=other,
        )


def test_restore_twice_is_refused(project, manager):
    from qualitygov.errors import DomainError

    incident = f.IncidentFactory(project=project)
    services.incident_restore(incident=incident, by=manager)
    incident.refresh_from_db()
    assert incident.restored_at is not None
    with pytest.raises(DomainError):
        services.incident_restore(incident=incident, by=None)


def test_action_item_done_gets_completed_at(project, qa, manager):
    incident = f.IncidentFactory(project=project)
    owner = qa
    item = services.action_item_create(
        incident=incident, title="Add alerting", by=manager, owner=owner, due_date=dt.date(2020, 1, 1)
    )
    item = services.action_item_update(item=item, data={"status": "done"}, by=manager)
    assert item.completed_at is not None


def test_incident_services_refuse_a_member_without_manage_incidents_and_write_nothing(project, qa, manager):
    # Given an incident with an action item owned by a QA member
    incident = f.IncidentFactory(project=project, title="Checkout down")
    item = services.action_item_create(incident=incident, title="Add alerting", by=manager, owner=qa)
    # When the QA member (no manage_incidents) calls the services directly, as a page or the API would
    refused = [
        lambda: services.incident_create(project=project, title="Mine", started_at=timezone.now(), by=qa),
        lambda: services.incident_update(incident=incident, data={"title": "Renamed"}, by=qa),
        lambda: services.incident_restore(incident=incident, by=qa),
        lambda: services.postmortem_save(incident=incident, summary="Config drift", by=qa),
        lambda: services.action_item_create(incident=incident, title="Another", by=qa),
        lambda: services.action_item_update(item=item, data={"status": "done"}, by=qa),
    ]
    for call in refused:
        with pytest.raises(AccessDenied):
            call()
    # Then nothing changed
    incident.refresh_from_db()
    item.refresh_from_db()
    assert (incident.title, incident.restored_at, item.status) == ("Checkout down", None, "open")
    assert Incident.objects.filter(project=project).count() == 1
    assert not PostMortem.objects.filter(incident=incident).exists()
    assert ActionItem.objects.filter(incident=incident).count() == 1


# --- API -------------------------------------------------------------------------------------------------------


def test_api_manager_records_incident_and_viewer_is_refused(api_client_for, release, manager, viewer):
    d = f.DefectFactory(project=release.project, found_in_release=release)
    payload = {
        "project": "PAY",
        "title": "Card payments failing",
        "severity": "sev1",
        "release": release.pk,
        "started_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(),
        "defects": [d.key],
    }
    refused = api_client_for(viewer).post("/api/v1/incidents/", payload, format="json")
    assert refused.status_code == 403
    assert not Incident.objects.exists()
    created = api_client_for(manager).post("/api/v1/incidents/", payload, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["is_open"], body["defects"], body["release"]) == (True, [d.key], release.pk)


@pytest.mark.parametrize(
    "payload",
    [
        {"project": "PAY", "title": "x", "started_at": "not a date"},
        {"project": "PAY", "title": "x", "started_at": "2026-01-01T00:00:00Z", "release": 99999},
        {"project": "PAY", "title": "x", "started_at": "2026-01-01T00:00:00Z", "defects": ["PAY-999"]},
        {"title": "x", "started_at": "2026-01-01T00:00:00Z"},
        {
            "project": "PAY",
            "title": "x",
            "started_at": "2026-01-02T00:00:00Z",
            "restored_at": "2026-01-01T00:00:00Z",
        },
    ],
)
def test_api_bad_incident_input_is_400(api_client_for, project, payload, manager):
    response = api_client_for(manager).post("/api/v1/incidents/", payload, format="json")
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_api_restore_postmortem_and_action_items(api_client_for, make_member, project, manager):
    client = api_client_for(manager)
    incident = f.IncidentFactory(project=project)
    assert client.post(f"/api/v1/incidents/{incident.pk}/restore/").json()["is_open"] is False
    assert client.post(f"/api/v1/incidents/{incident.pk}/restore/").status_code == 400
    pm = client.put(
        f"/api/v1/incidents/{incident.pk}/postmortem/",
        {"summary": "DB failover", "lessons": "drill"},
        format="json",
    )
    assert pm.status_code == 200
    assert PostMortem.objects.get().author == manager
    item = client.post(
        f"/api/v1/incidents/{incident.pk}/action-items/",
        {"title": "Automate failover", "owner": manager.username, "due_date": "2026-12-01"},
        format="json",
    )
    assert item.status_code == 201
    patched = client.patch(f"/api/v1/action-items/{item.json()['id']}/", {"status": "done"}, format="json")
    assert patched.json()["status"] == "done"
    viewer = api_client_for(make_member("viewer"))
    assert (
        viewer.patch(
            f"/api/v1/action-items/{item.json()['id']}/", {"status": "open"}, format="json"
        ).status_code
        == 403
    )
    assert ActionItem.objects.get().status == "done"


@pytest.mark.parametrize("size", [2, 15])
def test_api_and_page_lists_have_bounded_queries(
    api_client_for, client, project, size, django_assert_max_num_queries, viewer
):
    for _ in range(size):
        incident = f.IncidentFactory(project=project)
        incident.defects.add(f.DefectFactory(project=project))
        ActionItem.objects.create(incident=incident, title="x")
    user = viewer
    with django_assert_max_num_queries(8):
        assert api_client_for(user).get("/api/v1/incidents/").json()["count"] == size
    client.force_login(user)
    with django_assert_max_num_queries(10):
        assert client.get("/incidents/").status_code == 200


def test_other_projects_incidents_are_invisible(api_client_for, client, project, admin):
    other = f.IncidentFactory(project=f.ProjectFactory(key="OPS"))
    user = admin
    assert api_client_for(user).get(f"/api/v1/incidents/{other.pk}/").status_code == 404
    client.force_login(user)
    assert client.get(f"/incidents/{other.pk}/").status_code == 404


# --- Pages -----------------------------------------------------------------------------------------------------


def test_page_create_incident_and_refusal(client, project, release, manager, viewer):
    client.force_login(viewer)
    assert (
        client.post(
            "/incidents/new/?project=PAY",
            {"title": "x", "severity": "sev2", "started_at": "2026-01-01T10:00"},
        ).status_code
        == 403
    )
    assert not Incident.objects.exists()
    client.force_login(manager)
    response = client.post(
        "/incidents/new/?project=PAY",
        {
            "title": "Payments down",
            "severity": "sev2",
            "started_at": "2026-01-01T10:00",
            "release": release.pk,
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.started_at == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    bad = client.post(
        "/incidents/new/?project=PAY",
        {
            "title": "x",
            "severity": "sev2",
            "started_at": "2026-01-01T10:00",
            "restored_at": "2025-12-31T10:00",
        },
    )
    assert bad.status_code == 400
    assert Incident.objects.count() == 1


def test_overdue_action_items_show_on_the_project_dashboard(client, project, viewer):
    incident = f.IncidentFactory(project=project)
    ActionItem.objects.create(incident=incident, title="Write runbook", due_date=dt.date(2020, 1, 1))
    ActionItem.objects.create(
        incident=incident, title="Done already", due_date=dt.date(2020, 1, 1), status="done"
    )
    client.force_login(viewer)
    body = client.get(f"/projects/{project.key}/dashboard/").content.decode()
    assert "Write runbook" in body
    assert "Done already" not in body


def test_incident_page_marks_only_overdue_open_items(client, project, viewer):
    import re

    incident = f.IncidentFactory(project=project)
    late = ActionItem.objects.create(incident=incident, title="Write runbook", due_date=dt.date(2020, 1, 1))
    done = ActionItem.objects.create(
        incident=incident, title="Done already", due_date=dt.date(2020, 1, 1), status="done"
    )
    later = ActionItem.objects.create(incident=incident, title="Add alert", due_date=dt.date(2999, 1, 1))
    client.force_login(viewer)
    body = client.get(f"/incidents/{incident.pk}/").content.decode()
    rows = dict(re.findall(r'<tr data-item="(\d+)">(.*?)</tr>', body, flags=re.S))
    assert "overdue" in rows[str(late.pk)]
    assert "overdue" not in rows[str(done.pk)] and "overdue" not in rows[str(later.pk)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_record_restore_and_write_postmortem(login, project, release, manager):
    page = login(manager)
    page.goto("/incidents/")
    page.click("text=New incident")
    page.fill("#id_title", "Checkout latency spike")
    page.select_option("#id_severity", "sev2")
    page.fill("#id_started_at", "2026-01-05T10:00")
    page.click("#incident-form button[type=submit]")
    page.wait_for_selector("#incident-state")
    assert page.inner_text("#incident-state") == "open"
    page.fill("#postmortem-form #id_summary", "A slow query after the 2.4.0 migration.")
    page.click("#postmortem-form button[type=submit]")
    page.wait_for_selector("#postmortem")
    page.fill("#action-item-form #id_title", "Add a query-time budget to CI")
    page.click("#action-item-form button[type=submit]")
    page.wait_for_selector("#action-items tr[data-item]")
    page.click("#restore")
    page.wait_for_selector("#incident-state:text('restored')")
    page.screenshot(path=SHOTS / "incident_detail.png", full_page=True)
    page.goto("/incidents/?state=restored")
    assert page.locator("#incidents tr[data-incident]").count() == 1
    page.screenshot(path=SHOTS / "incident_list.png", full_page=True)
    assert page.js_errors == []


def test_page_edit_incident_needs_manage_role(client, project, release, qa, rm):
    incident = f.IncidentFactory(project=project, title="Old title")
    data = {"title": "New title", "severity": "sev1", "started_at": "2026-01-01T10:00", "release": release.pk}
    client.force_login(qa)
    assert client.post(f"/incidents/{incident.pk}/edit/", data).status_code == 403
    client.force_login(rm)
    assert client.post(f"/incidents/{incident.pk}/edit/", data).status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.severity, incident.release) == ("New title", "sev1", release)
    assert PendingRecompute.objects.filter(release=release).exists()


def test_api_patch_refuses_a_release_of_another_project(api_client_for, project, manager, qa):
    incident = f.IncidentFactory(project=project)
    other = f.ReleaseFactory(project=f.ProjectFactory(key="OPS"))
    client = api_client_for(manager)
    response = client.patch(f"/api/v1/incidents/{incident.pk}/", {"release": other.pk}, format="json")
    assert response.status_code == 400
    incident.refresh_from_db()
    assert incident.release is None
    assert (
        api_client_for(qa)
        .patch(f"/api/v1/incidents/{incident.pk}/", {"title": "x"}, format="json")
        .status_code
        == 403
    )


def test_new_incident_asks_for_the_project_when_the_user_manages_several(client, project, manager):
    other = f.ProjectFactory(key="OPS")
    user = manager
    f.MembershipFactory(project=other, user=user, role="admin")
    client.force_login(user)
    response = client.get("/incidents/new/")
    assert response.status_code == 200, response
    body = response.content.decode()
    assert 'name="project"' in body
    assert "OPS" in body
    assert client.get("/incidents/new/?project=OPS").status_code == 200
