"""Reads for notifications: a user's list, the unread count behind the bell, and preferences."""

from django.db.models import QuerySet

from .kinds import KIND_INFO
from .models import Notification, NotificationPreference


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (with the project key for display)."""
    rows = (
        Notification.objects.filter(user=user)
        .select_related("project")
        .only("id", "kind", "title", "body", "url", "created", "read_at", "project__key")
    )
    return rows.filter(read_at__isnull=True) if unread_only else rows


def unread_count(*, user) -> int:
    """How many of the user's notifications are unread: one COUNT over a partial index of unread rows."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def preferences_for(*, user) -> list[dict]:
    """Every kind with what it means and the user's switch per channel (no stored row = both on)."""
    stored = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    return [
        {
            "kind": info.key,
            "label": info.label,
            "when": info.when,
            "in_app": stored[info.key].in_app if info.key in stored else True,
            "email": stored[info.key].email if info.key in stored else True,
        }
        for info in KIND_INFO.values()
    ]
