"""Webhook format and notification kinds over the API: set at registration, changed later; admins only."""

import pytest

from metrics.models import Webhook
from tests.factories import ProjectFactory


@pytest.fixture
def hook(project):
    return Webhook.objects.create(
        project=project, name="ops", url="https://hooks.example.com/qg", secret="s" * 20
    )


def test_register_a_slack_webhook_with_chosen_kinds(admin, api_client_for):
    answer = api_client_for(admin).post(
        "/api/v1/projects/PAY/webhooks/",
        {
            "name": "release chat",
            "url": "https://hooks.slack.com/services/T0/B0/X",
            "secret": "a-long-shared-secret",
            "payload_format": "slack",
            "event_kinds": ["no_go_recorded", "decision_suspended"],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["payload_format"] == "slack" and body["event_kinds"] == [
        "no_go_recorded",
        "decision_suspended",
    ]
    assert "secret" not in body


def test_a_new_webhook_receives_the_governance_kinds_by_default(admin, api_client_for):
    answer = api_client_for(admin).post(
        "/api/v1/projects/PAY/webhooks/",
        {"url": "https://hooks.example.com/a", "secret": "a-long-shared-secret"},
        format="json",
    )
    assert answer.json()["payload_format"] == "json"
    assert answer.json()["event_kinds"] == [
        "gate_failed",
        "no_go_recorded",
        "decision_suspended",
        "waiver_expiring",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload_format": "xml"}, "payload_format"),
        ({"event_kinds": ["party"]}, "event_kinds"),
        ({"url": "http://127.0.0.1/hook"}, "url"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_patch_refuses_bad_values_and_changes_nothing(admin, api_client_for, hook, body, field):
    answer = api_client_for(admin).patch(f"/api/v1/webhooks/{hook.pk}/", body, format="json")
    assert answer.status_code == 400 and field in str(answer.json())
    hook.refresh_from_db()
    assert (hook.payload_format, hook.url, hook.secret) == ("json", "https://hooks.example.com/qg", "s" * 20)


def test_patch_switches_format_and_kinds(admin, api_client_for, hook):
    answer = api_client_for(admin).patch(
        f"/api/v1/webhooks/{hook.pk}/",
        {"payload_format": "slack", "event_kinds": ["gate_failed", "defect_assigned"], "active": False},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    hook.refresh_from_db()
    assert (hook.payload_format, hook.event_kinds, hook.active) == (
        "slack",
        ["gate_failed", "defect_assigned"],
        False,
    )
    assert hook.url == "https://hooks.example.com/qg" and hook.secret == "s" * 20  # untouched


@pytest.mark.parametrize("role", ["viewer", "qa", "manager", "release_manager"])
def test_only_admins_read_or_change_a_webhook(make_member, api_client_for, hook, role):
    client = api_client_for(make_member(role))
    assert client.get(f"/api/v1/webhooks/{hook.pk}/").status_code == 403
    assert (
        client.patch(f"/api/v1/webhooks/{hook.pk}/", {"payload_format": "slack"}, format="json").status_code
        == 403
    )
    hook.refresh_from_db()
    assert hook.payload_format == "json"


def test_another_projects_webhook_answers_like_a_missing_one(admin, api_client_for):
    other = Webhook.objects.create(
        project=ProjectFactory(key="OTHER"), name="x", url="https://hooks.example.com/x", secret="s" * 20
    )
    client = api_client_for(admin)
    assert client.get(f"/api/v1/webhooks/{other.pk}/").status_code == 404
    assert client.get("/api/v1/webhooks/999999/").status_code == 404


def test_the_webhook_form_offers_format_and_kinds(admin, client, project):
    client.force_login(admin)
    page = client.get(f"/projects/{project.key}/alerts/").content.decode()
    assert 'name="payload_format"' in page and 'value="slack"' in page
    assert 'name="event_kinds"' in page and 'value="decision_suspended"' in page
    answer = client.post(
        f"/projects/{project.key}/alerts/",
        {
            "form": "webhook",
            "name": "chat",
            "url": "https://hooks.slack.com/services/T/B/X",
            "secret": "s" * 20,
            "payload_format": "slack",
            "event_kinds": ["gate_failed"],
        },
    )
    assert answer.status_code == 302
    hook = Webhook.objects.get(project=project)
    assert (hook.payload_format, hook.event_kinds) == ("slack", ["gate_failed"])
