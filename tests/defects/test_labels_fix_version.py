"""Defect page details of issue 16 (item 6): human labels in the timeline and messages, the Fix version field
(form, API, model), no edit counter in view, releases by semantic version, the Tests nav link, role-aware
controls."""

import pytest

from defects import services
from defects.models import Defect
from releases.selectors import release_list
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_timeline_and_messages_show_labels_not_stored_values(client, qa, make_defect):
    defect = make_defect(title="Export truncates names")
    services.defect_transition(defect=defect, to="triaged", by=qa)
    defect.refresh_from_db()
    services.defect_transition(defect=defect, to="in_progress", by=qa)
    defect.refresh_from_db()
    services.defect_transition(defect=defect, to="resolved", by=qa, resolution="wont_fix")
    defect.refresh_from_db()
    services.defect_update(defect=defect, by=qa, data={"severity": "critical"})
    client.force_login(qa)
    html = client.get(f"/defects/{defect.key}/").content.decode()
    timeline = html[html.index('id="timeline"') :]
    assert "In progress" in timeline and "Won&#x27;t fix" in timeline and "Critical" in timeline
    assert "in_progress" not in timeline.replace("status-in_progress", "")
    assert "wont_fix" not in timeline
    # a refused move names the states by their labels
    response = client.post(f"/defects/{defect.key}/move/", {"to": "triaged"}, **HTMX)
    assert "cannot move from Resolved to Triaged" in response.content.decode()
    response = client.post(f"/defects/{defect.key}/move/", {"to": "reopened"}, **HTMX)
    assert "Moved to Reopened." in response.content.decode()


def test_no_edit_counter_on_the_page(client, qa, make_defect):
    defect = make_defect(title="Counter")
    for severity in ("minor", "critical", "minor"):
        defect = services.defect_update(defect=defect, by=qa, data={"severity": severity})
    client.force_login(qa)
    html = client.get(f"/defects/{defect.key}/").content.decode()
    assert "<dt>Version</dt>" not in html


def test_fix_version_set_from_the_form_and_the_api(client, api_client_for, qa, project, make_defect):
    r1, r2 = (
        ReleaseFactory(project=project, version="2.7.0"),
        ReleaseFactory(project=project, version="2.8.0"),
    )
    defect = make_defect(title="Fix me", found_in_release=r1)
    client.force_login(qa)
    response = client.post(
        f"/defects/{defect.key}/edit/",
        {"severity": "major", "priority": "medium", "fixed_in_release": r2.pk, "expected_version": 1},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="fix-version"' in response.content.decode()
    defect.refresh_from_db()
    assert defect.fixed_in_release == r2
    assert defect.field_changes.get(field="fixed_in_release").new_value == "2.8.0"
    body = api_client_for(qa).get(f"/api/v1/defects/{defect.key}/").json()
    assert body["fixed_in_release_version"] == "2.8.0"
    created = api_client_for(qa).post(
        "/api/v1/defects/", {"project": "PAY", "title": "With fix version", "fixed_in_release": "2.7.0"}
    )
    assert created.status_code == 201, created.content
    assert Defect.objects.get(title="With fix version").fixed_in_release == r1


def test_fix_version_of_another_project_is_refused(api_client_for, qa):
    other = ReleaseFactory(version="9.9.9")
    response = api_client_for(qa).post(
        "/api/v1/defects/", {"project": "PAY", "title": "x", "fixed_in_release": str(other.pk)}
    )
    assert response.status_code == 400
    assert not Defect.objects.filter(title="x").exists()


def test_releases_sorted_by_semantic_version_then_date(qa, project):
    for version in ("2.9.1", "2.10.0", "2.7", "2.7.1", "10.0.0"):
        ReleaseFactory(project=project, version=version)
    versions = [r.version for r in release_list(user=qa, project_key="PAY")]
    assert versions == ["10.0.0", "2.10.0", "2.9.1", "2.7.1", "2.7"]


def test_tests_nav_link_opens_test_cases(client, qa):
    client.force_login(qa)
    html = client.get("/defects/").content.decode()
    assert 'href="/testcases/" id="nav-tests"' in html


def test_viewer_sees_no_new_test_case_requirement_or_run_controls(client, viewer, release):
    client.force_login(viewer)
    assert 'id="new-testcase"' not in client.get("/testcases/").content.decode()
    assert 'id="new-requirement"' not in client.get("/requirements/").content.decode()
    assert "New manual run" not in client.get(f"/releases/{release.pk}/").content.decode()
    assert client.get(f"/releases/{release.pk}/runs/new/").status_code == 403


# --- refused actions keep what was typed (issue 16, item 2) ---------------------------------------------


@pytest.mark.parametrize("htmx", [True, False])
def test_refused_move_keeps_the_comment_and_choices(client, qa, make_defect, htmx):
    defect = make_defect(title="Refund twice")
    client.force_login(qa)
    headers = HTMX if htmx else {}
    response = client.post(
        f"/defects/{defect.key}/move/",
        {"to": "resolved", "resolution": "", "comment": "Fixed by the retry patch", "expected_version": 1},
        **headers,
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "needs a resolution" in html
    assert 'value="Fixed by the retry patch"' in html
    assert '<option value="resolved" selected>' in html
    defect.refresh_from_db()
    assert defect.status == "new"


def test_refused_edit_keeps_the_typed_fields(client, qa, make_defect):
    defect = make_defect(title="Stale edit")
    services.defect_update(defect=defect, by=qa, data={"priority": "low"})  # now version 2
    client.force_login(qa)
    response = client.post(
        f"/defects/{defect.key}/edit/",
        {"severity": "critical", "priority": "high", "component": "checkout", "expected_version": 1},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert 'value="checkout"' in html and '<option value="critical" selected>' in html


def test_refused_comment_keeps_the_text(client, qa, make_defect):
    defect = make_defect(title="Long comment")
    client.force_login(qa)
    body = "x" * 20001
    response = client.post(f"/defects/{defect.key}/comment/", {"body": body}, **HTMX)
    assert response.status_code == 400
    assert body in response.content.decode()
    assert not defect.comments.exists()
