"""Projects, who works on them in which role, and their releases."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from qualitygov.enums import text_choices
from qualitygov.modelfields import CreatedAt, choices_valid, optional_fk

Role = text_choices("Role", "viewer", "qa", "manager", "release_manager", "admin", qa="QA")


project_key_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]{1,15}$", "A project key is 2-16 upper-case letters or digits, starting with a letter."
)


class Project(CreatedAt):
    key = models.CharField(max_length=16, unique=True, validators=[project_key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Per-project metric policy: risk-score thresholds/weights, stability weights, target MTTR, window.
    # Empty means the contract's defaults (see metrics/policy.py).
    metric_policy = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} · {self.name}"


class Membership(CreatedAt):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_one_role_per_project"),
            *choices_valid("membership", role=Role),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project.key} as {self.role}"


ReleaseStatus = text_choices(
    "ReleaseStatus", "planning", "testing", "ready", "released", "handed_over", "cancelled"
)


ACTIVE_RELEASE_STATUSES = (ReleaseStatus.PLANNING, ReleaseStatus.TESTING, ReleaseStatus.READY)

# The lifecycle (metrics.md, "Gates guard release transitions"): each status's next step forward. A gate guards
# one move; a release's *current gates* are those guarding the move to NEXT_STATUS[status].
NEXT_STATUS: dict[str, str] = {
    ReleaseStatus.PLANNING: ReleaseStatus.TESTING,
    ReleaseStatus.TESTING: ReleaseStatus.READY,
    ReleaseStatus.READY: ReleaseStatus.RELEASED,
    ReleaseStatus.RELEASED: ReleaseStatus.HANDED_OVER,
}

# Every allowed move: one step forward, cancelling before release, and one step back while not yet released
# (a candidate pulled back into test must pass the guarded move forward again). Anything else is refused.
RELEASE_MOVES: dict[str, tuple[str, ...]] = {
    ReleaseStatus.PLANNING: (ReleaseStatus.TESTING, ReleaseStatus.CANCELLED),
    ReleaseStatus.TESTING: (ReleaseStatus.READY, ReleaseStatus.PLANNING, ReleaseStatus.CANCELLED),
    ReleaseStatus.READY: (ReleaseStatus.RELEASED, ReleaseStatus.TESTING, ReleaseStatus.CANCELLED),
    ReleaseStatus.RELEASED: (ReleaseStatus.HANDED_OVER,),
    ReleaseStatus.HANDED_OVER: (),
    ReleaseStatus.CANCELLED: (),
}

# Statuses that reached production: they carry an actual release date.
DEPLOYED_RELEASE_STATUSES = (ReleaseStatus.RELEASED, ReleaseStatus.HANDED_OVER)


def move_allowed(from_status: str, to_status: str) -> bool:
    """Whether the lifecycle allows moving a release from one status to another (RELEASE_MOVES)."""
    return to_status in RELEASE_MOVES.get(from_status, ())


ChangeClass = text_choices("ChangeClass", "major", "minor", "patch", "hotfix")


class Release(CreatedAt):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.PLANNING)
    change_class = models.CharField(max_length=8, choices=ChangeClass.choices, default=ChangeClass.MINOR)
    planned_release_date = models.DateField(null=True, blank=True)
    # When the release was deployed to production; change failure rate counts releases by this.
    actual_release_date = models.DateTimeField(null=True, blank=True)
    # A hotfix release points at the release whose failure it repairs.
    hotfix_for = optional_fk("self", related_name="hotfixes")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["project", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="release_version_unique_in_project"),
            *choices_valid("release", status=ReleaseStatus, change_class=ChangeClass),
            models.CheckConstraint(
                condition=~Q(status__in=DEPLOYED_RELEASE_STATUSES) | Q(actual_release_date__isnull=False),
                name="released_release_has_date",
            ),
        ]
        indexes = [models.Index(fields=["project", "status"]), models.Index(fields=["actual_release_date"])]

    def __str__(self) -> str:
        return f"{self.project.key} {self.version}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RELEASE_STATUSES

    @property
    def next_status(self) -> str | None:
        """The status the release moves to next (its current gates guard that move); None at the end."""
        return NEXT_STATUS.get(self.status)
