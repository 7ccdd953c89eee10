"""Alerts fire once per crossing and re-arm; webhooks are signed and retried; recomputes are coalesced."""

import hashlib
import hmac
import json
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings

from metrics import alerts, services
from metrics.models import Alert, AlertRule, MetricSnapshot, PendingRecompute, Webhook, WebhookDelivery
from tests import factories as f
from tests.httplistener import listening

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(project, manager):
    owner = manager
    return AlertRule.objects.create(
        project=project, metric="open_defects", threshold=1, direction="above", owner=owner
    )


def test_alert_fires_once_per_crossing_and_rearms(rule, release, django_capture_on_commit_callbacks):
    # given two open defects: above the threshold of 1
    d1 = f.DefectFactory(project=release.project, found_in_release=release)
    f.DefectFactory(project=release.project, found_in_release=release)
    with django_capture_on_commit_callbacks(execute=True):
        services.snapshot_release(release=release)
    # then one alert, and the owner got one e-mail
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "Open defects" in mail.outbox[0].subject
    # when recomputed again while still above: no second alert, no second mail
    with django_capture_on_commit_callbacks(execute=True):
        services.snapshot_release(release=release)
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == 1
    # when the metric goes back (one defect deleted -> 1, not above 1): the alert clears, the rule re-arms
    d1.delete()
    services.snapshot_release(release=release)
    assert Alert.objects.get().cleared_at is not None
    # when it crosses again: a second alert
    f.DefectFactory(project=release.project, found_in_release=release)
    services.snapshot_release(release=release)
    assert Alert.objects.count() == 2
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 1


def test_no_data_neither_fires_nor_clears(project, release):
    AlertRule.objects.create(project=project, metric="test_pass_rate", threshold=90, direction="below")
    services.snapshot_release(release=release)  # pass rate: no data
    assert not Alert.objects.exists()


def test_backfilled_snapshots_do_not_fire_alerts(rule, release):
    import datetime as dt

    from django.utils import timezone

    f.DefectFactory(
        project=release.project, found_in_release=release, created_at=timezone.now() - dt.timedelta(days=3)
    )
    f.DefectFactory(
        project=release.project, found_in_release=release, created_at=timezone.now() - dt.timedelta(days=3)
    )
    services.snapshot_release(release=release, as_of=timezone.now() - dt.timedelta(days=1))
    assert not Alert.objects.exists()


def _alert(rule, release):
    return Alert.objects.create(
        rule=rule,
        project=release.project,
        release=release,
        metric="open_defects",
        value=3,
        threshold=1,
        direction="above",
    )


def test_webhook_is_posted_with_hmac_signature(rule, release):
    """Delivered for real to a listener on 127.0.0.1 (let through by the operator allow-list)."""
    alert = _alert(rule, release)
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        hook = Webhook.objects.create(
            project=release.project, name="ops", url=f"http://127.0.0.1:{listener.port}/x", secret="k" * 32
        )
        rule.webhooks.add(hook)
        delivery = alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    [sent] = listener.requests
    expected = "sha256=" + hmac.new(b"k" * 32, sent["body"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-QualityGov-Signature"] == expected
    assert sent["headers"]["Content-Type"] == "application/json"
    assert json.loads(sent["body"])["metric"] == "open_defects"
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("delivered", 204, 1)


def test_failed_webhook_raises_for_retry_and_records_the_error(rule, release):
    alert = _alert(rule, release)
    with listening() as listener:
        port = listener.port  # closed when the block ends: nothing listens there any more
    hook = Webhook.objects.create(
        project=release.project, name="ops", url=f"http://127.0.0.1:{port}/x", secret="k" * 32
    )
    with override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]), pytest.raises(alerts.WebhookFailed):
        alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "refused" in delivery.last_error.lower()

    with listening(status=503) as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        Webhook.objects.filter(pk=hook.pk).update(url=f"http://127.0.0.1:{listener.port}/x")
        with pytest.raises(alerts.WebhookFailed):
            alerts.webhook_deliver(alert_id=alert.pk, webhook_id=hook.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("failed", 503, 2)
    assert delivery.last_error == "HTTP 503"


def test_webhook_task_retries_with_backoff_only_on_failure(rule, release):
    from celery.exceptions import Retry

    from metrics.tasks import deliver_webhook, webhook_backoff

    hook = Webhook.objects.create(
        project=release.project, name="ops", url="https://x.example.com", secret="k" * 32
    )
    alert = Alert.objects.create(
        rule=rule,
        project=release.project,
        release=release,
        metric="open_defects",
        value=3,
        threshold=1,
        direction="above",
    )
    # when delivery fails on a worker (not eager), the task asks for a retry with a growing countdown
    with (
        mock.patch("metrics.alerts.webhook_deliver", side_effect=alerts.WebhookFailed("503")),
        mock.patch.object(deliver_webhook, "retry", side_effect=Retry()) as retry,
    ):
        deliver_webhook.push_request(retries=2, is_eager=False)
        try:
            with pytest.raises(Retry):
                deliver_webhook.run(alert.pk, hook.pk)
        finally:
            deliver_webhook.pop_request()
    assert retry.call_args.kwargs["countdown"] == webhook_backoff(2) == 20
    assert [webhook_backoff(n) for n in (0, 1, 10)] == [5, 10, 600]
    # and in eager mode (no broker) a failure is recorded, never retried in-process
    with mock.patch("metrics.alerts.webhook_deliver", side_effect=alerts.WebhookFailed("503")):
        assert deliver_webhook.apply(args=(alert.pk, hook.pk)).get() == 0


def test_schedule_recompute_coalesces_requests_into_one_row_per_scope(release, project):
    # when many events ask for the same release inside one transaction
    for _ in range(5):
        services.schedule_recompute(release_ids=[release.pk])
    services.schedule_recompute(project_ids=[project.pk])
    # then one pending row for the release and one for its project
    assert PendingRecompute.objects.filter(scope="release").count() == 1
    assert PendingRecompute.objects.filter(scope="project").count() == 1
    # and one run handles both
    assert services.run_pending_recomputes() == 2
    assert not PendingRecompute.objects.exists()
    assert (
        MetricSnapshot.objects.filter(release=release).count() == 14 + 6
    )  # the contract's 14 release metrics (verified_critical_requirements since issue 18) and 6 built-in measures


def test_schedule_recompute_survives_a_broker_outage(release, django_capture_on_commit_callbacks):
    down = mock.patch("metrics.tasks.run_pending_recomputes.apply_async", side_effect=ConnectionError("down"))
    with down, django_capture_on_commit_callbacks(execute=True):
        services.schedule_recompute(release_ids=[release.pk])
    # nothing raised; the request is still recorded for the sweep
    assert PendingRecompute.objects.filter(release=release).exists()
    from metrics.tasks import sweep_pending_recomputes

    sweep_pending_recomputes.apply()
    assert not PendingRecompute.objects.exists()
    assert MetricSnapshot.objects.filter(release=release, key="open_defects").exists()


def test_snapshot_upserts_the_same_instant(release):
    from django.utils import timezone

    at = timezone.now()
    services.snapshot_release(release=release, as_of=at)
    f.DefectFactory(project=release.project, found_in_release=release, created_at=at)
    services.snapshot_release(release=release, as_of=at)
    snaps = MetricSnapshot.objects.filter(release=release, key="open_defects")
    assert snaps.count() == 1
    assert snaps.get().value == 1


def test_tasks_retry_only_transient_errors():
    from django.db import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from metrics import tasks

    for task in (tasks.run_pending_recomputes, tasks.sweep_pending_recomputes, tasks.snapshot_all_active):
        assert set(task.autoretry_for) == {OperationalError, RedisConnectionError}
        assert task.acks_late


def test_snapshot_all_active_covers_active_releases_and_projects(release, project):
    f.ReleaseFactory(project=project, status="cancelled")
    assert services.snapshot_all_active() == 2


def test_backfill_command_writes_one_snapshot_per_day(release, project):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    call_command("backfill_metrics", "--project", "PAY", "--days", "3", "--no-progress")
    # The end of each of the last three days (yesterday the last), then one snapshot as of now.
    instants = list(
        MetricSnapshot.objects.filter(release=release, key="open_defects")
        .order_by("as_of")
        .values_list("as_of", flat=True)
    )
    today = timezone.now().date()
    assert [t.date() for t in instants[:3]] == [today - dt.timedelta(days=d) for d in (3, 2, 1)]
    assert timezone.now() - instants[3] < dt.timedelta(minutes=5) and len(instants) == 4
    assert MetricSnapshot.objects.filter(scope="project", key="stability_index").count() == 4


def test_backfill_command_rejects_unknown_project(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("backfill_metrics", "--project", "NOPE", "--no-progress")


def test_a_failed_recompute_keeps_the_request_for_the_retry(release):
    from django.db import OperationalError

    services.schedule_recompute(release_ids=[release.pk])
    failing = mock.patch("metrics.services.snapshot_release", side_effect=OperationalError("db restarting"))
    with failing, pytest.raises(OperationalError):
        services.run_pending_recomputes()
    assert PendingRecompute.objects.filter(release=release).exists()
    services.run_pending_recomputes()
    assert not PendingRecompute.objects.exists()


def test_with_a_broker_requests_inside_the_delay_share_one_queued_run(
    release, settings, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.QUALITYGOV_RECOMPUTE_DELAY = 10
    cache.delete("metrics:recompute-enqueued")
    with mock.patch("metrics.tasks.run_pending_recomputes.apply_async") as enqueue:
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                services.schedule_recompute(release_ids=[release.pk])
    # one delayed run for three requests, and one pending row per scope
    enqueue.assert_called_once_with(countdown=10)
    assert PendingRecompute.objects.count() == 2
    cache.delete("metrics:recompute-enqueued")
