"""Gate API: shapes, permissions, append-only endpoints, error messages and query counts."""

import datetime as dt

import pytest
from django.utils import timezone

from gates import services
from gates.models import AuditEvent, ChecklistSignoff, Decision, GateEvaluation, QualityGate
from releases.models import Role
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

FAILING = {"blocking_open_defects": 0, "test_pass_rate": 90.0, "reopen_rate": 1.0}
GATE_BODY = {
    "project": "PAY",
    "name": "API gate",
    "conditions": [
        {"metric": "blocking_open_defects", "operator": "lte", "error_threshold": 0, "key": True},
        {
            "metric": "test_pass_rate",
            "operator": "gte",
            "error_threshold": 95,
            "warn_threshold": 98,
            "missing_data": "warn",
        },
    ],
    "checklist_items": [{"text": "Release notes", "role": "manager"}],
}


def test_admin_creates_a_gate_with_nested_conditions(api_client_for, project, admin):
    # given an admin / when posting a gate
    response = api_client_for(admin).post("/api/v1/gates/", GATE_BODY, format="json")
    # then 201 with the nested rows, revision 1, and an audit row
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["project"] == "PAY" and body["revision"] == 1
    assert [c["metric"] for c in body["conditions"]] == ["blocking_open_defects", "test_pass_rate"]
    assert body["conditions"][1]["warn_threshold"] == 98 and body["checklist_items"][0]["role"] == "manager"
    assert AuditEvent.objects.filter(action="gate.created", data__gate=body["id"]).exists()


@pytest.mark.parametrize("role", [Role.RELEASE_MANAGER, Role.MANAGER, Role.QA, Role.VIEWER])
def test_non_admins_cannot_create_or_change_gates(api_client_for, project, gate, make_member, role):
    client = api_client_for(make_member(role))
    assert client.post("/api/v1/gates/", GATE_BODY, format="json").status_code == 403
    assert client.patch(f"/api/v1/gates/{gate.pk}/", {"name": "Hijacked"}, format="json").status_code == 403
    assert not QualityGate.objects.filter(name__in=["API gate", "Hijacked"]).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"conditions": [{"metric": "nope", "operator": "lte", "error_threshold": 0}]}, "unknown metric"),
        (
            {
                "conditions": [
                    {
                        "metric": "test_pass_rate",
                        "operator": "gte",
                        "error_threshold": 95,
                        "warn_threshold": 90,
                    }
                ]
            },
            "stricter",
        ),
        ({"checklist_items": [{"text": "x", "role": "boss"}]}, "role must be"),
        ({"project": "NOPE"}, "No project"),
        # orders are small integers in the database: more was a 500 ("smallint out of range") on PostgreSQL
        ({"order": 99999}, "less than or equal to 32767"),
        (
            {
                "conditions": [
                    {"metric": "open_defects", "operator": "lte", "error_threshold": 1, "order": 70000}
                ]
            },
            "less than or equal to 32767",
        ),
        ({"checklist_items": [{"text": "x", "role": "qa", "order": 2**40}]}, "less than or equal to 32767"),
    ],
)
def test_bad_gate_input_is_a_400_with_a_message(api_client_for, project, change, message, admin):
    response = api_client_for(admin).post("/api/v1/gates/", GATE_BODY | change, format="json")
    assert response.status_code == 400 and message in str(response.json())
    assert not QualityGate.objects.filter(name="API gate").exists()


def test_update_bumps_revision_and_stale_revision_is_409(api_client_for, gate, admin):
    client = api_client_for(admin)
    ok = client.patch(f"/api/v1/gates/{gate.pk}/", {"revision": 1, "description": "Tighter"}, format="json")
    assert ok.status_code == 200 and ok.json()["revision"] == 2
    late = client.patch(f"/api/v1/gates/{gate.pk}/", {"revision": 1, "description": "Older"}, format="json")
    assert late.status_code == 409
    assert AuditEvent.objects.filter(action="gate.changed").count() == 1


def test_evaluate_over_the_api_returns_the_contract_shape(
    api_client_for, gate, release, metric_values, cond, qa, viewer
):
    metric_values(FAILING)
    response = api_client_for(qa).post(
        f"/api/v1/gates/{gate.pk}/evaluations/", {"release": release.pk}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed" and body["revision"] == 1
    row = next(c for c in body["conditions"] if c["metric"] == "test_pass_rate")
    assert (
        row
        | {
            "condition": cond("test_pass_rate").pk,
            "value": 90.0,
            "operator": "gte",
            "error_threshold": 95.0,
            "warn_threshold": 98.0,
            "outcome": "failed",
        }
        == row
    )
    assert body["checklist"][0]["outcome"] == "failed"
    # and it can be read back, but not changed or deleted
    client = api_client_for(viewer)
    assert client.get(f"/api/v1/evaluations/{body['id']}/").json()["id"] == body["id"]
    for method in ("put", "patch", "delete"):
        assert (
            getattr(client, method)(f"/api/v1/evaluations/{body['id']}/", {}, format="json").status_code
            == 405
        )


@pytest.mark.parametrize(("gate_id", "release_id", "expected"), [(999, None, 404), (None, 999, 404)])
def test_evaluate_unknown_gate_or_release_is_404(
    api_client_for, gate, release, gate_id, release_id, expected, qa
):
    client = api_client_for(qa)
    response = client.post(
        f"/api/v1/gates/{gate_id or gate.pk}/evaluations/",
        {"release": release_id or release.pk},
        format="json",
    )
    assert response.status_code == expected and not GateEvaluation.objects.exists()


def test_viewer_and_anonymous_cannot_evaluate(api_client_for, gate, release, metric_values, viewer):
    metric_values(FAILING)
    url = f"/api/v1/gates/{gate.pk}/evaluations/"
    assert api_client_for(viewer).post(url, {"release": release.pk}).status_code == 403
    assert api_client_for(None).post(url, {"release": release.pk}).status_code == 401
    assert not GateEvaluation.objects.exists()


def test_release_of_another_project_is_answered_like_a_missing_one(api_client_for, gate, metric_values, qa):
    """Issue 12: the 400 said "Release <key> 7.0 belongs to another project" (an existence oracle)."""
    other = ReleaseFactory(version="7.0")
    client = api_client_for(qa)
    response = client.post(f"/api/v1/gates/{gate.pk}/evaluations/", {"release": other.pk}, format="json")
    missing = client.post(f"/api/v1/gates/{gate.pk}/evaluations/", {"release": 98765432}, format="json")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() and "7.0" not in response.content.decode()


def test_decision_over_the_api_with_waivers(api_client_for, gate, release, metric_values, cond, rm):
    metric_values(FAILING)
    client = api_client_for(rm)
    ev = client.post(f"/api/v1/gates/{gate.pk}/evaluations/", {"release": release.pk}, format="json").json()
    expires = (timezone.now() + dt.timedelta(days=10)).date().isoformat()
    body = {
        "release": release.pk,
        "gate": gate.pk,
        "evaluation": ev["id"],
        "decision": "go_with_waivers",
        "rationale": "Pilot customers only",
        "waivers": [
            {
                "condition": cond("test_pass_rate").pk,
                "justification": "Known flaky",
                "owner": rm.username,
                "expires": expires,
            },
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "Verbal",
                "owner": rm.username,
                "expires": expires,
            },
        ],
    }
    response = client.post("/api/v1/decisions/", body, format="json")
    assert response.status_code == 201, response.json()
    out = response.json()
    assert (
        out["decision"] == "go_with_waivers" and out["evaluation"] == ev["id"] and out["supersedes"] is None
    )
    assert {w["owner"] for w in out["waivers"]} == {rm.username} and len(out["waivers"]) == 2
    # a second decision supersedes it, and the list shows both with links
    second = client.post(
        "/api/v1/decisions/",
        {"release": release.pk, "gate": gate.pk, "decision": "no_go", "rationale": "Changed our mind"},
        format="json",
    ).json()
    assert second["supersedes"] == out["id"]
    listed = client.get(f"/api/v1/decisions/?release={release.pk}").json()["results"]
    assert [d["id"] for d in listed] == [second["id"], out["id"]] and listed[1]["superseded_by"] == second[
        "id"
    ]
    for method in ("put", "patch", "delete"):
        assert (
            getattr(client, method)(f"/api/v1/decisions/{out['id']}/", {}, format="json").status_code == 405
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "go"}, "needs a passed or warned"),
        ({"waivers": []}, "missing for"),
        ({"decision": "perhaps"}, "decision"),
        ({"rationale": ""}, "rationale"),
    ],
)
def test_decision_rule_breaks_are_400_with_a_message(
    api_client_for, gate, release, metric_values, change, message, rm
):
    metric_values(FAILING)
    client = api_client_for(rm)
    body = {"release": release.pk, "gate": gate.pk, "decision": "go_with_waivers", "rationale": "r"} | change
    response = client.post("/api/v1/decisions/", body, format="json")
    assert response.status_code == 400 and message in str(response.json())
    assert not Decision.objects.exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.QA, Role.VIEWER])
def test_only_release_managers_decide_over_the_api(
    api_client_for, gate, release, make_member, metric_values, role
):
    metric_values(FAILING)
    response = api_client_for(make_member(role)).post(
        "/api/v1/decisions/",
        {"release": release.pk, "gate": gate.pk, "decision": "no_go", "rationale": "r"},
        format="json",
    )
    assert (
        response.status_code == 403 and not Decision.objects.exists() and not GateEvaluation.objects.exists()
    )


def test_signoff_endpoints_and_roles(api_client_for, gate, release, qa, rm):
    item = gate.checklist_items.get()
    url = f"/api/v1/checklist-items/{item.pk}/signoffs/"
    assert api_client_for(qa).post(url, {"release": release.pk}).status_code == 403
    assert not ChecklistSignoff.objects.exists()
    rm_client = api_client_for(rm)
    created = rm_client.post(url, {"release": release.pk, "comment": "ok"}, format="json")
    assert created.status_code == 201 and created.json()["signed_by"] == "release_manager_pay"
    assert rm_client.post(url, {"release": release.pk}, format="json").status_code == 409
    revoke = f"/api/v1/signoffs/{created.json()['id']}/revoke/"
    assert rm_client.post(revoke, {"reason": ""}, format="json").status_code == 400
    revoked = rm_client.post(revoke, {"reason": "Wrong build"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["revoke_reason"] == "Wrong build"
    listed = rm_client.get(f"/api/v1/signoffs/?release={release.pk}").json()["results"]
    assert len(listed) == 1 and listed[0]["revoked_by"] == "release_manager_pay"


@pytest.mark.parametrize("gates", [1, 10])
def test_gate_list_query_count_is_bounded(
    api_client_for, project, gates, django_assert_max_num_queries, admin
):
    for i in range(gates):
        services.gate_create(
            project=project,
            name=f"G{i}",
            by=admin,
            conditions=GATE_BODY["conditions"],
            checklist_items=GATE_BODY["checklist_items"],
        )
    client = api_client_for(admin)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/gates/?project=PAY")
    assert response.json()["count"] == gates


@pytest.mark.parametrize("decisions", [1, 10])
def test_decision_and_audit_lists_query_count_is_bounded(
    api_client_for, gate, release, metric_values, decisions, django_assert_max_num_queries, rm
):
    metric_values(FAILING)
    for i in range(decisions):
        services.decision_record(release=release, gate=gate, decision="no_go", rationale=f"r{i}", by=rm)
    client = api_client_for(rm)
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/decisions/").json()["count"] == decisions
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/audit-events/?project=PAY").status_code == 200


def test_waiver_list_flags_expired_waivers_of_decisions_in_force(
    api_client_for, gate, release, metric_values, cond, rm, viewer
):
    from gates.models import Waiver

    # given a go-with-waivers decision whose waivers have expired
    metric_values(FAILING)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date()
    decision = services.decision_record(
        release=release,
        gate=gate,
        decision="go_with_waivers",
        rationale="ok",
        by=rm,
        waivers=[
            {"condition": cond("test_pass_rate").pk, "justification": "j", "owner": rm, "expires": tomorrow},
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "j",
                "owner": rm,
                "expires": tomorrow,
            },
        ],
    )
    Waiver.objects.filter(decision=decision).update(expires=timezone.now().date() - dt.timedelta(days=2))
    client = api_client_for(viewer)
    # when listed as expired / then both are there, flagged
    expired = client.get("/api/v1/waivers/?project=PAY&expired=1").json()["results"]
    assert len(expired) == 2 and all(w["expired"] for w in expired)
    assert expired[0]["release_version"] == "2.4.0" and expired[0]["gate"] == "RC gate"
    # when a later decision supersedes it / then they are no longer "in force", but still listed in full
    services.decision_record(release=release, gate=gate, decision="no_go", rationale="Rolled back", by=rm)
    assert client.get("/api/v1/waivers/?project=PAY&expired=1").json()["count"] == 0
    assert client.get("/api/v1/waivers/?project=PAY").json()["count"] == 2
    assert client.get("/api/v1/waivers/").status_code == 400


# --- found by the generated access matrix (tests/hardening/test_access_matrix.py) ---------------------------


@pytest.mark.parametrize("kind", ["evaluate", "sign", "revoke"])
def test_other_projects_gate_objects_answer_404_before_the_body_is_read(kind, api_client_for, db, admin):
    from gates.models import ChecklistItem, ChecklistSignoff, QualityGate

    from ..factories import ProjectFactory, ReleaseFactory, UserFactory

    other = ProjectFactory(key="OTH")
    gate = QualityGate.objects.create(project=other, name="G", order=1)
    item = ChecklistItem.objects.create(gate=gate, text="x", role="release_manager", order=0)
    signoff = ChecklistSignoff.objects.create(
        item=item, release=ReleaseFactory(project=other), signed_by=UserFactory(username="someone")
    )
    url = {
        "evaluate": f"/api/v1/gates/{gate.id}/evaluations/",
        "sign": f"/api/v1/checklist-items/{item.id}/signoffs/",
        "revoke": f"/api/v1/signoffs/{signoff.id}/revoke/",
    }[kind]
    response = api_client_for(admin).post(url, {}, format="json")  # an empty, invalid body
    assert response.status_code == 404


def test_other_projects_gates_evaluations_and_lists_answer_404_like_the_rest_of_the_api(
    api_client_for, db, admin
):
    from gates import services as gate_services
    from gates.models import QualityGate

    from ..factories import ProjectFactory, ReleaseFactory

    other = ProjectFactory(key="OTH")
    gate = QualityGate.objects.create(project=other, name="G", order=1)
    release = ReleaseFactory(project=other)
    evaluation = gate_services.gate_evaluate(gate=gate, release=release, by=None, via="schedule")
    client = api_client_for(admin)  # admin of another project
    for url in (
        f"/api/v1/gates/{gate.id}/",
        f"/api/v1/gates/{gate.id}/evaluations/",
        f"/api/v1/evaluations/{evaluation.id}/",
        f"/api/v1/signoffs/?release={release.id}",
        "/api/v1/audit-events/?project=OTH",
        "/api/v1/waivers/?project=OTH",
    ):
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "OTH" not in response.content.decode()
