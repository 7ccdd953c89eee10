"""Writes for notifications: publishing an event, delivering it, marking notifications read, preferences.

Entry point for the apps that produce events (defects, gates):

    publish(kind=Kind.NO_GO_RECORDED, project=..., recipients=[...], title=..., body=..., url=..., actor=by)

``publish`` runs inside the producer's transaction: it writes the event and every in-app row in bulk, so a
rolled-back change tells nobody, and after commit enqueues one task that sends the e-mails and hands the event to
the registered channels (``channels.register``; metrics registers the project's webhooks). Without a broker the
task runs in-process before the response; with the broker down the event stays undispatched and the beat sweep
delivers it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from qualitygov.errors import DomainError

from . import tasks
from .channels import CHANNELS
from .kinds import KIND_INFO, Channel, Kind
from .models import Notification, NotificationEvent, NotificationPreference

logger = logging.getLogger(__name__)
User = get_user_model()

TITLE_MAX = Notification._meta.get_field("title").max_length
BODY_MAX = 4000
# An event not dispatched this long after it was written lost its task (broker down, worker killed).
SWEEP_AFTER = dt.timedelta(minutes=1)


def _one_line(text: str, limit: int) -> str:
    """Titles go into e-mail subjects and chat lines: one line, bounded."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def site_url(path: str) -> str:
    """The absolute address of a path inside the site, for e-mails and chat messages (QUALITYGOV_SITE_URL)."""
    if not path:
        return ""
    return settings.QUALITYGOV_SITE_URL.rstrip("/") + path


@transaction.atomic
def publish(
    *,
    kind: str,
    project,
    recipients: Iterable,
    title: str,
    body: str = "",
    url: str = "",
    payload: dict[str, Any] | None = None,
    actor=None,
    once_key: str | None = None,
) -> NotificationEvent | None:
    """Tell `recipients` (users) that something happened in `project`, and hand the event to the channels.

    Who is told: each recipient once, only active members of the project (someone who left it hears nothing more
    of it), never the `actor` who caused the event (nobody needs telling what they just did), and per channel only
    where the user's preferences for `kind` allow it. The event is written even when nobody is left to tell, since
    the channels (the project's webhooks) may still want it. `url` is a path inside the site. With `once_key`, an
    event already published under that key makes this call do nothing (returns None). Must be called inside the
    producer's transaction (or autocommit); delivery happens after commit.
    """
    if kind not in KIND_INFO:
        raise DomainError(f"Unknown notification kind '{kind}'.", field="kind")
    if url and (not url.startswith("/") or url.startswith("//")):
        raise DomainError("A notification links to a path inside the site.", field="url")
    ids = {getattr(user, "pk", user) for user in recipients if user is not None}
    if actor is not None:
        ids.discard(actor.pk)
    people = dict(
        User.objects.filter(pk__in=ids, is_active=True, memberships__project=project).values_list(
            "pk", "email"
        )
    )
    switches = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=list(people), kind=kind)
    }
    in_app = sorted(uid for uid in people if uid not in switches or switches[uid].in_app)
    email = sorted(
        uid for uid, address in people.items() if address and (uid not in switches or switches[uid].email)
    )
    now = timezone.now()
    # The message, the same on the event and on every in-app copy (models.Message).
    message = {
        "kind": kind,
        "title": _one_line(title, TITLE_MAX),
        "body": str(body or "")[:BODY_MAX],
        "url": url,
        "created": now,
    }
    if once_key and NotificationEvent.objects.filter(once_key=once_key).exists():
        return None
    try:
        with (
            transaction.atomic()
        ):  # a savepoint: a concurrent publisher of the same once_key wins, we step back
            event = NotificationEvent.objects.create(
                **message,
                project=project,
                payload=payload or {},
                actor=actor,
                email_to=email,
                once_key=once_key or None,
            )
    except IntegrityError:
        if once_key:
            return None
        raise
    Notification.objects.bulk_create(
        Notification(**message, user_id=uid, project=project, event=event) for uid in in_app
    )
    transaction.on_commit(lambda: _enqueue(event.pk))
    return event


def _enqueue(event_id: int) -> None:
    try:
        tasks.dispatch_event.delay(event_id)
    except Exception:  # the broker is down: the event stays undispatched and the beat sweep delivers it
        logger.warning(
            "Could not enqueue notification event %s; the sweep will deliver it", event_id, exc_info=True
        )


def event_dispatch(*, event_id: int) -> bool:
    """Send the event's e-mails and hand it to every registered channel, once.

    Holds the event's row lock while it works and marks it dispatched in the same transaction: a second task for
    the same event (a redelivery, the sweep) skips it, and a worker killed halfway leaves it for the sweep.
    A failing channel is logged and rolled back on its own; the e-mails and the other channels still go.
    Returns False when the event was already dispatched or is being dispatched elsewhere.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        event = (
            NotificationEvent.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .filter(pk=event_id, dispatched_at__isnull=True)
            .select_related("project", "actor")
            .first()
        )
        if event is None:
            return False
        _send_emails(event)
        for name, deliver in list(CHANNELS.items()):
            try:
                with transaction.atomic():
                    deliver(event)
            except Exception:
                logger.exception("Notification channel %s failed for event %s", name, event.pk)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
    return True


def _send_emails(event: NotificationEvent) -> int:
    """One e-mail per recipient (one connection for all); nobody sees the other recipients' addresses."""
    if not event.email_to:
        return 0
    addresses = list(
        User.objects.filter(pk__in=event.email_to, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not addresses:
        return 0
    label = KIND_INFO[event.kind].label if event.kind in KIND_INFO else event.kind
    link = site_url(event.url)
    text = "\n\n".join(
        part
        for part in (
            event.body,
            f"Open: {link}" if link else "",
            f'You get this e-mail for "{label}" in {event.project.key}. '
            f"Switch it off at {site_url('/notifications/preferences/')}",
        )
        if part
    )
    subject = _one_line(f"[QualityGov] {event.project.key}: {event.title}", 250)
    messages = [EmailMessage(subject=subject, body=text, to=[address]) for address in addresses]
    return get_connection().send_messages(messages) or 0


def events_dispatch_pending(*, older_than: dt.timedelta = SWEEP_AFTER) -> int:
    """Beat: dispatch the events whose task was lost (written more than `older_than` ago, still undispatched)."""
    cutoff = timezone.now() - older_than
    ids = list(
        NotificationEvent.objects.filter(dispatched_at__isnull=True, created__lt=cutoff)
        .order_by("created")
        .values_list("pk", flat=True)[:500]
    )
    return sum(event_dispatch(event_id=pk) for pk in ids)


# --- reading state -------------------------------------------------------------------------------------------------


def notifications_mark_read(*, user, ids: Iterable[int] = (), everything: bool = False) -> int:
    """Mark the user's notifications read (the given ids, or all unread with `everything`); returns how many changed.
    Ids of other users' notifications are ignored, exactly like ids that do not exist."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if not everything:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


# --- preferences ---------------------------------------------------------------------------------------------------


def preferences_save(*, user, choices: dict[str, dict[str, bool]]) -> None:
    """Store the user's switches: {kind: {"in_app": bool, "email": bool}}; a kind or channel left out keeps its
    current setting. Unknown kinds or channels are refused with nothing stored."""
    unknown = sorted(set(choices) - set(Kind.values))
    if unknown:
        raise DomainError(f"Unknown notification kind(s): {', '.join(unknown)}.", field="kind")
    for kind, switches in choices.items():
        if not isinstance(switches, dict) or set(switches) - set(Channel.values):
            raise DomainError(
                f"{kind}: give 'in_app' and/or 'email' as true or false.", field=kind, code="invalid"
            )
        if any(not isinstance(v, bool) for v in switches.values()):
            raise DomainError(f"{kind}: switches are true or false.", field=kind)
    with transaction.atomic():
        current = {p.kind: p for p in NotificationPreference.objects.select_for_update().filter(user=user)}
        rows = []
        for kind, switches in choices.items():
            row = current.get(kind) or NotificationPreference(user=user, kind=kind)
            row.in_app = switches.get(Channel.IN_APP, row.in_app)
            row.email = switches.get(Channel.EMAIL, row.email)
            rows.append(row)
        NotificationPreference.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["in_app", "email"],
        )
