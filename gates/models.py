"""Quality gates, their evaluations, checklist sign-offs and go/no-go decisions.

Evaluations and decisions are append-only records: the models refuse updates and deletes.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from qualitygov.enums import text_choices
from qualitygov.modelfields import Timestamped, acting_user, choices_valid, optional_fk
from releases.models import RELEASE_MOVES, ReleaseStatus, Role

# Largest value of the `order` columns (PositiveSmallIntegerField): forms and the API refuse more.
ORDER_MAX = 32767


Operator = text_choices("Operator", "lt", "lte", "gt", "gte", "eq", lt="<", lte="≤", gt=">", gte="≥", eq="=")
MissingData = text_choices("MissingData", "fail", "warn", "ignore")
Outcome = text_choices("Outcome", "passed", "warned", "failed", "no_data")
EvaluationStatus = text_choices("EvaluationStatus", "passed", "warned", "failed")


def guarded_move_q() -> Q:
    """The allowed (from_status, to_status) pairs as a Q, for the gate's check constraint."""
    parts = [
        Q(from_status=source, to_status__in=list(targets))
        for source, targets in RELEASE_MOVES.items()
        if targets
    ]
    allowed = parts[0]
    for part in parts[1:]:
        allowed |= part
    return allowed


GUARDABLE_MOVES: list[tuple[str, str]] = [
    (source, target) for source, targets in RELEASE_MOVES.items() for target in targets
]


class QualityGate(Timestamped):
    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="gates")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Evaluate automatically (beat) for every release whose next move the gate guards.
    evaluate_on_schedule = models.BooleanField(default=True)
    # The release move this gate guards (metrics.md, "Gates guard release transitions"): a release in
    # `from_status` moves to `to_status` only with a go decision in force at every gate guarding that move.
    from_status = models.CharField(max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.READY)
    to_status = models.CharField(max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.RELEASED)
    # Bumped on every change of the gate or its conditions/items; evaluations record it.
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["project", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="gate_name_unique_in_project"),
            # Only a move the lifecycle allows can be guarded (releases.models.RELEASE_MOVES).
            models.CheckConstraint(condition=guarded_move_q(), name="gate_guards_an_allowed_move"),
        ]
        indexes = [models.Index(fields=["project", "from_status", "to_status"], name="gate_move_idx")]

    def __str__(self) -> str:
        return f"{self.project.key}: {self.name}"

    @property
    def move_label(self) -> str:
        return f"{ReleaseStatus(self.from_status).label} → {ReleaseStatus(self.to_status).label}"


class GateCondition(models.Model):
    gate = models.ForeignKey(QualityGate, on_delete=models.CASCADE, related_name="conditions")
    metric = models.CharField(max_length=64, help_text="A metric key from the registry.")
    operator = models.CharField(max_length=3, choices=Operator.choices)
    error_threshold = models.FloatField()
    warn_threshold = models.FloatField(null=True, blank=True)
    key = models.BooleanField(default=False, help_text="A failed key condition cannot be waived.")
    missing_data = models.CharField(max_length=6, choices=MissingData.choices, default=MissingData.FAIL)
    order = models.PositiveSmallIntegerField(default=0)
    # Thresholds per release change class (metrics.md, "Risk by change class"):
    # {"major": {"error_threshold": 97, "warn_threshold": 99}, ...}; a class left out uses the two above.
    class_thresholds = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["gate", "order", "id"]
        constraints = choices_valid("condition", operator=Operator, missing_data=MissingData)

    def __str__(self) -> str:
        return f"{self.metric} {self.get_operator_display()} {self.error_threshold}"

    def thresholds_for(self, change_class: str) -> tuple[float, float | None, str]:
        """(error, warn, where from) for a release of this change class: its own pair, else the default."""
        own = (self.class_thresholds or {}).get(change_class)
        if own:
            return own["error_threshold"], own.get("warn_threshold"), change_class
        return self.error_threshold, self.warn_threshold, "default"


class ChecklistItem(models.Model):
    gate = models.ForeignKey(QualityGate, on_delete=models.CASCADE, related_name="checklist_items")
    text = models.CharField(max_length=300)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RELEASE_MANAGER)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["gate", "order", "id"]
        constraints = choices_valid("checklist", role=Role)

    def __str__(self) -> str:
        return self.text


class ChecklistSignoff(models.Model):
    """A sign-off of one checklist item for one release. Revoking keeps the row, with who, when and why."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="signoffs")
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="checklist_signoffs"
    )
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True, default="")
    signed_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = optional_fk(settings.AUTH_USER_MODEL, related_name="+", on_delete=models.PROTECT)
    revoke_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "release"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_signoff_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} signed for {self.release} by {self.signed_by}"


class AppendOnlyModel(models.Model):
    """A record that is written once: updates and deletes are refused."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} records are append-only and cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} records are append-only and cannot be deleted.")


class GateEvaluation(AppendOnlyModel):
    gate = models.ForeignKey(QualityGate, on_delete=models.PROTECT, related_name="evaluations")
    release = models.ForeignKey("releases.Release", on_delete=models.PROTECT, related_name="gate_evaluations")
    status = models.CharField(max_length=6, choices=EvaluationStatus.choices)
    # The gate as it was: name, revision, conditions and checklist items.
    definition = models.JSONField()
    # Per condition: condition id, metric, operator, value, n, thresholds, outcome, key, missing_data.
    conditions = models.JSONField(default=list)
    # Per checklist item: item id, text, role, signed (by, at, comment), outcome.
    checklist = models.JSONField(default=list)
    requested_by = optional_fk(settings.AUTH_USER_MODEL, related_name="+", on_delete=models.PROTECT)
    requested_via = models.CharField(
        max_length=20, default="browser", help_text="browser, api, schedule, cli, live, ..."
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The release's evidence watermark when the evaluation read its evidence (Release.evidence_changed_at);
    # the evaluation is stale while the release's watermark is newer.
    evidence_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = choices_valid("evaluation", status=EvaluationStatus)
        indexes = [models.Index(fields=["gate", "release", "-created_at"], name="evaluation_latest_idx")]

    def __str__(self) -> str:
        return f"{self.gate.name} for {self.release}: {self.status}"


DecisionKind = text_choices("DecisionKind", "go", "no_go", "go_with_waivers", no_go="No-go")


class Decision(AppendOnlyModel):
    release = models.ForeignKey("releases.Release", on_delete=models.PROTECT, related_name="decisions")
    gate = models.ForeignKey(QualityGate, on_delete=models.PROTECT, related_name="decisions")
    evaluation = models.ForeignKey(GateEvaluation, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=16, choices=DecisionKind.choices)
    rationale = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    # The decision this one replaces; each decision is superseded at most once.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    # The economics of go/no-go as the decider saw them (metrics.economics): p, p', costs, d* and the
    # calibration they rest on, or why they were not shown. Empty for decisions recorded before issue 18.
    economics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=DecisionKind.values), name="decision_kind_valid"),
            models.CheckConstraint(condition=~Q(rationale=""), name="decision_needs_rationale"),
        ]
        indexes = [models.Index(fields=["release", "gate", "-decided_at"], name="decision_latest_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} for {self.release} at {self.gate.name}"


class Waiver(AppendOnlyModel):
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="waivers")
    condition = optional_fk(GateCondition, related_name="waivers")
    checklist_item = optional_fk(ChecklistItem, related_name="waivers")
    # What was waived, copied from the evaluation so the record survives gate edits.
    subject = models.CharField(max_length=300)
    justification = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waivers")
    expires = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["expires", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(justification=""), name="waiver_needs_justification"),
        ]
        indexes = [models.Index(fields=["expires"])]

    def __str__(self) -> str:
        return f"Waiver of {self.subject} until {self.expires}"


class SuspensionReason(models.TextChoices):
    KEY_CONDITION_FAILED = "key_condition_failed", "key condition failed"
    UNCOVERED_FAILURE = "uncovered_failure", "failure not covered by a waiver"
    WAIVER_EXPIRED = "waiver_expired", "waiver expired"


class DecisionSuspension(AppendOnlyModel):
    """A go decision that the evidence no longer supports (metrics.md, "Decisions stay true to the evidence").

    A suspended decision permits nothing; only a new decision lifts it. Written once, never edited.
    """

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="suspension")
    reason = models.CharField(max_length=24, choices=SuspensionReason.choices)
    detail = models.CharField(max_length=500)
    # The evaluation that contradicted the decision, or the waiver that expired.
    evaluation = optional_fk(GateEvaluation, related_name="suspensions", on_delete=models.PROTECT)
    waiver = optional_fk(Waiver, related_name="+", on_delete=models.PROTECT)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = choices_valid("suspension", reason=SuspensionReason)

    def __str__(self) -> str:
        return f"Decision {self.decision_id} suspended: {self.get_reason_display()}"


class AuditEvent(AppendOnlyModel):
    """Who did what to the governance records of a project (gate edits, sign-offs, evaluations, decisions)."""

    project = models.ForeignKey("releases.Project", on_delete=models.CASCADE, related_name="audit_events")
    release = optional_fk("releases.Release", related_name="audit_events")
    action = models.CharField(max_length=50)
    summary = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    actor = acting_user()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["project", "-at"]), models.Index(fields=["project", "action"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}: {self.summary}"
