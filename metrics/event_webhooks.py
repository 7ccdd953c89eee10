"""Notification events to the project's webhooks: the channel metrics registers with notifications at app-ready.

The notifications app (core layer) cannot import metrics; metrics owns the webhooks, their signing and the
SSRF-safe delivery, so it registers ``notification_event_to_webhooks`` as a channel (see ``apps.py``). For each
event, every active webhook of the event's project that subscribed to the event's kind gets a delivery row and
one task, retried with backoff like an alert's.
"""

import logging

from django.db import transaction

from notifications.kinds import KIND_INFO
from notifications.models import NotificationEvent
from notifications.services import site_url

from . import tasks
from .alerts import chat_escape, webhook_post
from .models import DeliveryStatus, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)


def event_payload(event: NotificationEvent) -> dict:
    """The JSON body for a notification event (format "json"): what happened, where, and the producer's facts."""
    return {
        "event": event.kind,
        "event_id": event.pk,
        "label": KIND_INFO[event.kind].label if event.kind in KIND_INFO else event.kind,
        "project": event.project.key,
        "title": event.title,
        "body": event.body,
        "url": site_url(event.url),
        "actor": event.actor.get_username() if event.actor_id else None,
        "created": event.created.isoformat(),
        "data": event.payload,
    }


def event_chat_text(event: NotificationEvent) -> str:
    """The event as a chat message (Slack mrkdwn): the title linked to the page, the body below."""
    title = chat_escape(f"[QualityGov] {event.project.key}: {event.title}")
    link = site_url(event.url)
    head = f"<{link}|{title}>" if link else title
    return f"{head}\n{chat_escape(event.body)}" if event.body else head


def notification_event_to_webhooks(event: NotificationEvent) -> int:
    """Channel entry point (called once per event, after commit, inside the dispatch transaction): one delivery
    row and, after that transaction commits, one task per subscribed active webhook. Returns how many."""
    hooks = [
        hook
        for hook in Webhook.objects.filter(project_id=event.project_id, active=True)
        if event.kind in (hook.event_kinds or [])
    ]
    for hook in hooks:
        WebhookDelivery.objects.get_or_create(event=event, webhook=hook)
        transaction.on_commit(
            lambda hook_id=hook.pk: _enqueue(tasks.deliver_event_webhook, event.pk, hook_id)
        )
    return len(hooks)


def _enqueue(task, event_id: int, webhook_id: int) -> None:
    try:
        task.delay(event_id, webhook_id)
    except Exception:  # the delivery row stays pending; never let the broker break the dispatch
        logger.warning("Could not enqueue webhook %s for event %s", webhook_id, event_id, exc_info=True)


def event_webhook_deliver(*, event_id: int, webhook_id: int, timeout: float = 5.0) -> WebhookDelivery:
    """POST one notification event to one webhook (format, signature, SSRF rules and retries as for alerts)."""
    event = NotificationEvent.objects.select_related("project", "actor").get(pk=event_id)
    webhook = Webhook.objects.get(pk=webhook_id)
    delivery, _ = WebhookDelivery.objects.get_or_create(event=event, webhook=webhook)
    if delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    return webhook_post(
        delivery=delivery,
        webhook=webhook,
        data=event_payload(event),
        text=event_chat_text(event),
        event=event.kind,
        timeout=timeout,
    )
