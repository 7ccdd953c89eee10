"""Celery tasks: thin wrappers that take ids and call one service. Retried only on transient errors."""

from celery import shared_task
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from . import alerts, event_webhooks, services

TRANSIENT = (OperationalError, RedisConnectionError)
RETRY = {
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="metrics.tasks.run_pending_recomputes", **RETRY)
def run_pending_recomputes() -> int:
    """Recompute every scope with a pending request (coalesced: one run serves every request made before it)."""
    return services.run_pending_recomputes()


@shared_task(name="metrics.tasks.sweep_pending_recomputes", **RETRY)
def sweep_pending_recomputes() -> int:
    """Beat job: pick up requests left behind when the broker or a worker was down."""
    return services.run_pending_recomputes()


@shared_task(name="metrics.tasks.recompute_scopes", **RETRY)
def recompute_scopes(release_ids: list[int] | None = None, project_ids: list[int] | None = None) -> None:
    """Recompute and snapshot the given releases and projects now."""
    services.recompute_now(release_ids=release_ids or (), project_ids=project_ids or ())


@shared_task(name="metrics.tasks.snapshot_all_active", **RETRY)
def snapshot_all_active() -> int:
    """Beat job: the daily snapshot of every active release and every project."""
    return services.snapshot_all_active()


@shared_task(name="metrics.tasks.send_alert_email", **RETRY)
def send_alert_email(alert_id: int) -> bool:
    return alerts.alert_email_send(alert_id=alert_id)


@shared_task(name="metrics.tasks.deliver_webhooks_for_alert", acks_late=True)
def deliver_webhooks_for_alert(alert_id: int) -> int:
    """Fan out one delivery task per webhook of the alert's rule, so one slow endpoint never delays another."""
    from .models import Alert

    alert = Alert.objects.select_related("rule").get(pk=alert_id)
    hook_ids = list(alert.rule.webhooks.filter(active=True).values_list("pk", flat=True))
    for hook_id in hook_ids:
        deliver_webhook.delay(alert_id, hook_id)
    return len(hook_ids)


WEBHOOK_MAX_RETRIES = 6
WEBHOOK_RETRY = {
    "bind": True,
    "acks_late": True,
    "max_retries": WEBHOOK_MAX_RETRIES,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
}


def webhook_backoff(retries: int) -> int:
    """Seconds before retry number `retries + 1`."""
    return min(600, 5 * 2**retries)


def _deliver_or_retry(task, deliver) -> int:
    """Run one webhook delivery and return its attempts; a failed delivery is retried with exponential backoff
    (webhook_backoff). Without a broker (eager mode) a failure is recorded and not retried in-process, so it never
    holds up the request that caused it."""
    try:
        return deliver().attempts
    except alerts.WebhookFailed as exc:
        if task.request.is_eager:
            return 0
        raise task.retry(exc=exc, countdown=webhook_backoff(task.request.retries)) from exc


@shared_task(name="metrics.tasks.deliver_webhook", **WEBHOOK_RETRY)
def deliver_webhook(self, alert_id: int, webhook_id: int) -> int:
    """POST one alert to one webhook (retried: 5 s, 10 s, 20 s, ... up to 10 min)."""
    return _deliver_or_retry(self, lambda: alerts.webhook_deliver(alert_id=alert_id, webhook_id=webhook_id))


@shared_task(name="metrics.tasks.deliver_event_webhook", **WEBHOOK_RETRY)
def deliver_event_webhook(self, event_id: int, webhook_id: int) -> int:
    """POST one notification event to one webhook; retried like an alert's delivery (deliver_webhook)."""
    return _deliver_or_retry(
        self, lambda: event_webhooks.event_webhook_deliver(event_id=event_id, webhook_id=webhook_id)
    )
