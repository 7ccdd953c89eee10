"""Stored metric values. Each snapshot is one metric of one scope as of one instant, with its sample size."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.kinds import WEBHOOK_DEFAULT_KINDS
from qualitygov.enums import text_choices
from qualitygov.modelfields import CreatedAt, CreatedBy, acting_user, choices_valid, optional_fk

Scope = text_choices("Scope", "release", "project")


def scope_matches_release(prefix: str) -> models.CheckConstraint:
    """A release-scoped row names its release; a project-scoped row names none."""
    return models.CheckConstraint(
        condition=(Q(scope=Scope.RELEASE) & Q(release__isnull=False))
        | (Q(scope=Scope.PROJECT) & Q(release__isnull=True)),
        name=f"{prefix}_scope_matches_release",
    )


class OneRowPerScope(models.Model):
    """A row kept once per scope: per release for release scope, per project for project scope."""

    scope = models.CharField(max_length=8, choices=Scope.choices)
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="+")
    release = optional_fk("releases.Release", related_name="+", on_delete=models.CASCADE)

    class Meta:
        abstract = True


def one_row_per_scope(prefix: str) -> list[models.BaseConstraint]:
    """The constraints of a OneRowPerScope model, named after `prefix`."""
    return [
        models.UniqueConstraint(
            fields=["release"], condition=Q(scope=Scope.RELEASE), name=f"{prefix}_release_once"
        ),
        models.UniqueConstraint(
            fields=["project"], condition=Q(scope=Scope.PROJECT), name=f"{prefix}_project_once"
        ),
        scope_matches_release(prefix),
    ]


class MetricSnapshot(models.Model):
    scope = models.CharField(max_length=8, choices=Scope.choices)
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="metric_snapshots")
    release = optional_fk("releases.Release", related_name="metric_snapshots", on_delete=models.CASCADE)
    key = models.CharField(max_length=64)
    # Null means "no data", never 0.
    value = models.FloatField(null=True, blank=True)
    n = models.PositiveIntegerField(default=0, help_text="Sample size behind the value.")
    # Extra figures: median and p90 of time metrics, risk-score breakdown, etc.
    details = models.JSONField(default=dict, blank=True)
    as_of = models.DateTimeField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of", "key"]
        constraints = [
            *choices_valid("snapshot", scope=Scope),
            scope_matches_release("snapshot"),
            # One value per metric, scope and instant: recomputing the same instant upserts.
            models.UniqueConstraint(
                fields=["release", "key", "as_of"],
                condition=Q(scope=Scope.RELEASE),
                name="snapshot_release_unique",
            ),
            models.UniqueConstraint(
                fields=["project", "key", "as_of"],
                condition=Q(scope=Scope.PROJECT),
                name="snapshot_project_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["release", "key", "-as_of"], name="snapshot_release_latest"),
            models.Index(fields=["project", "scope", "key", "-as_of"], name="snapshot_project_latest"),
        ]

    def __str__(self) -> str:
        target = self.release or self.project
        return f"{self.key}={self.value} (n={self.n}) for {target} as of {self.as_of:%Y-%m-%d %H:%M}"


class EvidenceWatermark(OneRowPerScope):
    """When the evidence of a scope last changed (recorded by schedule_recompute, which every change of evidence
    calls). A stored snapshot answers for "now" only while its as_of is at or after this time."""

    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = one_row_per_scope("watermark")

    def __str__(self) -> str:
        return f"evidence of {self.scope} {self.release_id or self.project_id} changed at {self.changed_at}"


class PendingRecompute(OneRowPerScope):
    """A recompute asked for and not yet done. Recorded in the database so nothing is lost when Redis is down;
    many requests for one scope coalesce into one row, and the sweep task picks up leftovers."""

    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = one_row_per_scope("pending")

    def __str__(self) -> str:
        return f"pending {self.scope} recompute of {self.release_id or self.project_id}"


class RecomputeLock(models.Model):
    """One row per scope ("release:12", "project:3"); a recompute holds it with select_for_update so concurrent
    recomputes of one scope never interleave."""

    name = models.CharField(max_length=40, unique=True)

    def __str__(self) -> str:
        return self.name


class PayloadFormat(models.TextChoices):
    JSON = "json", "Signed JSON (QualityGov's own fields)"
    SLACK = "slack", 'Slack-compatible ({"text": ...}; also Mattermost, Rocket.Chat, Teams workflows)'


def default_event_kinds() -> list[str]:
    return [str(kind) for kind in WEBHOOK_DEFAULT_KINDS]


class Webhook(CreatedAt):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # Shared secret for the X-QualityGov-Signature HMAC; never shown back in full.
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    # What the body looks like: QualityGov's JSON, or a chat message {"text": ...}. Both carry the signature header.
    payload_format = models.CharField(max_length=8, choices=PayloadFormat.choices, default=PayloadFormat.JSON)
    # Notification kinds (notifications.kinds.Kind) the webhook receives besides the alerts of its rules.
    event_kinds = models.JSONField(default=default_event_kinds, blank=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = choices_valid("webhook", payload_format=PayloadFormat)

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class AlertDirection(models.TextChoices):
    ABOVE = "above", "Above threshold"
    BELOW = "below", "Below threshold"


class AlertRule(CreatedAt):
    """Fire an alert when a metric crosses a threshold; the owner is the escalation path."""

    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="alert_rules")
    metric = models.CharField(max_length=64)
    threshold = models.FloatField()
    direction = models.CharField(max_length=5, choices=AlertDirection.choices, default=AlertDirection.ABOVE)
    owner = optional_fk(settings.AUTH_USER_MODEL, related_name="alert_rules")
    webhooks = models.ManyToManyField(Webhook, blank=True, related_name="rules")
    active = models.BooleanField(default=True)
    created_by = acting_user()

    class Meta:
        ordering = ["project", "metric", "id"]
        constraints = choices_valid("alertrule", direction=AlertDirection)

    def __str__(self) -> str:
        sign = ">" if self.direction == AlertDirection.ABOVE else "<"
        return f"{self.metric} {sign} {self.threshold:g}"

    def breached_by(self, value: float | None) -> bool | None:
        """True/False, or None when there is no data (no data neither fires nor re-arms)."""
        if value is None:
            return None
        return value > self.threshold if self.direction == AlertDirection.ABOVE else value < self.threshold


class Alert(models.Model):
    """One crossing of a rule's threshold. Active while cleared_at is null; clearing re-arms the rule."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="alerts")
    release = optional_fk("releases.Release", related_name="alerts", on_delete=models.CASCADE)
    metric = models.CharField(max_length=64)
    value = models.FloatField()
    threshold = models.FloatField()
    direction = models.CharField(max_length=5, choices=AlertDirection.choices)
    fired_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            # At most one active alert per rule and scope: a crossing is recorded once.
            models.UniqueConstraint(
                fields=["rule", "release"],
                condition=Q(cleared_at__isnull=True, release__isnull=False),
                name="alert_active_once_release",
            ),
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(cleared_at__isnull=True, release__isnull=True),
                name="alert_active_once_project",
            ),
        ]
        indexes = [models.Index(fields=["project", "-fired_at"])]

    def __str__(self) -> str:
        return f"{self.metric}={self.value:g} crossed {self.threshold:g} ({self.direction})"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None


DeliveryStatus = text_choices("DeliveryStatus", "pending", "delivered", "failed")


class WebhookDelivery(models.Model):
    """One alert or one notification event sent to one webhook: its attempts and how the far end answered."""

    alert = optional_fk(Alert, related_name="deliveries", on_delete=models.CASCADE)
    event = optional_fk(
        "notifications.NotificationEvent", related_name="webhook_deliveries", on_delete=models.CASCADE
    )
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "webhook"], name="delivery_once_per_webhook"),
            models.UniqueConstraint(fields=["event", "webhook"], name="event_delivery_once_per_webhook"),
            # Exactly one of alert and event.
            models.CheckConstraint(
                condition=Q(alert__isnull=False, event__isnull=True)
                | Q(alert__isnull=True, event__isnull=False),
                name="delivery_of_alert_or_event",
            ),
        ]

    def __str__(self) -> str:
        what = f"alert {self.alert_id}" if self.alert_id else f"event {self.event_id}"
        return f"delivery of {what} to {self.webhook_id}: {self.status}"


class PolicyVersion(CreatedBy):
    """One saved version of a project's metric policy (risk indicators, weights, thresholds, and the other policy
    sections). Append-only: the newest version at or before T is the policy in force at T; who saved it and when
    is the audit trail."""

    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="policy_versions")
    version = models.PositiveIntegerField()
    policy = models.JSONField()
    comment = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["project", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="policyversion_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="policyversion_positive"),
        ]
        indexes = [models.Index(fields=["project", "-created_at", "-version"], name="policyversion_in_force")]

    def __str__(self) -> str:
        return f"policy v{self.version} of project {self.project_id}"
