"""Defects with their full status history, comments and field audit trail.

The workflow table (which moves are allowed) is data kept here next to the model; making a move is a
service (`defects.services.defect_transition`).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# Shared with other apps, so defined in the core layer; imported from here too, beside the rest of the workflow.
from qualitygov.enums import OPEN_STATUSES, DefectStatus, Environment, text_choices
from qualitygov.modelfields import acting_user, choices_valid, optional_fk

RESOLVED_STATUSES = (DefectStatus.RESOLVED, DefectStatus.VERIFIED, DefectStatus.CLOSED)
# Entering one of these needs a resolution.
STATUSES_NEEDING_RESOLUTION = (DefectStatus.RESOLVED, DefectStatus.CLOSED)

# The contract's allowed moves, verbatim.
ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    DefectStatus.NEW: (DefectStatus.TRIAGED, DefectStatus.RESOLVED, DefectStatus.CLOSED),
    DefectStatus.TRIAGED: (DefectStatus.IN_PROGRESS, DefectStatus.RESOLVED, DefectStatus.CLOSED),
    DefectStatus.IN_PROGRESS: (DefectStatus.RESOLVED,),
    DefectStatus.RESOLVED: (DefectStatus.VERIFIED, DefectStatus.REOPENED),
    DefectStatus.VERIFIED: (DefectStatus.CLOSED, DefectStatus.REOPENED),
    DefectStatus.CLOSED: (DefectStatus.REOPENED,),
    DefectStatus.REOPENED: (DefectStatus.TRIAGED, DefectStatus.IN_PROGRESS, DefectStatus.RESOLVED),
}


Resolution = text_choices(
    "Resolution", "fixed", "duplicate", "wont_fix", "cannot_reproduce", "not_a_defect", wont_fix="Won't fix"
)


# A valid defect's resolution is neither of these.
INVALID_RESOLUTIONS = (Resolution.DUPLICATE, Resolution.NOT_A_DEFECT)


Severity = text_choices("Severity", "blocker", "critical", "major", "minor", "trivial")


BLOCKING_SEVERITIES = (Severity.BLOCKER, Severity.CRITICAL)
SEVERITY_RANK = {s: i for i, s in enumerate(Severity.values)}


Priority = text_choices("Priority", "highest", "high", "medium", "low", "lowest")


class Defect(models.Model):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="defects")
    number = models.PositiveIntegerField(
        help_text="Sequence number inside the project; the key is KEY-number."
    )
    key = models.CharField(max_length=40, unique=True)
    external_id = models.CharField(
        max_length=64, blank=True, default="", help_text="Identifier in the tracker it was imported from."
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MAJOR)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    component = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=12, choices=DefectStatus.choices, default=DefectStatus.NEW)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    assignee = optional_fk(settings.AUTH_USER_MODEL, related_name="assigned_defects")
    reporter = optional_fk(settings.AUTH_USER_MODEL, related_name="reported_defects")
    found_in_release = optional_fk("releases.Release", related_name="found_defects")
    # Null = unknown (an import that does not say where the defect was found); leakage leaves such defects out.
    found_in_environment = models.CharField(
        max_length=12, choices=Environment.choices, default=Environment.TEST, null=True, blank=True
    )
    # The fix version (Jira's "Fix Version/s"): the release that carries, or is to carry, the fix.
    fixed_in_release = optional_fk(
        "releases.Release",
        related_name="fixed_defects",
        verbose_name="fix version",
        help_text="The release that carries (or is planned to carry) the fix.",
    )
    duplicate_of = optional_fk("self", related_name="duplicates")
    requirements = models.ManyToManyField("testing.Requirement", blank=True, related_name="defects")
    test_cases = models.ManyToManyField("testing.TestCase", blank=True, related_name="defects")
    test_results = models.ManyToManyField("testing.TestResult", blank=True, related_name="defects")
    # Settable for imports and backfills; never in the future (enforced by the services).
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped on every change; clients send it back to detect concurrent edits (409 on mismatch).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="defect_number_unique_in_project"),
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~Q(external_id=""),
                name="defect_external_id_unique_in_project",
            ),
            *choices_valid("defect", status=DefectStatus, severity=Severity, priority=Priority),
            models.CheckConstraint(
                condition=Q(found_in_environment__in=Environment.values)
                | Q(found_in_environment__isnull=True),
                name="defect_environment_valid",
            ),
            # Open defects carry no resolution; resolved, verified and closed ones always do.
            models.CheckConstraint(
                condition=(Q(status__in=OPEN_STATUSES) & Q(resolution=""))
                | (Q(status__in=RESOLVED_STATUSES) & Q(resolution__in=Resolution.values)),
                name="defect_resolution_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(duplicate_of__isnull=True) | Q(resolution=Resolution.DUPLICATE),
                name="defect_duplicate_of_needs_duplicate_resolution",
            ),
            models.CheckConstraint(
                condition=Q(duplicate_of__isnull=True) | ~Q(duplicate_of=F("id")),
                name="defect_not_duplicate_of_itself",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status", "severity"]),
            models.Index(fields=["found_in_release", "status"]),
            models.Index(fields=["found_in_release", "created_at"]),
            models.Index(fields=["project", "created_at"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_blocking(self) -> bool:
        return self.severity in BLOCKING_SEVERITIES

    @property
    def allowed_next_statuses(self) -> tuple[str, ...]:
        return ALLOWED_TRANSITIONS.get(self.status, ())


class DefectTransition(models.Model):
    """One move of a defect's status. The creation of a defect is stored as a move from '' to its first state."""

    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=DefectStatus.choices, blank=True, default="")
    to_status = models.CharField(max_length=12, choices=DefectStatus.choices)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    by = acting_user()
    comment = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_status__in=DefectStatus.values), name="transition_to_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_status=F("to_status")), name="transition_changes_status"
            ),
        ]
        indexes = [
            models.Index(fields=["defect", "at", "id"]),
            models.Index(fields=["to_status", "at"]),
            models.Index(fields=["from_status", "to_status", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.defect.key}: {self.from_status or '∅'} → {self.to_status} at {self.at:%Y-%m-%d %H:%M}"


class DefectComment(models.Model):
    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="comments")
    author = acting_user(blank=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["defect", "created_at"])]

    def __str__(self) -> str:
        return f"Comment on {self.defect.key} by {self.author}"


class DefectFieldChange(models.Model):
    """Audit trail of edits to a defect's fields (severity, priority, assignee, ...)."""

    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="field_changes")
    field = models.CharField(max_length=50)
    old_value = models.TextField(blank=True, default="")
    new_value = models.TextField(blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    by = acting_user(blank=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["defect", "at"])]

    def __str__(self) -> str:
        return f"{self.defect.key}.{self.field}: {self.old_value!r} → {self.new_value!r}"
