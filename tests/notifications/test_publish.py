"""publish(): in-app rows in bulk, e-mail after commit, the project's webhooks (signed JSON or Slack text),
preferences respected, the actor never told, nothing at all when the producer's transaction rolls back."""

import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

from metrics import alerts
from metrics.models import DeliveryStatus, Webhook, WebhookDelivery
from notifications import services
from notifications.kinds import Kind
from notifications.models import Notification, NotificationEvent, NotificationPreference
from tests.factories import UserFactory
from tests.httplistener import listening


def _publish(project, recipients, *, actor=None, kind=Kind.NO_GO_RECORDED, **extra):
    return services.publish(
        kind=kind,
        project=project,
        recipients=recipients,
        title="No-go for 2.4.0 at 'Release readiness'",
        body="Rationale: <b>blocker</b> open & unfixed",
        url="/releases/1/gates/",
        payload={"release": "2.4.0"},
        actor=actor,
        **extra,
    )


def test_publish_writes_in_app_rows_and_emails_each_member_once_after_commit(
    rm, manager, viewer, django_capture_on_commit_callbacks
):
    # given three members, one of them named twice
    # when an event is published for them
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = _publish(rm.memberships.first().project, [rm, manager, viewer, rm])
        # then the in-app rows exist at once (inside the producer's transaction), the e-mails wait for the commit
        assert sorted(Notification.objects.values_list("user__username", flat=True)) == sorted(
            [rm.username, manager.username, viewer.username]
        )
        assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rm.email, manager.email, viewer.email])
    message = mail.outbox[0]
    assert message.subject == "[QualityGov] PAY: No-go for 2.4.0 at 'Release readiness'"
    assert "http://localhost:8000/releases/1/gates/" in message.body
    assert "/notifications/preferences/" in message.body
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_actor_and_non_members_are_never_told(rm, manager, django_capture_on_commit_callbacks):
    outsider = UserFactory(username="outsider")
    with django_capture_on_commit_callbacks(execute=True):
        _publish(rm.memberships.first().project, [rm, manager, outsider], actor=manager)
    assert list(Notification.objects.values_list("user", flat=True)) == [rm.pk]
    assert [m.to for m in mail.outbox] == [[rm.email]]


@pytest.mark.parametrize(
    ("in_app", "email", "rows", "mails"),
    [(False, False, 0, 0), (False, True, 0, 1), (True, False, 1, 0), (True, True, 1, 1)],
)
def test_preferences_switch_each_channel_per_kind(
    rm, in_app, email, rows, mails, django_capture_on_commit_callbacks
):
    project = rm.memberships.first().project
    services.preferences_save(user=rm, choices={Kind.NO_GO_RECORDED: {"in_app": in_app, "email": email}})
    with django_capture_on_commit_callbacks(execute=True):
        _publish(project, [rm])
        # another kind is not affected by the switch
        _publish(project, [rm], kind=Kind.GATE_FAILED)
    assert Notification.objects.filter(kind=Kind.NO_GO_RECORDED).count() == rows
    assert (
        len([m for m in mail.outbox if "No-go" in m.subject]) == mails + 1
    )  # the gate_failed one has the title too
    assert Notification.objects.filter(kind=Kind.GATE_FAILED).count() == 1


def test_a_rolled_back_change_tells_nobody(rm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        _publish(rm.memberships.first().project, [rm])
        raise RuntimeError("the producer's change failed")
    assert not NotificationEvent.objects.exists() and not Notification.objects.exists()
    assert mail.outbox == []


def test_unknown_kind_and_outside_links_are_refused(project):
    from qualitygov.errors import DomainError

    with pytest.raises(DomainError):
        services.publish(kind="party", project=project, recipients=[], title="x")
    with pytest.raises(DomainError):
        services.publish(
            kind=Kind.GATE_FAILED, project=project, recipients=[], title="x", url="https://evil.example/"
        )
    assert not NotificationEvent.objects.exists()


def test_once_key_publishes_once(rm, django_capture_on_commit_callbacks):
    project = rm.memberships.first().project
    with django_capture_on_commit_callbacks(execute=True):
        first = _publish(project, [rm], once_key="waiver_expiring:7")
        second = _publish(project, [rm], once_key="waiver_expiring:7")
    assert first is not None and second is None
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_dispatch_runs_once_per_event(rm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = _publish(rm.memberships.first().project, [rm])
    assert services.event_dispatch(event_id=event.pk) is False  # a redelivered task does nothing
    assert len(mail.outbox) == 1


def test_sweep_delivers_events_whose_task_was_lost(rm, django_capture_on_commit_callbacks):
    # given an event whose task never ran (broker down at commit)
    with django_capture_on_commit_callbacks(execute=False):
        event = _publish(rm.memberships.first().project, [rm])
    assert services.events_dispatch_pending() == 0  # too young: its task may still be on its way
    NotificationEvent.objects.filter(pk=event.pk).update(created=event.created - services.SWEEP_AFTER * 2)
    # when the beat sweep runs
    assert services.events_dispatch_pending() == 1
    # then it is delivered once
    assert len(mail.outbox) == 1 and services.events_dispatch_pending() == 0


# --- webhooks: the channel metrics registers ------------------------------------------------------------------------


def _hook(project, port, **extra):
    return alerts.webhook_create(
        project=project, name="chat", url=f"http://127.0.0.1:{port}/hook", secret="s" * 32, by=None, **extra
    )


def test_event_is_posted_to_the_projects_webhook_signed(rm, django_capture_on_commit_callbacks):
    project = rm.memberships.first().project
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        hook = _hook(project, listener.port)
        with django_capture_on_commit_callbacks(execute=True):
            event = _publish(project, [rm])
    [sent] = listener.requests
    body = json.loads(sent["body"])
    assert body["event"] == "no_go_recorded" and body["project"] == "PAY"
    assert body["title"] == "No-go for 2.4.0 at 'Release readiness'"
    assert body["url"] == "http://localhost:8000/releases/1/gates/"
    assert body["data"] == {"release": "2.4.0"} and body["event_id"] == event.pk
    assert sent["headers"]["X-QualityGov-Event"] == "no_go_recorded"
    expected = "sha256=" + hmac.new(b"s" * 32, sent["body"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-QualityGov-Signature"] == expected
    delivery = WebhookDelivery.objects.get(event=event, webhook=hook)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.alert_id is None


def test_slack_format_posts_a_text_message_with_escaped_user_text(rm, django_capture_on_commit_callbacks):
    project = rm.memberships.first().project
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        _hook(project, listener.port, payload_format="slack")
        with django_capture_on_commit_callbacks(execute=True):
            _publish(project, [rm])
    [sent] = listener.requests
    body = json.loads(sent["body"])
    assert list(body) == ["text"]
    assert body["text"] == (
        "<http://localhost:8000/releases/1/gates/|[QualityGov] PAY: No-go for 2.4.0 at 'Release readiness'>\n"
        "Rationale: &lt;b&gt;blocker&lt;/b&gt; open &amp; unfixed"
    )


def test_webhook_gets_only_the_kinds_it_subscribed_to_and_never_when_inactive(
    rm, django_capture_on_commit_callbacks
):
    project = rm.memberships.first().project
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        _hook(project, listener.port, event_kinds=[Kind.GATE_FAILED])
        off = _hook(project, listener.port)
        Webhook.objects.filter(pk=off.pk).update(active=False)
        with django_capture_on_commit_callbacks(execute=True):
            _publish(project, [rm])  # no_go_recorded: not subscribed / inactive
            _publish(project, [rm], kind=Kind.DEFECT_ASSIGNED)  # personal notices are not a default kind
            _publish(project, [rm], kind=Kind.GATE_FAILED)
    assert [json.loads(r["body"])["event"] for r in listener.requests] == ["gate_failed"]


def test_alert_webhooks_honour_the_slack_format_too(rm, release):
    from metrics.models import Alert, AlertRule

    project = release.project
    rule = AlertRule.objects.create(project=project, metric="open_defects", threshold=3, created_by=rm)
    alert = Alert.objects.create(
        rule=rule,
        project=project,
        release=release,
        metric="open_defects",
        value=5,
        threshold=3,
        direction="above",
    )
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        hook = _hook(project, listener.port, payload_format="slack")
        alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    [sent] = listener.requests
    assert json.loads(sent["body"]) == {
        "text": "[QualityGov] PAY 2.4.0: Open defects is 5, above the threshold 3"
    }
    assert sent["headers"]["X-QualityGov-Event"] == "alert"


def test_preferences_refuse_unknown_kinds_and_channels(rm):
    from qualitygov.errors import DomainError

    with pytest.raises(DomainError):
        services.preferences_save(user=rm, choices={"party": {"email": False}})
    with pytest.raises(DomainError):
        services.preferences_save(user=rm, choices={Kind.GATE_FAILED: {"pager": False}})
    assert not NotificationPreference.objects.exists()
    services.preferences_save(user=rm, choices={Kind.GATE_FAILED: {"email": False}})
    services.preferences_save(user=rm, choices={Kind.GATE_FAILED: {"in_app": False}})  # keeps email off
    assert NotificationPreference.objects.values_list("in_app", "email").get() == (False, False)
