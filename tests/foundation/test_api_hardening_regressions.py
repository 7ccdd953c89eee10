"""Regressions for what the API fuzzing (tests/hardening/test_api_fuzz.py) found, one focused test each."""

import pytest
from django.urls import reverse

from releases.models import Role

from ..factories import DefectFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def _schema(client):
    return client.get(reverse("api-schema") + "?format=json").json()


def test_query_string_with_nul_is_refused_not_a_500(api_client_for, project, viewer):
    client = api_client_for(viewer)
    response = client.get("/api/v1/audit-events/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert client.get("/api/v1/defects/", {"q": "\x00"}).status_code == 400


def test_unknown_api_url_answers_json_404(api_client_for, project, admin):
    # the members route only matches well-formed project keys: anything else used to be an HTML 404 page
    response = api_client_for(admin).get("/api/v1/projects/1234/members/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_release_written_over_the_api_carries_its_counts(api_client_for, project, manager):
    client = api_client_for(manager)
    created = client.post("/api/v1/releases/", {"project": "PAY", "version": "9.9.9"}, format="json")
    assert created.status_code == 201
    assert created.json()["defect_count"] == 0 and created.json()["run_count"] == 0
    release_id = created.json()["id"]
    DefectFactory(project=project, found_in_release_id=release_id)
    patched = client.patch(f"/api/v1/releases/{release_id}/", {"name": "Nine"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["defect_count"] == 1


def test_nullable_people_fields_are_nullable_in_the_schema(client):
    schemas = _schema(client)["components"]["schemas"]
    assert schemas["DefectOutput"]["properties"]["assignee"].get("nullable") is True
    assert schemas["ActionItemOutput"]["properties"]["owner"].get("nullable") is True
    assert schemas["AlertRuleOutput"]["properties"]["owner"].get("nullable") is True


@pytest.mark.parametrize(
    "path", ["/api/v1/defects/", "/api/v1/incidents/", "/api/v1/alerts/", "/api/v1/runs/{id}/results/"]
)
def test_paginated_lists_are_paginated_in_the_schema(client, path):
    schema = _schema(client)
    ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"count", "next", "previous", "results"} <= set(properties)


def test_lists_return_the_paginated_shape(api_client_for, project, release, viewer):
    IncidentFactory(project=project)
    body = api_client_for(viewer).get("/api/v1/incidents/").json()
    assert body["count"] == 1 and len(body["results"]) == 1


def test_every_operation_documents_its_errors_with_a_body(client):
    schema = _schema(client)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"]
            if method in {"post", "put", "patch", "delete"}:
                assert {"403", "409"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert "415" in responses, (method, path)
            for code, response in responses.items():
                if code.startswith("4"):
                    assert "application/json" in response["content"], (method, path, code)
    junit = schema["paths"]["/api/v1/releases/{release_id}/junit/"]["post"]["responses"]
    assert "413" in junit
    assert "413" not in schema["paths"]["/api/v1/releases/"]["post"]["responses"]


HUGE = 2**70  # more than any 64-bit primary key: SQLite cannot even compare it with a column


@pytest.mark.parametrize(
    ("role", "path", "body", "field"),
    [
        (Role.QA, "/api/v1/defects/", {"title": "Huge link", "requirements": [HUGE]}, "requirements"),
        (Role.QA, "/api/v1/defects/bulk/", {"ids": [1, HUGE], "action": "assign"}, "ids"),
        (Role.QA, "/api/v1/defects/", {"title": "Negative link", "test_cases": [-HUGE]}, "test_cases"),
        (Role.QA, "/api/v1/testcases/bulk-link/", {"test_cases": [HUGE], "requirements": [1]}, "test_cases"),
        (
            Role.MANAGER,
            "/api/v1/incidents/",
            {"title": "Down", "severity": "sev1", "release": HUGE},
            "release",
        ),
        (
            Role.RELEASE_MANAGER,
            "/api/v1/decisions/",
            {"release": HUGE, "gate": 1, "decision": "go"},
            "release",
        ),
    ],
)
def test_ids_beyond_64_bits_are_a_field_error_not_a_500(
    api_client_for, make_member, project, role, path, body, field
):
    client = api_client_for(make_member(role))
    response = client.post(path, {"project": project.key, "rationale": "r", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
