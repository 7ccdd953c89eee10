"""Alert rules, webhooks and recompute requests: their services check the acting user themselves."""

import pytest

from metrics import alerts
from metrics.models import AlertRule, Webhook
from qualitygov.errors import AccessDenied

pytestmark = pytest.mark.django_db


def test_alert_and_webhook_services_refuse_a_non_admin_and_write_nothing(project, admin, qa):
    # Given a rule and a webhook an admin set up
    rule = alerts.alert_rule_create(
        project=project, metric="open_defects", threshold=10, direction="above", by=admin
    )
    hook = alerts.webhook_create(
        project=project, name="chat", url="https://hooks.example.com/qg", secret="s" * 20, by=admin
    )
    # When a QA member (no manage_gates) calls each service directly, as a page or the API would
    refused = [
        lambda: alerts.alert_rule_create(
            project=project, metric="open_defects", threshold=5, direction="above", by=qa
        ),
        lambda: alerts.alert_rule_update(rule=rule, data={"threshold": 1}, by=qa),
        lambda: alerts.alert_rule_delete(rule=rule, by=qa),
        lambda: alerts.webhook_create(
            project=project, name="mine", url="https://hooks.example.com/x", secret="t" * 20, by=qa
        ),
        lambda: alerts.webhook_update(webhook=hook, data={"name": "renamed"}, by=qa),
    ]
    for call in refused:
        with pytest.raises(AccessDenied):
            call()
    # Then nothing changed
    rule.refresh_from_db()
    hook.refresh_from_db()
    assert (rule.threshold, hook.name) == (10, "chat")
    assert AlertRule.objects.filter(project=project).count() == 1
    assert Webhook.objects.filter(project=project).count() == 1


def test_an_admin_changes_and_deletes_a_rule(project, admin):
    rule = alerts.alert_rule_create(
        project=project, metric="open_defects", threshold=10, direction="above", by=admin
    )
    assert alerts.alert_rule_update(rule=rule, data={"threshold": 3}, by=admin).threshold == 3
    alerts.alert_rule_delete(rule=rule, by=admin)
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_recompute_is_asked_for_by_a_member_who_may_evaluate_gates(release, viewer, qa):
    from metrics.models import PendingRecompute
    from metrics.services import recompute_request

    with pytest.raises(AccessDenied):
        recompute_request(release=release, by=viewer)
    assert not PendingRecompute.objects.filter(release=release).exists()
    recompute_request(release=release, by=qa)
    assert PendingRecompute.objects.filter(release=release).exists()
