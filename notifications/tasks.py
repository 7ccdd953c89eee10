"""Celery tasks for notifications: thin wrappers that take ids and call one service."""

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from . import services

# A mail server or database that is briefly away is worth another try; the event stays undispatched until then.
TRANSIENT = (OperationalError, RedisConnectionError, SMTPException, ConnectionError, TimeoutError)


@shared_task(
    name="notifications.tasks.dispatch_event",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def dispatch_event(event_id: int) -> bool:
    """E-mail the event's recipients and hand it to the channels (webhooks), once."""
    return services.event_dispatch(event_id=event_id)


@shared_task(name="notifications.tasks.sweep_pending_events", acks_late=True)
def sweep_pending_events() -> int:
    """Beat: deliver events whose task was lost (broker down when they were written, worker killed)."""
    return services.events_dispatch_pending()
