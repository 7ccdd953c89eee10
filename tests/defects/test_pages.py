"""Defect pages without a browser: wiring, permissions, htmx fragments, bounded query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from defects import services
from defects.models import Defect, DefectComment
from tests.factories import ProjectFactory, ReleaseFactory, TestResultFactory

from .test_jira_import import SMALL

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _many(project, qa, n, make_member):
    releases = [ReleaseFactory(project=project) for _ in range(3)]
    dev = make_member("qa", username="dev")
    return [
        services.defect_create(
            project=project,
            title=f"Defect number {i}",
            by=qa,
            found_in_release=releases[i % 3],
            assignee=dev if i % 2 else None,
            component=f"comp{i % 4}",
        )
        for i in range(n)
    ]


def test_board_needs_login(client):
    assert client.get("/defects/").status_code == 302


def test_board_filters_and_shows_only_member_projects(client, qa, make_defect):
    make_defect(title="Blocker in checkout", severity="blocker")
    make_defect(title="Minor typo", severity="minor")
    services.defect_create(project=ProjectFactory(key="OPS"), title="Secret ops defect", by=None)
    client.force_login(qa)
    page = client.get("/defects/?status=open&severity=blocker").content.decode()
    assert "Blocker in checkout" in page
    assert "Minor typo" not in page
    assert "Secret ops defect" not in client.get("/defects/").content.decode()


@pytest.mark.parametrize("size", [3, 60])
def test_board_query_count_is_bounded(client, qa, project, make_member, django_assert_max_num_queries, size):
    _many(project, qa, size, make_member)
    client.force_login(qa)
    with django_assert_max_num_queries(12):
        response = client.get("/defects/?project=PAY&status=open&sort=-severity")
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 25])
def test_detail_query_count_is_bounded(
    client, qa, project, release, make_defect, django_assert_max_num_queries, size
):
    defect = make_defect(found_in_release=release)
    for i in range(size):
        services.defect_comment_add(defect=defect, by=qa, body=f"comment {i}")
        services.defect_update(defect=defect, by=qa, data={"component": f"c{i}"})
        make_defect(title=f"Other {i}")
    result = TestResultFactory(run__release=release, status="failed")
    defect.test_results.add(result)
    client.force_login(qa)
    with django_assert_max_num_queries(16):
        response = client.get(f"/defects/{defect.key}/")
    assert response.status_code == 200
    assert result.test_case.title in response.content.decode()


def test_detail_of_other_project_is_404(client, qa):
    foreign = services.defect_create(project=ProjectFactory(key="OPS"), title="Theirs", by=None)
    client.force_login(qa)
    assert client.get(f"/defects/{foreign.key}/").status_code == 404


def test_move_via_htmx_returns_fragment_and_records_move(client, qa, make_defect):
    defect = make_defect()
    client.force_login(qa)
    response = client.post(f"/defects/{defect.key}/move/", {"to": "triaged", "expected_version": 1}, **HTMX)
    assert response.status_code == 200
    assert 'id="defect-main"' in response.content.decode()
    defect.refresh_from_db()
    assert defect.status == "triaged"


def test_illegal_move_via_htmx_is_400_with_message(client, qa, make_defect):
    defect = make_defect()
    client.force_login(qa)
    response = client.post(f"/defects/{defect.key}/move/", {"to": "verified"}, **HTMX)
    assert response.status_code == 400
    assert "Allowed next states" in response.content.decode()
    assert defect.transitions.count() == 1


def test_stale_move_via_page_is_409(client, qa, make_defect):
    defect = make_defect()
    services.defect_transition(defect=defect, to="triaged", by=qa)
    client.force_login(qa)
    response = client.post(
        f"/defects/{defect.key}/move/", {"to": "in_progress", "expected_version": 1}, **HTMX
    )
    assert response.status_code == 409
    assert defect.transitions.count() == 2


def test_viewer_cannot_move_comment_or_edit(client, viewer, make_defect):
    defect = make_defect()
    client.force_login(viewer)
    assert client.post(f"/defects/{defect.key}/move/", {"to": "triaged"}, **HTMX).status_code == 403
    assert client.post(f"/defects/{defect.key}/comment/", {"body": "x"}, **HTMX).status_code == 403
    assert (
        client.post(
            f"/defects/{defect.key}/edit/", {"severity": "minor", "priority": "low"}, **HTMX
        ).status_code
        == 403
    )
    defect.refresh_from_db()
    assert (defect.status, defect.severity, defect.version) == ("new", "major", 1)
    assert DefectComment.objects.count() == 0
    assert 'id="move-form"' not in client.get(f"/defects/{defect.key}/").content.decode()


def test_comment_and_edit_show_on_timeline(client, qa, make_defect):
    defect = make_defect()
    client.force_login(qa)
    client.post(f"/defects/{defect.key}/comment/", {"body": "<b>bold</b> claim"}, **HTMX)
    response = client.post(
        f"/defects/{defect.key}/edit/",
        {"severity": "blocker", "priority": "high", "component": "api"},
        **HTMX,
    )
    page = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in page  # escaped, never raw
    assert "Changed <strong>severity</strong>" in page


def test_mark_duplicate_from_detail_links_both_ways(client, qa, make_defect):
    original, copy = make_defect(title="Original crash"), make_defect(title="Same crash")
    client.force_login(qa)
    response = client.post(f"/defects/{copy.key}/duplicate/", {"original": original.key}, **HTMX)
    assert response.status_code == 200
    assert original.key in response.content.decode()
    assert copy.key in client.get(f"/defects/{original.key}/").content.decode()


def test_bulk_via_htmx_reports_refusals(client, qa, make_defect):
    a, b = make_defect(title="A"), make_defect(title="B")
    services.defect_transition(defect=b, to="closed", by=qa, resolution="wont_fix")
    client.force_login(qa)
    response = client.post(
        "/defects/bulk/?status=open",
        {"ids": [a.pk, b.pk], "action": "move", "to": "triaged", "resolution": ""},
        **HTMX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 changed" in page
    assert b.key in page and "Allowed next states: Reopened" in page


def test_bulk_with_no_selection_is_400(client, qa):
    client.force_login(qa)
    response = client.post("/defects/bulk/", {"action": "assign", "assignee": ""}, **HTMX)
    assert response.status_code == 400
    assert "ids" in response.content.decode()


def test_create_page_creates_and_refuses_viewer(client, qa, viewer, release):
    client.force_login(viewer)
    assert "no project where you may report" in client.get("/defects/new/").content.decode()
    assert client.post("/defects/new/", {"project": "PAY", "title": "x"}).status_code == 400
    client.force_login(qa)
    response = client.post(
        "/defects/new/",
        {
            "project": "PAY",
            "title": "Crash on login",
            "severity": "critical",
            "priority": "high",
            "found_in_environment": "staging",
            "found_in_release": release.pk,
        },
    )
    assert response.status_code == 302
    defect = Defect.objects.get()
    assert (defect.title, defect.found_in_release_id, defect.reporter_id) == (
        "Crash on login",
        release.pk,
        qa.pk,
    )


def test_similar_preview_fragment(client, qa, make_defect):
    make_defect(title="Payment gateway timeout on refund")
    client.force_login(qa)
    page = client.get(
        "/defects/new/similar/", {"project": "PAY", "title": "refund gateway timeout"}
    ).content.decode()
    assert "Payment gateway timeout on refund" in page
    assert client.get("/defects/new/similar/", {"project": "NOPE", "title": "refund"}).status_code == 404


def test_import_page_for_managers_only(client, qa, manager):
    client.force_login(qa)
    assert "manager or admin" in client.get("/defects/import/").content.decode()
    upload = SimpleUploadedFile("jira.csv", SMALL.encode(), content_type="text/csv")
    response = client.post("/defects/import/", {"project": "PAY", "file": upload, "environment": "test"})
    assert response.status_code == 400
    assert Defect.objects.count() == 0
    client.force_login(manager)
    upload = SimpleUploadedFile("jira.csv", SMALL.encode(), content_type="text/csv")
    response = client.post(
        "/defects/import/", {"project": "PAY", "file": upload, "environment": "test"}, **HTMX
    )
    assert response.status_code == 200
    assert "Import finished" in response.content.decode()
    assert Defect.objects.count() == 5


def test_import_page_dry_run_and_bad_file(client, manager):
    client.force_login(manager)
    upload = SimpleUploadedFile("jira.csv", SMALL.encode(), content_type="text/csv")
    response = client.post(
        "/defects/import/", {"project": "PAY", "file": upload, "environment": "test", "dry_run": "on"}, **HTMX
    )
    assert "nothing was written" in response.content.decode()
    bad = SimpleUploadedFile("bad.csv", b"\xff\xfe\x00garbage", content_type="text/csv")
    response = client.post("/defects/import/", {"project": "PAY", "file": bad, "environment": "test"}, **HTMX)
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert Defect.objects.count() == 0


def test_board_and_api_list_defects_as_of_t_and_refuse_unreadable_time_filters(
    client, api_client_for, qa, project, release
):
    # given a defect created two days ago, made blocking and closed (a closure) today
    from unittest import mock

    from django.utils import timezone

    from tests.metrics.histories import DAY

    now = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now - 2 * DAY):
        defect = services.defect_create(
            project=project, title="Was minor and open", by=qa, severity="minor", found_in_release=release
        )
    services.defect_update(defect=defect, by=qa, data={"severity": "blocker"})
    services.defect_transition(defect=defect, to="resolved", by=qa, resolution="fixed")
    yesterday = (now - DAY).isoformat()
    api = api_client_for(qa)

    def listed(**params):
        answer = api.get("/api/v1/defects/", params)
        assert answer.status_code == 200, answer.content
        return [d["key"] for d in answer.json()["results"]]

    # then as of yesterday it was open and minor in the release; now it is neither open nor minor
    assert listed(release=release.pk, status="open", severity="minor", as_of=yesterday) == [defect.key]
    assert listed(release=release.pk, status="open", severity="minor") == []
    assert listed(release=release.pk, status="open", as_of=yesterday, severity="blocker") == []
    # and the windows: opened two days ago, closed today
    assert listed(opened_after=(now - 3 * DAY).isoformat(), opened_to=yesterday) == [defect.key]
    assert listed(closed_after=yesterday) == [defect.key]
    assert listed(closed_after=yesterday, as_of=yesterday) == []
    # the board says how many closures the listed defects made in the window
    client.force_login(qa)
    page = client.get("/defects/", {"release": release.pk, "closed_after": yesterday})
    assert page.status_code == 200 and 'id="window-closures">1<' in page.content.decode()
    # an unreadable time filter is a 400 naming it, on the API and on the page (the rest of the filters kept)
    refused = api.get("/api/v1/defects/", {"opened_after": "last week"})
    assert refused.status_code == 400 and refused.json()["field"] == "opened_after"
    page = client.get("/defects/", {"as_of": "last week", "severity": "blocker"})
    assert (
        page.status_code == 400 and "as_of" in page.content.decode() and defect.key in page.content.decode()
    )
