"""Production incidents and what was learned from them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from qualitygov.enums import text_choices
from qualitygov.modelfields import CreatedAt, acting_user, choices_valid, optional_fk


class IncidentSeverity(models.TextChoices):
    SEV1 = "sev1", "SEV1 (outage)"
    SEV2 = "sev2", "SEV2 (major)"
    SEV3 = "sev3", "SEV3 (minor)"
    SEV4 = "sev4", "SEV4 (cosmetic)"


class Incident(CreatedAt):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="incidents")
    release = optional_fk(
        "releases.Release", related_name="incidents", help_text="The release the incident is attributed to."
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=5, choices=IncidentSeverity.choices, default=IncidentSeverity.SEV3)
    started_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True, help_text="Null while the incident is open.")
    defects = models.ManyToManyField("defects.Defect", blank=True, related_name="incidents")
    reported_by = acting_user()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(detected_at__gte=F("started_at")), name="incident_detected_after_start"
            ),
            models.CheckConstraint(
                condition=Q(restored_at__isnull=True) | Q(restored_at__gte=F("started_at")),
                name="incident_restored_after_start",
            ),
            *choices_valid("incident", severity=IncidentSeverity),
        ]
        indexes = [
            models.Index(fields=["project", "restored_at"]),
            models.Index(fields=["project", "started_at"]),
            models.Index(fields=["release"]),
        ]

    def __str__(self) -> str:
        return f"INC-{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.restored_at is None


class PostMortem(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField()
    root_cause = models.TextField(blank=True, default="")
    findings = models.TextField(blank=True, default="")
    lessons = models.TextField(blank=True, default="")
    author = acting_user(blank=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Post-mortem of {self.incident}"


ActionItemStatus = text_choices("ActionItemStatus", "open", "in_progress", "done", "cancelled")


class ActionItem(CreatedAt):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    owner = optional_fk(settings.AUTH_USER_MODEL, related_name="action_items")
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = choices_valid("actionitem", status=ActionItemStatus)
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        """Not done and past its due date (UTC today): the same rule as selectors.overdue_action_items."""
        return (
            self.status in (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)
            and self.due_date is not None
            and self.due_date < timezone.now().date()
        )
