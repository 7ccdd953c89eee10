"""Notifications: one event per thing that happened, one in-app row per person told, and who wants what.

A ``NotificationEvent`` is written by ``services.publish`` inside the producer's transaction; the in-app rows go in
with it, so a rolled-back change tells nobody. E-mail and the registered channels (the project's webhooks) run
after commit, outside the request; ``dispatched_at`` marks an event done, and the beat sweep picks up events whose
task was lost.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from qualitygov.modelfields import acting_user, choices_valid, optional_fk

from .kinds import Kind


class Message(models.Model):
    """What a notification says, the same on the event and on each person's copy of it."""

    kind = models.CharField(max_length=40, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    # A path inside the site ("/defects/PAY-12/"); e-mail and chat messages make it absolute with QUALITYGOV_SITE_URL.
    url = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]


class NotificationEvent(Message):
    project = models.ForeignKey(
        "releases.Project", on_delete=models.CASCADE, related_name="notification_events"
    )
    # Machine-readable facts for webhooks (ids, versions, statuses); never shown as HTML.
    payload = models.JSONField(default=dict, blank=True)
    actor = acting_user()
    # Set by producers that must tell something once only (e.g. "waiver_expiring:42"); unique when set.
    once_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # Users to e-mail, decided at publish time from their preferences (ids).
    email_to = models.JSONField(default=list, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta(Message.Meta):
        constraints = choices_valid("notification_event", kind=Kind)
        indexes = [
            models.Index(
                fields=["created"], condition=Q(dispatched_at__isnull=True), name="notification_event_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class Notification(Message):
    """One person's in-app copy of an event; unread while ``read_at`` is null."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="notifications")
    event = optional_fk(NotificationEvent, related_name="notifications")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(Message.Meta):
        constraints = choices_valid("notification", kind=Kind)
        indexes = [
            # The list, newest first.
            models.Index(fields=["user", "-created", "-id"], name="notification_user_created"),
            # The bell's unread count: an index holding only unread rows, so the count stays small and cheap.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self) -> str:
        return f"to {self.user_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A user's switches for one kind; no row means both channels on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once_per_kind"),
            *choices_valid("notification_preference", kind=Kind),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: in-app {self.in_app}, e-mail {self.email}"
