"""The defect API: CRUD with filters, moves, history, comments, bulk, similar; errors are 4xx with a message."""

import datetime as dt

import pytest
from django.utils import timezone

from defects import services
from defects.models import Defect, DefectComment, DefectTransition
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def test_create_and_read_back(api_client_for, qa, release):
    client = api_client_for(qa)
    response = client.post(
        "/api/v1/defects/",
        {
            "project": "PAY",
            "title": "Card declined twice",
            "severity": "critical",
            "found_in_release": "2.4.0",
            "external_id": "JIRA-7",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"] == "PAY-1"
    assert body["found_in_release"] == release.pk
    assert body["external_id"] == "JIRA-7"
    assert body["allowed_next_statuses"] == ["triaged", "resolved", "closed"]
    assert client.get(f"/api/v1/defects/{body['id']}/").json()["title"] == "Card declined twice"
    assert client.get("/api/v1/defects/PAY-1/").json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"project": "PAY"}, "title"),
        ({"project": "PAY", "title": "x", "severity": "urgent"}, "severity"),
        ({"project": "PAY", "title": "x", "found_in_release": "9.9.9"}, "found_in_release"),
        ({"project": "PAY", "title": "x", "assignee": "ghost"}, "assignee"),
        ({"project": "PAY", "title": "x", "created_at": "yesterday"}, "created_at"),
        ({"project": "PAY", "title": "x", "requirements": [12345]}, "requirements"),
    ],
)
def test_create_bad_input_is_400_with_a_message(api_client_for, qa, payload, field):
    response = api_client_for(qa).post("/api/v1/defects/", payload, format="json")
    assert response.status_code == 400
    assert field in response.content.decode()
    assert Defect.objects.count() == 0


@pytest.mark.parametrize("role", ["viewer"])
def test_create_refused_for_roles_without_edit_right(api_client_for, make_member, role):
    response = api_client_for(make_member(role)).post(
        "/api/v1/defects/", {"project": "PAY", "title": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "edit_defects" in response.json()["detail"]
    assert Defect.objects.count() == 0


def test_other_projects_defects_are_not_found(api_client_for, qa):
    foreign = services.defect_create(project=ProjectFactory(key="OPS"), title="Theirs", by=None)
    client = api_client_for(qa)
    assert client.get(f"/api/v1/defects/{foreign.pk}/").status_code == 404
    assert client.post(f"/api/v1/defects/{foreign.pk}/transitions/", {"to": "triaged"}).status_code == 404
    assert client.post("/api/v1/defects/", {"project": "OPS", "title": "x"}).status_code == 404
    assert client.get("/api/v1/defects/").json()["count"] == 0


def test_anonymous_is_401(api_client_for):
    assert api_client_for(None).get("/api/v1/defects/").status_code == 401


def test_list_filters(api_client_for, qa, make_defect, release):
    make_defect(title="Blocker in checkout", severity="blocker", found_in_release=release, external_id="100")
    closed = make_defect(title="Old minor", severity="minor")
    services.defect_transition(defect=closed, to="closed", by=qa, resolution="wont_fix")
    client = api_client_for(qa)

    def keys(query):
        response = client.get(f"/api/v1/defects/?{query}")
        assert response.status_code == 200
        return [d["key"] for d in response.json()["results"]]

    assert keys("project=PAY&status=open") == ["PAY-1"]
    assert keys("status=closed") == ["PAY-2"]
    assert keys("severity=blocker,critical") == ["PAY-1"]
    assert keys(f"release={release.pk}") == ["PAY-1"]
    assert keys("release=2.4.0") == ["PAY-1"]
    assert keys("external_id=100") == ["PAY-1"]
    assert keys("q=checkout") == ["PAY-1"]
    assert keys("sort=severity") == ["PAY-1", "PAY-2"]
    assert keys("sort=-severity") == ["PAY-2", "PAY-1"]


def test_patch_keeps_audit_trail_and_checks_version(api_client_for, qa, make_defect):
    defect = make_defect()
    client = api_client_for(qa)
    response = client.patch(
        f"/api/v1/defects/{defect.pk}/", {"severity": "blocker", "expected_version": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/defects/{defect.pk}/", {"severity": "minor", "expected_version": 1}, format="json"
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    history = client.get(f"/api/v1/defects/{defect.pk}/history/").json()
    assert [e["kind"] for e in history] == ["transition", "change"]
    assert history[1]["data"] == {
        "field": "severity",
        "old": "major",
        "new": "blocker",
        "id": history[1]["data"]["id"],
    }


def test_transition_illegal_move_is_400_naming_allowed_states(api_client_for, qa, make_defect):
    defect = make_defect()
    response = api_client_for(qa).post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "verified"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "illegal_transition"
    assert "Allowed next states: Triaged, Resolved, Closed" in response.json()["detail"]
    assert defect.transitions.count() == 1


def test_transition_missing_resolution_is_400(api_client_for, qa, make_defect):
    defect = make_defect()
    response = api_client_for(qa).post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "resolved"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "resolution"


def test_transition_with_stale_version_is_409_and_history_unchanged(api_client_for, qa, make_defect):
    defect = make_defect()
    client = api_client_for(qa)
    ok = client.post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "triaged", "expected_version": 1}, format="json"
    )
    assert ok.status_code == 201
    assert ok.json()["defect"]["version"] == 2
    late = client.post(
        f"/api/v1/defects/{defect.pk}/transitions/",
        {"to": "closed", "resolution": "wont_fix", "expected_version": 1},
        format="json",
    )
    assert late.status_code == 409
    assert list(defect.transitions.values_list("to_status", flat=True)) == ["new", "triaged"]


def test_transition_with_past_at_for_manager_only(api_client_for, qa, manager, make_defect):
    defect = make_defect(created_at=timezone.now() - dt.timedelta(days=3), by=manager)
    at = (timezone.now() - dt.timedelta(days=1)).isoformat()
    refused = api_client_for(qa).post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "triaged", "at": at}, format="json"
    )
    assert refused.status_code == 403
    accepted = api_client_for(manager).post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "triaged", "at": at}, format="json"
    )
    assert accepted.status_code == 201
    assert accepted.json()["transition"]["at"].startswith(at[:16])


def test_transition_refused_for_viewer(api_client_for, viewer, make_defect):
    defect = make_defect()
    response = api_client_for(viewer).post(
        f"/api/v1/defects/{defect.pk}/transitions/", {"to": "triaged"}, format="json"
    )
    assert response.status_code == 403
    assert defect.transitions.count() == 1


def test_mark_duplicate_via_transition_shows_on_both(api_client_for, qa, make_defect):
    original, dup = make_defect(title="Original"), make_defect(title="Copy")
    client = api_client_for(qa)
    response = client.post(
        f"/api/v1/defects/{dup.pk}/transitions/",
        {"to": "resolved", "resolution": "duplicate", "duplicate_of": original.key},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["defect"]["duplicate_of"] == original.pk


def test_comments_roundtrip_and_refusals(api_client_for, qa, viewer, make_defect):
    defect = make_defect()
    url = f"/api/v1/defects/{defect.pk}/comments/"
    assert api_client_for(qa).post(url, {"body": "Reproduced."}, format="json").status_code == 201
    assert api_client_for(qa).post(url, {"body": ""}, format="json").status_code == 400
    assert api_client_for(viewer).post(url, {"body": "hi"}, format="json").status_code == 403
    listed = api_client_for(viewer).get(url).json()
    assert [c["body"] for c in listed] == ["Reproduced."]
    assert DefectComment.objects.count() == 1


def test_history_is_time_ordered_across_kinds(api_client_for, qa, make_defect):
    defect = make_defect()
    services.defect_comment_add(defect=defect, by=qa, body="first")
    services.defect_update(defect=defect, by=qa, data={"priority": "high"})
    services.defect_transition(defect=defect, to="triaged", by=qa)
    history = api_client_for(qa).get(f"/api/v1/defects/{defect.key}/history/").json()
    assert [e["kind"] for e in history] == ["transition", "comment", "change", "transition"]
    assert history == sorted(history, key=lambda e: e["at"])


def test_bulk_endpoint_reports_per_row(api_client_for, qa, make_defect, make_member):
    make_member("qa", username="dev")
    a, b = make_defect(title="A"), make_defect(title="B")
    services.defect_transition(defect=b, to="resolved", by=qa, resolution="fixed")
    client = api_client_for(qa)
    response = client.post(
        "/api/v1/defects/bulk/", {"ids": [a.pk, b.pk], "action": "move", "to": "triaged"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] == [a.key]
    assert body["refused"][0]["key"] == b.key
    assign = client.post(
        "/api/v1/defects/bulk/", {"ids": [a.pk, b.pk], "action": "assign", "assignee": "dev"}, format="json"
    )
    assert assign.json()["counts"]["changed"] == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"ids": [], "action": "assign"},
        {"ids": [1], "action": "explode"},
        {"ids": ["x"], "action": "assign"},
        {"ids": [1], "action": "set_severity", "severity": "huge"},
        {"ids": [1], "action": "mark_duplicate"},
    ],
)
def test_bulk_bad_input_is_400(api_client_for, qa, make_defect, payload):
    make_defect()
    response = api_client_for(qa).post("/api/v1/defects/bulk/", payload, format="json")
    assert response.status_code == 400
    assert Defect.objects.get().version == 1


def test_bulk_for_viewer_refuses_every_row(api_client_for, viewer, make_defect):
    defect = make_defect()
    response = api_client_for(viewer).post(
        "/api/v1/defects/bulk/",
        {"ids": [defect.pk], "action": "set_severity", "severity": "blocker"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["counts"] == {"changed": 0, "unchanged": 0, "refused": 1}
    defect.refresh_from_db()
    assert defect.severity == "major"


def test_delete_admin_only(api_client_for, qa, make_defect, admin):
    defect = make_defect()
    assert api_client_for(qa).delete(f"/api/v1/defects/{defect.pk}/").status_code == 403
    assert api_client_for(admin).delete(f"/api/v1/defects/{defect.pk}/").status_code == 204
    assert not DefectTransition.objects.filter(defect_id=defect.pk).exists()


def test_similar_endpoints(api_client_for, qa, make_defect):
    target = make_defect(title="NullPointerException in S3AInputStream when reading after close")
    make_defect(title="Dashboard colours are wrong")
    probe = make_defect(title="S3AInputStream throws NullPointerException reading a closed stream")
    client = api_client_for(qa)
    by_text = client.get(
        "/api/v1/defects/similar/", {"project": "PAY", "title": "NPE S3AInputStream read after close"}
    )
    assert by_text.status_code == 200
    assert by_text.json()[0]["key"] == target.key
    assert 0 < by_text.json()[0]["score"] <= 1
    by_defect = client.get(f"/api/v1/defects/{probe.pk}/similar/").json()
    assert by_defect[0]["key"] == target.key
    assert probe.key not in [d["key"] for d in by_defect]


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("project=PAY", 400), ("project=NOPE&title=x", 404), ("project=PAY&title=abc&limit=99", 400)],
)
def test_similar_bad_input(api_client_for, qa, query, status):
    assert api_client_for(qa).get(f"/api/v1/defects/similar/?{query}").status_code == status


@pytest.mark.parametrize("size", [5, 40])
def test_list_query_count_is_bounded(
    api_client_for, qa, project, django_assert_max_num_queries, size, make_member
):
    releases = [ReleaseFactory(project=project) for _ in range(3)]
    dev = make_member("qa", username="dev")
    for i in range(size):
        services.defect_create(
            project=project, title=f"Defect {i}", by=qa, found_in_release=releases[i % 3], assignee=dev
        )
    client = api_client_for(qa)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/defects/?status=open")
    assert response.json()["count"] == size


def test_defect_in_other_project_release_is_refused(api_client_for, qa):
    ReleaseFactory(project=ProjectFactory(key="OPS"), version="9.0")
    response = api_client_for(qa).post(
        "/api/v1/defects/", {"project": "PAY", "title": "x", "found_in_release": "9.0"}, format="json"
    )
    assert response.status_code == 400
